"""The SQL backend's input errors: each input's error in engine/patient.py's words (the same
text, from the parser itself), symptoms, and the whole row's checks (nothing read, the
differential that does not add up)."""

from __future__ import annotations

import re
from fractions import Fraction

from sqlglot import exp

from neutropenia_kb.core.units import (
    MAX_DIGITS,
    MAX_EXPONENT,
    MAX_TEXT,
)
from neutropenia_kb.engine.compile import CompileError
from neutropenia_kb.engine.program import (
    InputDef,
)
from neutropenia_kb.engine.sql_cells import CellReading
from neutropenia_kb.engine.sql_expr import (  # noqa: F401 (DIALECTS, decimal, _ws, _dig: read by callers)
    _FALSE,
    _NOUN,
    _TRUE,
    AMBIGUOUS,
    DIALECTS,
    MAX_ERROR_CHARS,
    NUMBER,
    RESULT_COLUMNS,
    SCALE,
    Sql,
    _dig,
    _exact_decimal,
    _fill_zero,
    _foreign,
    _int,
    _join,
    _number_text,
    _pair,
    _select,
    _ws,
    and_,
    c,
    case,
    cat,
    decimal,
    fn,
    is_null,
    is_true,
    n,
    not_false,
    not_null,
    number_re,
    or_,
    par,
    s,
)


class InputReading(CellReading):
    """Errors and checks, on top of the cells' parts and values."""

    def error_kind(self, inp: InputDef) -> exp.Expr:
        """Which of patient.py's checks fails first (1-8), NULL when none: the message is built
        only for such rows (error_text), so good rows never pay for it."""
        sql, x = self.sql, inp.id
        def col(part: str) -> exp.Expr:
            return c(f"{x}__{part}")

        t = col("t")
        whens = [
            exp.GT(this=exp.Length(this=t), expression=n(MAX_TEXT)),
            or_(exp.Not(this=is_true(col("ok"))), sql.like(col("un"), "\n")),
            col("bc"), col("nn"),
            col("big"), col("small"), and_(exp.Not(this=col("zero")), col("long")),
            exp.EQ(this=col("u"), expression=s("!")), sql.like(col("u"), r"^\?"),
            self.ambiguous(inp),
        ]
        out_of_range = []
        for edge, op in ((inp.min, "<"), (inp.max, ">")):
            if edge is not None:
                out_of_range.append(is_true(self.unit_compare(inp, op, edge, final=False)))
        whens.append(or_(*out_of_range) if out_of_range else exp.false())
        return case(*[(and_(not_null(t), w), n(i)) for i, w in enumerate(whens, start=1)])

    def ambiguous(self, inp: InputDef) -> exp.Expr:
        """patient._Spec._ambiguous: a number written without a unit, above 0 and below
        ``ambiguous_below``, that is within min..max in another accepted unit too."""
        below, default = inp.ambiguous_below, inp.default_unit
        if below is None or default is None or inp.type != "quantity":
            return exp.false()
        v, d = c(f"{inp.id}__v"), c(f"{inp.id}__d")
        others = []
        for unit in inp.units:
            if unit.name == default.name:
                continue
            tests = [_pair(">=", v, d, decimal(unit.from_base(inp.min)))] if inp.min is not None else []
            if inp.max is not None:
                tests.append(_pair("<=", v, d, decimal(unit.from_base(inp.max))))
            others.append(and_(*tests) if tests else exp.true())
        if not others:
            return exp.false()
        return and_(exp.EQ(this=c(f"{inp.id}__un"), expression=s("")),
                    _pair(">", v, d, decimal(Fraction(0))), _pair("<", v, d, decimal(below)),
                    par(or_(*others)))

    def shown(self, inp: InputDef) -> tuple[exp.Expr, exp.Expr, exp.Expr]:
        """The cell, the number and the unit as error_text quotes them (show_value)."""
        def col(part: str) -> exp.Expr:
            return c(f"{inp.id}__{part}")

        return (self.sql.show(col("t")), self.sql.show(cat(col("sg"), col("mt"), col("ex"))),
                self.sql.show(col("un")))

    def error_text(self, inp: InputDef,
                   shown: tuple[exp.Expr, exp.Expr, exp.Expr] | None = None) -> exp.Expr:
        """``shown``: columns holding shown(inp), worked out once in a layer before; else
        each message works them out (each a few regexes) where it quotes them."""
        x = inp.id
        def col(part: str) -> exp.Expr:
            return c(f"{x}__{part}")

        kind = col("ek")
        allowed = self.w.allowed[x]
        rng = f"written numbers have at most {MAX_DIGITS} digits and lie between " \
              f"1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT + 1} (or are 0)"
        give = f"; give {allowed}"
        shown_t, shown_num, shown_unit = shown or self.shown(inp)

        def kind_is(i: int) -> exp.Expr:
            return exp.EQ(this=kind, expression=n(i))

        ambiguous = cat(f"{x}: '", shown_t, "' is ambiguous: a number without a unit below ",
                        _number_text(inp.ambiguous_below), " could be in ",
                        " or ".join(u.name for u in inp.units), f"? Write the unit{give}")
        detail = case(
            (exp.EQ(this=kind, expression=n(1)),
             cat("'", shown_t, f"' is too long for a number with a unit; {rng}{give}")),
            (kind_is(2), cat("'", shown_t, f"' is not a number with an optional unit{give}")),
            (kind_is(3), cat("'", shown_num, "': the comma cannot be read safely; write the "
                             "number with a decimal point and no thousands separator, e.g. "
                             f"1500 or 0.4{give}")),
            (kind_is(4), cat("'", shown_num, f"' is not a number{give}")),
            (kind_is(5), cat("'", shown_num, f"' is far too large; {rng}{give}")),
            (kind_is(6), cat("'", shown_num, f"' is far too small; {rng}{give}")),
            (kind_is(7), cat("'", shown_num, f"' has too many digits; {rng}{give}")),
            (kind_is(8), cat("unknown unit '", shown_unit, f"'{give}")),
            (kind_is(9), cat("'", shown_unit, "' is a unit for ",
                             exp.Substring(this=col("u"), start=n(2)), f" values{give}")),
            default=s(allowed))
        # The ambiguity message names each reading with its band (patient._Spec._reading):
        # the SQL engines hand such rows to the Python engine (exact_flag); a view says less.
        return case((kind_is(AMBIGUOUS), ambiguous),
                    (not_null(kind), cat(f"{x}: '", shown_t, "' is not allowed: ", detail)))

    def bool_error(self, inp: InputDef) -> exp.Expr:
        t = c(f"{inp.id}__t")
        word = c(f"{inp.id}__w")
        bad = exp.Not(this=exp.In(this=word, expressions=[s(w) for w in _TRUE + _FALSE]))
        return case((and_(not_null(t), bad), cat(f"{inp.id}: '", self.sql.show(t),
                                                 "' is not allowed: true or false (yes/no)")))

    def symptom_patterns(self) -> tuple[str, str, str]:
        ids = sorted(self.p.symptoms, key=lambda i: (-len(i), i))
        for sid in ids:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", sid):
                raise CompileError(f"'{sid}' is not a valid id")
        alt = "|".join(ids)
        item = f"[{_ws()}]*(?:{alt})?[{_ws()}]*"
        return f"^{item}(?:[,;|]{item})*$", f"^(?:{item}[,;|])*([^,;|]*)", alt

    def symptom_error(self, inp: InputDef) -> exp.Expr:
        sql = self.sql
        t = c(f"{inp.id}__t")
        valid, first_bad, _ = self.symptom_patterns()
        item = sql.strip(sql.extract(t, first_bad, 1))
        hint: exp.Expr = s("")
        if self.hint is not None:
            hint = case((exp.LTE(this=exp.Length(this=item), expression=n(MAX_TEXT)),
                         fn(self.hint, item)), default=s(""))
        text = cat(f"{inp.id}: '", sql.show(item), "' is not allowed: it is not a symptom id",
                   exp.Coalesce(this=hint, expressions=[s("")]),
                   case((exp.EQ(this=exp.Coalesce(this=hint, expressions=[s("")]), expression=s("")),
                         s(".")), default=s("")),
                   " The symptoms are " + ", ".join(self.w.symptoms))
        return case((and_(not_null(t), exp.Not(this=sql.like(t, valid))), text))

    def read(self) -> list[str]:
        """The inputs some condition reads (evaluate.Evaluator._read), in declared order."""
        read = {name for _o, _k, cond in self.p.conditions() for name in cond.deps}
        read.add(self.p.severity.input)
        return [i.id for i in self.p.inputs if i.id in read]

    def nothing_read(self) -> exp.Expr:
        """True when the row gives none of the inputs the rules read, even by deriving one."""
        tests = []
        for name in self.read():
            missing: exp.Expr = is_null(c(f"{name}__t"))
            if name in self.derived:
                needs = [not_null(c(f"{g}__t")) for g in self.derived[name].when_given]
                missing = and_(missing, exp.Not(this=par(and_(*needs))))
            tests.append(missing)
        return and_(*tests)

    def empty_error(self) -> exp.Expr:
        """Evaluator.evaluate's refusal of a row that gives nothing the rules read. Python
        quotes the whole row as a dict; the SQL engines hand such a row to it (exact_flag)."""
        filled = {d.input: d.when_given for d in self.p.derived}
        words = [name + (f" (or {' with '.join(filled[name])})" if name in filled else "")
                 for name in self.read()]
        return case((self.nothing_read(), s("patient: the row is not allowed: at least one "
                                            "answer the rules read: " + ", ".join(words))))

    def sum_error(self) -> list[exp.Expr]:
        out: list[exp.Expr] = []
        for d in self.p.derived:
            parts = d.add_up_to_100
            if not parts:
                continue
            given = or_(*[self.given(p) for p in parts])
            total: exp.Expr | None = None
            dirs: exp.Expr | None = None
            for p in parts:
                v = case((self.given(p), c(f"{p}__v")), default=decimal(Fraction(0)))
                dd = case((self.given(p), c(f"{p}__d")), default=n(0))
                total = v if total is None else exp.Add(this=total, expression=v)
                dirs = dd if dirs is None else exp.Add(this=dirs, expression=dd)
            assert total is not None and dirs is not None
            over = or_(exp.GT(this=total, expression=decimal(Fraction(100))),
                       and_(exp.EQ(this=total, expression=decimal(Fraction(100))),
                            exp.GT(this=dirs, expression=n(0))))
            shown = [exp.Coalesce(this=c(f"{p}__t") if p in self.present else exp.Null(),
                                  expressions=[s("None" if p not in self.present else "")])
                     for p in parts]
            joined: list[exp.Expr | str] = []
            for i, part in enumerate(shown):
                joined += ([" + "] if i else []) + [part]
            text = cat(" + ".join(parts) + ": '", self.sql.show(cat(*joined)),
                       "' is not allowed: percentages that add up to 100 or less")
            out.append(case((and_(given, over), text)))
        return out

    # -- values for the rules -------------------------------------------------------------------
