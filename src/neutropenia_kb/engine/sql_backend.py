"""The SQL backend: the compiled form (program.py) → one SELECT, built as a sqlglot expression tree.

The query reads raw patient cells as text (CSV cells, Parquet columns cast to text), reads and
checks them as engine/patient.py does (same error text), and decides as DESIGN.md says. Numbers
are exact: each value is read from its digits into DECIMAL(34, 12) cut toward zero plus the sign
of what was cut (``dir``), and compared with each threshold in the value's own unit, so 37.99…9 °C
(any number of 9s) is no fever and no data column is ever divided. Three-valued logic uses SQL's
own AND/OR/NOT, which are Kleene's tables; nothing tri-valued reaches CASE or WHERE without an
explicit COALESCE, and the urgency is decided from explicit IS TRUE / IS NULL tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Mapping

from sqlglot import exp

from neutropenia_kb.core.units import (
    MAX_DIGITS,
    MAX_EXPONENT,
    MAX_TEXT,
    UNIT_FOLDS,
    UNITS,
)
from neutropenia_kb.engine import sql_settle
from neutropenia_kb.engine.compile import CompileError
from neutropenia_kb.engine.patient import NO_SYMPTOMS
from neutropenia_kb.engine.program import (
    And,
    AnySymptom,
    Arith,
    Compare,
    Cond,
    Const,
    FactRef,
    InputDef,
    InputRef,
    InSet,
    Known,
    Not,
    Or,
    Program,
    SeverityRef,
    SymptomAny,
    Value,
)
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

if TYPE_CHECKING:
    from neutropenia_kb.engine.patient import PatientParser

# ---- what patient.py says ----------------------------------------------------------------------


@dataclass(frozen=True)
class Wording:
    """The words of patient.py's errors that depend on the knowledge base: per input, what is
    allowed; and the symptom ids as its message lists them. Taken from the parser itself so the
    text cannot drift."""

    allowed: Mapping[str, str]
    symptoms: tuple[str, ...]

    @classmethod
    def of(cls, parser: "PatientParser") -> "Wording":
        return cls({k: spec.allowed() for k, spec in parser.specs.items()
                    if spec.type != "symptoms"}, tuple(sorted(parser.symptoms)))


# ---- the query -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where the rows come from: a relation with one text column per input present (CSV
    semantics: an empty cell is a missing value, an empty symptoms cell is "no symptoms") and
    ``order`` naming a column that keeps the rows' order (the output's first column)."""

    table: exp.Expr
    columns: tuple[str, ...]  # input columns present, in the file's order
    order: str = "line"
    passthrough: tuple[str, ...] = ()  # further columns copied to the output (e.g. id)
    # CSV: an empty cell reads as NULL and means "" (no symptom ticked); in a table NULL is
    # "not given" and only '' is an empty list.
    csv_cells: bool = True
    # ORDER BY the order column; DuckDB keeps the rows' order without it (and streams).
    ordered: bool = True


def compile_sql(program: Program, wording: Wording, source: Source, dialect: str = "duckdb",
                hint: str | None = None, settle: str | None = None) -> exp.Select:
    """The SELECT giving, for every row of ``source`` in order: its order column, its input
    cells as given, then RESULT_COLUMNS as batch.py writes them (text; NULL for an empty cell).
    ``hint`` names a SQL function (text → text) giving "; did you mean …?" for a symptom id;
    ``settle`` one giving settle_with from a region key (engine/sql_settle.py)."""
    return _Query(program, wording, source, Sql(dialect), hint, settle).select()


def view_sql(program: Program, wording: Wording, dialect: str, table: str = "patients") -> str:
    """A CREATE VIEW a data team can install over a table with one text column per input (and an
    ``id``): the knowledge base's version and decisions fingerprint in a comment and a column."""
    columns = tuple(i.id for i in program.inputs)
    # Spark refuses ROW_NUMBER() without an order: the rows' own order, by id
    order = exp.Order(expressions=[exp.Ordered(this=fn("MONOTONICALLY_INCREASING_ID"))]) \
        if dialect == "spark" else None
    src = Source(_select("*", exp.Window(this=exp.RowNumber(), order=order).as_("line"))
                 .from_(exp.to_table(table)).subquery("t"), columns, csv_cells=False)
    select = compile_sql(program, wording, src, dialect)
    select = select.select(s(program.version).as_("kb_version"),
                           s(program.fingerprint).as_("kb_fingerprint"), copy=False)
    name = exp.to_table(f"{table}_{program.kb_id}_decisions".replace("-", "_"))
    view = exp.Create(this=name, kind="VIEW", expression=select, replace=True)
    head = (f"-- {program.kb_id} {program.version}, decisions fingerprint {program.fingerprint}\n"
            f"-- Generated by `nkb sql --dialect {dialect}`; reads {table}("
            + ", ".join(columns) + ") as text.\n")
    return head + view.sql(dialect=dialect, pretty=True, copy=False) + ";\n"


class _Query:
    def __init__(self, program: Program, wording: Wording, source: Source, sql: Sql,
                 hint: str | None, settle: str | None = None) -> None:
        self.settle_fn = settle
        self.ctes: list[tuple[str, exp.Select]] = []  # each layer reads the one before it
        self.settle: list[exp.Expr] = []  # settle_with candidates, set by finish()
        self.p = program
        self.w = wording
        self.src = source
        self.sql = sql
        self.hint = hint
        self.present = set(source.columns)
        self.inputs = {i.id: i for i in program.inputs}
        self.derived = {d.input: d for d in program.derived}
        self.specs = sql_settle.read_specs(program)
        self.numeric = {i.id for i in program.inputs if i.base_unit is not None or i.type == "number"}

    def layer(self, select: exp.Select, name: str) -> exp.Table:
        """A named step (a CTE): flat, so neither a database nor sqlglot's recursive parser
        meets twenty nested subqueries."""
        name = f"nkb_{name}"  # apart from the names of the user's tables
        self.ctes.append((name, select))
        return exp.to_table(name)

    # -- layer 1: cells → parts ----------------------------------------------------------------

    def text(self, name: str) -> exp.Expr:
        """The cell, NULL when not given: missing, empty or only whitespace (patient.py skips
        a cell whose strip() is empty, whatever the input's type). The whitespace regex runs
        only on a cell that does not start with a printable ASCII character."""
        if name not in self.present:
            return exp.Cast(this=exp.Null(), to=exp.DataType.build("VARCHAR"))
        cell = exp.Cast(this=c(name), to=exp.DataType.build("VARCHAR"))
        printable = exp.Between(this=fn("ASCII", cell), low=n(33), high=n(126))
        given = case((exp.EQ(this=cell, expression=s("")), exp.Null()), (printable, cell),
                     (self.sql.like(cell, f"^[{_ws()}]*$"), exp.Null()), default=cell)
        if self.inputs[name].type != "symptoms":
            return given
        # patient.NO_SYMPTOMS, in any case and spacing: the empty list
        word = exp.Lower(this=c(name))
        none = and_(exp.GT(this=exp.StrPosition(this=word, substr=s(NO_SYMPTOMS)),
                           expression=n(0)),
                    exp.EQ(this=exp.Lower(this=self.sql.strip(cell)), expression=s(NO_SYMPTOMS)))
        return case((is_true(none), s("")), default=given)

    def parts(self) -> tuple[list[exp.Expr], list[exp.Expr]]:
        """(cells, parts): each input's cell (``__t``) and, for numbers, the regex's groups —
        in DuckDB from one regex call per cell (a struct of the groups), elsewhere one call
        per group."""
        sql = self.sql
        cells: list[exp.Expr] = []
        parts: list[exp.Expr] = []
        names = ("sg", "mt", "ex", "rs")
        for inp in self.p.inputs:
            x = inp.id
            cells.append(self.text(x).as_(f"{x}__t"))
            if inp.base_unit is not None or inp.type == "number":
                t = c(f"{x}__t")
                if sql.dialect == "duckdb":
                    cells.append(exp.RegexpExtract(
                        this=t, expression=s(number_re()),
                        group=exp.Array(expressions=[s(p) for p in names])).as_(f"{x}__m"))
                    for part in names:
                        parts.append(exp.Dot(this=c(f"{x}__m"),
                                             expression=exp.to_identifier(part)).as_(f"{x}__{part}"))
                else:
                    for i, part in enumerate(names, start=1):
                        parts.append(sql.extract(t, number_re(), i).as_(f"{x}__{part}"))
            elif inp.type == "boolean":  # the word, stripped only when it is not a word as is
                t = c(f"{x}__t")
                lower = exp.Lower(this=t)
                words = [s(w) for w in _TRUE + _FALSE]
                parts.append(case((exp.In(this=lower, expressions=words), lower),
                                  default=exp.Lower(this=sql.strip(t))).as_(f"{x}__w"))
            elif inp.type == "symptoms":  # ',fever,cough,' for the rules (no whitespace left)
                bare = sql.translate(sql.remove_all(c(f"{x}__t"), f"[{_ws()}]+"), ";|", ",,")
                parts.append(cat(",", bare, ",").as_(f"{x}__sy"))
        return cells, parts

    # -- layer 2: parts → checks, exact value --------------------------------------------------

    def number(self, inp: InputDef) -> list[exp.Expr]:
        """Digits and exponent from the parts by string functions (no regex: a million rows
        pay for every regex call)."""
        sql, x = self.sql, inp.id
        def col(part: str) -> exp.Expr:
            return c(f"{x}__{part}")


        def ascii_(e: exp.Expr) -> exp.Expr:  # other scripts' digits, as 0-9
            plain = exp.EQ(this=sql.octets(e), expression=exp.Length(this=e))
            return case((plain, e), default=sql.translate(e, *_foreign()))

        # units.decimal_text: thousands separators dropped, a decimal comma made a point, any
        # other comma refused (NULL here; error_kind names it). The regexes run only on the
        # rare cell with a comma.
        mt, dig = col("mt"), _dig()
        comma = exp.GT(this=exp.StrPosition(this=mt, substr=s(",")), expression=n(0))
        thousands = sql.like(mt, f"^[1-9][{dig}]{{0,2}}(,[{dig}]{{3}})+(\\.[{dig}]*)?$")
        decimal_comma = sql.like(mt, f"^[{dig}]+,[{dig}]+$")
        mant = case((exp.Not(this=comma), mt),
                    (thousands, exp.Replace(this=mt, expression=s(","), replacement=s(""))),
                    (decimal_comma, exp.Replace(this=mt, expression=s(","), replacement=s("."))))
        points = exp.Sub(this=exp.Length(this=mant), expression=exp.Length(
            this=exp.Replace(this=mant, expression=s("."), replacement=s(""))))
        digits = ascii_(mant)
        whole = fn("SPLIT_PART", digits, s("."), n(1))
        frac = fn("SPLIT_PART", digits, s("."), n(2))
        coef = exp.Trim(this=exp.DPipe(this=whole, expression=frac, safe=True), expression=s("0"),
                        position="LEADING")
        sign_digits = exp.Substring(this=col("ex"), start=n(2))
        edigits = exp.Trim(this=ascii_(sign_digits), expression=s("+-"), position="LEADING")
        edigits = exp.Trim(this=edigits, expression=s("0"), position="LEADING")
        eneg = exp.EQ(this=exp.Substring(this=col("ex"), start=n(2), length=n(1)), expression=s("-"))
        unit = case((exp.EQ(this=col("rs"), expression=s("")), s("")),
                    default=sql.sub(col("rs"), f"[{_ws()}]+$", ""))
        ok = exp.NEQ(this=col("mt"), expression=s(""))  # a match always has a digit there
        bad_comma = and_(ok, is_null(mant))
        not_number = and_(ok, not_null(mant), exp.GT(this=points, expression=n(1)))
        return [ok.as_(f"{x}__ok"), bad_comma.as_(f"{x}__bc"), not_number.as_(f"{x}__nn"),
                mant.as_(f"{x}__mant"), frac.as_(f"{x}__fr"),
                coef.as_(f"{x}__co"),
                edigits.as_(f"{x}__ed"), eneg.as_(f"{x}__en"), unit.as_(f"{x}__un")]

    def checks(self, inp: InputDef) -> list[exp.Expr]:
        """Exponent, digits, unit and the value cut to SCALE decimals."""
        x = inp.id
        def col(part: str) -> exp.Expr:
            return c(f"{x}__{part}")

        nd = exp.Length(this=col("co"))
        huge = exp.GT(this=exp.Length(this=col("ed")), expression=n(9))
        e = case((huge, n(0)), (exp.EQ(this=col("ed"), expression=s("")), n(0)),
                 default=exp.Cast(this=col("ed"), to=exp.DataType.build("BIGINT")))
        e = case((col("en"), exp.Neg(this=e)), default=e)
        xexp = exp.Sub(this=e, expression=exp.Length(this=col("fr")))
        adjusted = par(exp.Add(this=par(exp.Add(this=xexp, expression=nd)), expression=n(-1)))
        zero = exp.EQ(this=nd, expression=n(0))
        too_large = and_(exp.Not(this=zero), or_(and_(huge, exp.Not(this=col("en"))),
                                                 exp.GT(this=adjusted, expression=n(MAX_EXPONENT))))
        too_small = and_(exp.Not(this=zero), or_(and_(huge, col("en")),
                                                 exp.LT(this=adjusted, expression=n(-MAX_EXPONENT))))
        return [zero.as_(f"{x}__zero"), too_large.as_(f"{x}__big"), too_small.as_(f"{x}__small"),
                exp.GT(this=nd, expression=n(MAX_DIGITS)).as_(f"{x}__long"),
                xexp.as_(f"{x}__xe"), self.unit_of(inp).as_(f"{x}__u")]

    def unit_of(self, inp: InputDef) -> exp.Expr:
        """The unit's canonical name, '' when the input has none, or '?name'/'!' for a unit of
        another dimension / an unknown unit (patient._Spec._split)."""
        x = inp.id
        u = c(f"{x}__un")
        norm: exp.Expr = exp.Replace(this=u, expression=s(" "), replacement=s(""))
        for old, new in UNIT_FOLDS:
            norm = exp.Replace(this=norm, expression=s(old), replacement=s(new))
        accepted = {unit.name for unit in inp.units}
        default = inp.default_unit.name if inp.default_unit else ""
        whens: list[tuple[exp.Expr, exp.Expr]] = [
            (exp.EQ(this=u, expression=s("")), s(default))]
        if inp.type == "percent":
            whens.append((exp.EQ(this=u, expression=s("%")), s("")))
        by_name: dict[str, list[str]] = {}
        for spelling, unit in UNITS.items():
            mark = unit.name if unit.name in accepted else f"?{_NOUN.get(unit.dimension, 'another')}"
            by_name.setdefault(mark, []).append(spelling)
        # A unit written as its table spelling ('C', 'G/L') needs none of the nine folds.
        whens += [(exp.In(this=u, expressions=[s(sp) for sp in spellings]), s(mark))
                  for mark, spellings in by_name.items()]
        for mark, spellings in by_name.items():
            whens.append((exp.In(this=norm, expressions=[s(sp) for sp in spellings]), s(mark)))
        long = exp.GT(this=exp.Length(this=u), expression=n(MAX_TEXT))
        return case((long, s("!")), *whens, default=s("!"))

    def value(self, inp: InputDef) -> list[exp.Expr]:
        """The value cut toward zero to SCALE decimals (``v``) and the sign of the cut (``d``)."""
        x = inp.id
        def col(part: str) -> exp.Expr:
            return c(f"{x}__{part}")

        co, xe = col("co"), col("xe")
        nd = exp.Length(this=co)
        k = exp.Neg(this=xe)
        int_pos = fn("RPAD", co, _int(exp.Add(this=nd, expression=xe)), s("0"))
        head = case((exp.GT(this=nd, expression=k),
                     exp.Substring(this=co, start=n(1), length=exp.Sub(this=nd, expression=k))),
                    default=s("0"))
        tail = case((exp.GT(this=nd, expression=k),
                     exp.Substring(this=co, start=exp.Add(this=exp.Sub(this=nd, expression=k),
                                                          expression=n(1)))),
                    default=fn("LPAD", co, _int(k), s("0")))
        frac_all = case((exp.GTE(this=xe, expression=n(0)), s("")), default=tail)
        whole = case((exp.GTE(this=xe, expression=n(0)), int_pos), default=head)
        kept = fn("RPAD", exp.Substring(this=frac_all, start=n(1), length=n(SCALE)),
                  _int(n(SCALE)), s("0"))
        cut = exp.NEQ(this=exp.Trim(this=exp.Substring(this=frac_all, start=n(SCALE + 1)),
                                    expression=s("0"), position="LEADING"), expression=s(""))
        neg = exp.EQ(this=col("sg"), expression=s("-"))
        text = cat(case((neg, s("-")), default=s("")), whole, ".", kept)
        # Only a number that passed the format checks is built (an exponent of 10^9 would
        # otherwise pad a string of a billion zeros).
        unusable = or_(exp.Not(this=is_true(col("ok"))), col("bc"), col("nn"), col("zero"),
                       col("big"), col("small"), col("long"))
        v = case((unusable, decimal(Fraction(0))), default=exp.Cast(this=text, to=NUMBER))
        d = case((and_(exp.Not(this=col("zero")), is_true(cut)),
                  case((neg, n(-1)), default=n(1))), default=n(0))
        return [v.as_(f"{x}__v"), d.as_(f"{x}__d")]

    # -- errors --------------------------------------------------------------------------------

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

    def error_text(self, inp: InputDef) -> exp.Expr:
        sql, x = self.sql, inp.id
        def col(part: str) -> exp.Expr:
            return c(f"{x}__{part}")

        t, kind = col("t"), col("ek")
        allowed = self.w.allowed[x]
        rng = f"written numbers have at most {MAX_DIGITS} digits and lie between " \
              f"1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT + 1} (or are 0)"
        give = f"; give {allowed}"
        shown_t = sql.show(t)
        shown_num = sql.show(cat(col("sg"), col("mt"), col("ex")))
        shown_unit = sql.show(col("un"))

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

    def given(self, name: str) -> exp.Expr:
        """The input was given and read (an error row decides nothing)."""
        return not_null(c(f"{name}__t"))

    def unit_compare(self, inp: InputDef, op: str, base: Fraction,
                     final: bool = True) -> exp.Expr:
        """``value op base`` exactly, in the value's own unit; unknown when not given.
        ``final``: after the derived inputs are filled in (unit '=')."""
        x = inp.id
        v, d, u = c(f"{x}__v"), c(f"{x}__d"), c(f"{x}__uf" if final else f"{x}__u")
        whens = []
        units = [(unit.name, unit.from_base(base)) for unit in inp.units] or [("", base)]
        if inp.type == "percent":
            units.append(("", base))
        for name, const in units:
            whens.append((exp.EQ(this=u, expression=s(name)), _pair(op, v, d, decimal(const))))
        if x in self.derived and final:
            whens.insert(0, (exp.EQ(this=u, expression=s("=")),
                             _pair(op, c(f"{x}__dv"), c(f"{x}__dd"), decimal(base))))
        return case(*whens)

    def arith(self, node: Value) -> tuple[exp.Expr, exp.Expr]:
        """(exact DECIMAL in the base unit, whether it is exact) of a derived input's formula."""
        if isinstance(node, Const) and isinstance(node.value, Fraction):
            return decimal(node.value), exp.true()
        if isinstance(node, InputRef):
            inp = self.inputs[node.input]
            v = c(f"{inp.id}__v")
            exact = exp.EQ(this=c(f"{inp.id}__d"), expression=n(0))
            top = max(abs(Fraction(inp.max)), abs(Fraction(inp.min or 0))) \
                if inp.max is not None else None
            if top is None:
                raise CompileError(f"derived input reads '{inp.id}', which has no range")
            whens = []
            for unit in inp.units or ():
                scaled = exp.Mul(this=v, expression=decimal(unit.scale))
                whens.append((exp.EQ(this=c(f"{inp.id}__u"), expression=s(unit.name)),
                              exp.Add(this=scaled, expression=decimal(unit.offset))))
            base = case(*whens, default=v) if whens else v
            digits = len(str(int(top))) + 1
            typed = exp.Cast(this=base, to=exp.DataType.build(f"DECIMAL({digits + SCALE}, {SCALE})"))
            return par(typed), exact
        if isinstance(node, Arith):
            (left, le), (right, re_) = self.arith(node.left), self.arith(node.right)
            if node.op == "/":
                if not isinstance(node.right, Const) or not isinstance(node.right.value, Fraction) \
                        or node.right.value == 0:
                    raise CompileError("the SQL backend divides only by a nonzero number")
                return par(exp.Mul(this=left, expression=_exact_decimal(1 / node.right.value))), le
            op = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}[node.op]
            return par(op(this=left, expression=right)), and_(le, re_)
        raise CompileError(f"{type(node).__name__} in a formula")

    # -- conditions ----------------------------------------------------------------------------

    def cond(self, node: Cond) -> exp.Expr:
        if isinstance(node, Const):
            if not isinstance(node.value, bool):
                raise CompileError("a value is not a yes/no condition")
            return exp.true() if node.value else exp.false()
        if isinstance(node, InputRef):
            return c(f"{node.input}__b")
        if isinstance(node, FactRef):
            return c(f"f__{node.fact}")
        if isinstance(node, Known):
            return exp.Not(this=is_null(c(f"{node.input}__k")))
        if isinstance(node, Not):
            return exp.Not(this=par(self.cond(node.operand)))  # NOT NULL is NULL: Kleene
        if isinstance(node, And):  # SQL's AND and OR are Kleene's tables
            return par(exp.and_(*[par(self.cond(i)) for i in node.items], copy=False))
        if isinstance(node, Or):
            return par(exp.or_(*[par(self.cond(i)) for i in node.items], copy=False))
        if isinstance(node, InSet):
            if not isinstance(node.value, SeverityRef):
                raise CompileError("'in' reads only the severity")
            return case((is_null(c("sev")), exp.Null()),
                        default=exp.In(this=c("sev"), expressions=[s(m) for m in node.members]))
        if isinstance(node, SymptomAny):  # a search in ',fever,cough,' per symptom: no regex
            t, sy = c(f"{node.input}__k"), c(f"{node.input}__sy")
            found = or_(*[exp.GT(this=exp.StrPosition(this=sy, substr=s(f",{i},")),
                                 expression=n(0)) for i in sorted(node.symptoms)])
            return case((is_null(t), exp.Null()), default=par(found))
        if isinstance(node, AnySymptom):
            t, sy = c(f"{node.input}__k"), c(f"{node.input}__sy")
            items = exp.Replace(this=sy, expression=s(","), replacement=s(""))
            return case((is_null(t), exp.Null()), default=exp.NEQ(this=items, expression=s("")))
        if isinstance(node, Compare):
            return self.compare(node)
        raise CompileError(f"{type(node).__name__} is not a yes/no condition")

    def compare(self, node: Compare) -> exp.Expr:
        left, right = node.left, node.right
        if isinstance(left, InputRef) and isinstance(right, Const) and \
                isinstance(right.value, Fraction):
            return self.unit_compare(self.inputs[left.input], node.op, right.value)
        if isinstance(left, SeverityRef) and isinstance(right, Const) and node.op in ("==", "!="):
            op = exp.EQ if node.op == "==" else exp.NEQ
            return op(this=c("sev"), expression=s(str(right.value)))
        if isinstance(left, InputRef) and isinstance(right, Const) and isinstance(right.value, bool):
            op = exp.EQ if node.op == "==" else exp.NEQ
            return op(this=c(f"{left.input}__b"), expression=exp.true() if right.value else exp.false())
        raise CompileError(f"the SQL backend cannot compare {type(left).__name__} with "
                           f"{type(right).__name__}")

    # -- assembly ------------------------------------------------------------------------------

    def select(self) -> exp.Select:
        p, src = self.p, self.src
        keep = [c(src.order), *[c(k) for k in src.passthrough], *[c(k) for k in src.columns]]
        numeric = [i for i in p.inputs if i.base_unit is not None or i.type == "number"]
        cells, parts = self.parts()
        l0 = _select(*keep, *cells).from_(src.table)
        l1 = _select("*", *parts).from_(self.layer(l0, "l0"), copy=False)
        l2 = _select("*", *[e for i in numeric for e in self.number(i)]).from_(self.layer(l1, "l1"), copy=False)
        l3 = _select("*", *[e for i in numeric for e in self.checks(i)]).from_(self.layer(l2, "l2"), copy=False)
        l4 = _select("*", *[e for i in numeric for e in self.value(i)]).from_(self.layer(l3, "l3"), copy=False)
        l4 = _select("*", *[self.error_kind(i).as_(f"{i.id}__ek") for i in numeric]).from_(self.layer(l4, "l4k"), copy=False)
        errors: list[exp.Expr] = []
        order = list(src.columns) + [i.id for i in p.inputs if i.id not in src.columns]
        for name in order:
            inp = self.inputs[name]
            if inp in numeric:
                errors.append(self.error_text(inp))
            elif inp.type == "boolean":
                errors.append(self.bool_error(inp))
            elif inp.type == "symptoms":
                errors.append(self.symptom_error(inp))
        field_error = exp.Coalesce(this=errors[0], expressions=errors[1:]) if errors else exp.Null()
        l5 = _select("*", field_error.as_("err0")).from_(self.layer(l4, "l4"), copy=False)
        sums = self.sum_error()
        err = exp.Coalesce(this=c("err0"), expressions=sums) if sums else c("err0")
        # Known values: only for rows without an error (a bad row decides nothing).
        known = []
        ok = is_null(c("err0"))
        for inp in p.inputs:
            t = c(f"{inp.id}__t")
            known.append(case((ok, t)).as_(f"{inp.id}__known"))
            if inp.type == "boolean":
                word = c(f"{inp.id}__w")
                known.append(case((exp.In(this=word, expressions=[s(w) for w in _TRUE]), exp.true()),
                                  (exp.In(this=word, expressions=[s(w) for w in _FALSE]), exp.false()))
                             .as_(f"{inp.id}__b"))
        err = exp.Coalesce(this=err, expressions=[self.empty_error()])
        l6 = _select("*", err.as_("err"), *known).from_(self.layer(l5, "l5"), copy=False)
        # Derived inputs: value, exactness, and the unit marker '=' when derived.
        l7_cols: list[exp.Expr] = []
        for d in p.derived:
            value, exact = self.arith(d.expr)
            fill = and_(is_null(c(f"{d.input}__known")),
                        *[not_null(c(f"{g}__known")) for g in d.when_given])
            zero = {z: decimal(Fraction(0)) for z in d.zero_when_missing}
            value = _fill_zero(value, zero)
            l7_cols += [case((fill, value)).as_(f"{d.input}__dv"),
                        case((fill, case((exact, n(0)), default=n(1)))).as_(f"{d.input}__dd"),
                        case((fill, s("=")), default=c(f"{d.input}__u")).as_(f"{d.input}__uf"),
                        case((fill, s("=")), default=c(f"{d.input}__known")).as_(f"{d.input}__k")]
        # The final unit (__uf) and known value (__k) of every input: '=' for a derived one.
        for inp in p.inputs:
            if inp.id in self.derived:
                continue
            l7_cols.append(c(f"{inp.id}__known").as_(f"{inp.id}__k"))
            if inp.base_unit is not None or inp.type == "number":
                l7_cols.append(c(f"{inp.id}__u").as_(f"{inp.id}__uf"))
        l7 = _select("*", *l7_cols).from_(self.layer(l6, "l6"), copy=False)
        known_ok = is_null(c("err"))
        sev_input = self.inputs[p.severity.input]
        bands = []
        for band in p.severity.bands:
            tests = []
            if band.lower is not None:
                tests.append(self.unit_compare(sev_input, ">=", band.lower))
            if band.below is not None:
                tests.append(self.unit_compare(sev_input, "<", band.below))
            bands.append((is_true(and_(*tests)) if tests else exp.true(), s(band.id)))
        sev = case((exp.Not(this=known_ok), exp.Null()),
                   (is_null(c(f"{p.severity.input}__k")), exp.Null()), *bands)
        l8 = _select("*", sev.as_("sev")).from_(self.layer(l7, "l7"), copy=False)
        rel = l8
        for fact in p.facts:  # one layer per fact: a fact reads only facts before it
            rel = _select("*", self.cond(fact.when).as_(f"f__{fact.id}")).from_(self.layer(rel, f"f_{fact.id}"), copy=False)
        rel = _select("*", *[self.cond(lim.when).as_(f"s__{i}") for i, lim in enumerate(p.limits)],
                         *[self.cond(r.when).as_(f"r__{i}") for i, r in enumerate(p.rules)]).from_(self.layer(rel, "rules"), copy=False)
        return self.finish(rel)

    def finish(self, rel: exp.Select) -> exp.Select:
        p, src = self.p, self.src
        n_levels = len(p.levels)
        decided = case(*[(or_(*[is_true(c(f"r__{i}")) for i, r in enumerate(p.rules) if r.rank == lv]),
                          n(lv)) for lv in range(n_levels)
                         if any(r.rank == lv for r in p.rules)], default=n(max(n_levels - 1, 0)))
        unknown = case(*[(or_(*[is_null(c(f"r__{i}")) for i, r in enumerate(p.rules) if r.rank == lv]),
                          n(lv)) for lv in range(n_levels)
                         if any(r.rank == lv for r in p.rules)], default=n(n_levels))
        rel = _select("*", decided.as_("lt"), unknown.as_("lu")).from_(self.layer(rel, "lv"), copy=False)
        level = case((exp.LTE(this=c("lt"), expression=c("lu")), c("lt")), default=c("lu"))
        ids = [lv.id for lv in p.levels] or ["routine"]
        urgency = case(*[(exp.EQ(this=level, expression=n(i)), s(lid)) for i, lid in enumerate(ids)],
                       default=s(ids[-1]))
        certain = case((exp.EQ(this=level, expression=c("lt")), s("true")), default=s("false"))
        # settle_with: in rule order, each missing input of an unknown rule more urgent than lt,
        # first occurrence only (evaluate.Evaluator.settle_with).
        settle: list[exp.Expr] = []
        seen: dict[str, list[int]] = {}
        for i, rule in enumerate(p.rules):
            active = and_(is_null(c(f"r__{i}")), exp.LT(this=n(rule.rank), expression=c("lt")))
            for name in sorted(rule.deps):
                earlier = [and_(is_null(c(f"r__{j}")),
                                exp.LT(this=n(p.rules[j].rank), expression=c("lt")))
                           for j in seen.get(name, [])]
                cond = and_(active, is_null(c(f"{name}__k")),
                            *[exp.Not(this=par(e)) for e in earlier])
                settle.append(case((cond, s(name))))
                seen.setdefault(name, []).append(i)
        self.settle = settle
        settle_text = _join(settle)
        if self.settle_fn is not None and len(settle) > 1 and sql_settle.keyable(self.specs):
            key = sql_settle.settle_key(
                self.specs, lambda name, op, cut: self.unit_compare(self.inputs[name], op, cut),
                lambda name: c(f"{name}__k"), lambda name: c(f"{name}__b"))
            settle_text = case((exp.GT(this=self.candidates(), expression=n(1)),
                                fn(self.settle_fn, key)), default=settle_text)
        advice = []
        for item in sorted(p.advice, key=lambda a: a.id):
            keep = exp.true() if item.when is None else not_false(self.cond(item.when))
            advice.append(case((keep, s(item.id))))
        # A limit that is unknown (no age given) is no warning; one that holds takes the
        # patient out of the adult bands: severity unknown (evaluate.Result.scope_warnings).
        scope = [case((is_true(c(f"s__{i}")), s(lim.id))) for i, lim in enumerate(p.limits)]
        in_scope = exp.Not(this=par(is_true(or_(*[c(f"s__{i}") for i in range(len(p.limits))])))) \
            if p.limits else exp.true()
        fever_ids = [f.id for f in p.facts]
        fever = c("f__has_fever") if "has_fever" in fever_ids else exp.Null()
        ok = is_null(c("err"))
        def out(e: exp.Expr) -> exp.Expr:  # a bad row has only its error
            return case((ok, e))

        anc = self.anc_text()
        sql = self.sql
        error = case((exp.GT(this=exp.Length(this=c("err")), expression=n(MAX_ERROR_CHARS)),
                      sql.show(c("err"), MAX_ERROR_CHARS)), default=c("err"))
        cols = [c(src.order), *[c(k) for k in src.passthrough], *[c(k) for k in src.columns],
                out(case((and_(not_null(c("sev")), in_scope), c("sev")), default=s("unknown"))).as_("severity"),
                out(urgency).as_("urgency"), out(certain).as_("urgency_certain"),
                out(exp.Nullif(this=settle_text, expression=s(""))).as_("settle_with"),
                out(anc).as_("anc_cells_per_ul"),
                out(case((fever, s("true")), (exp.Not(this=fever), s("false")))).as_("fever"),
                out(exp.Nullif(this=_join(scope), expression=s(""))).as_("scope_warnings"),
                out(exp.Nullif(this=_join(advice), expression=s(""))).as_("advice_ids"),
                error.as_("error"), self.exact_flag().as_("exact_in_sql")]
        final = _select(*cols).from_(self.layer(rel, "decided"), copy=False)
        for name, select in self.ctes:
            final = final.with_(name, as_=select, copy=False)
        return final.order_by(c(src.order), copy=False) if src.ordered else final

    def anc_text(self) -> exp.Expr:
        """The severity input in the base unit as batch.py writes it (units.json_number)."""
        x = self.p.severity.input
        inp = self.inputs[x]
        whens: list[tuple[exp.Expr, exp.Expr]] = []
        for unit in inp.units:
            value = exp.Add(this=exp.Mul(this=c(f"{x}__v"), expression=decimal(unit.scale)),
                            expression=decimal(unit.offset))
            whens.append((exp.EQ(this=c(f"{x}__uf"), expression=s(unit.name)), value))
        if x in self.derived:
            whens.append((exp.EQ(this=c(f"{x}__uf"), expression=s("=")), c(f"{x}__dv")))
        text = exp.Cast(this=case(*whens), to=exp.DataType.build("VARCHAR"))
        trimmed = self.sql.sub(self.sql.sub(text, r"0+$", ""), r"\.$", "")
        plain = case((self.sql.like(text, r"\."), trimmed), default=text)
        return case((is_null(c(f"{x}__k")), exp.Null()), default=plain)

    def exact_flag(self) -> exp.Expr:
        """False when a number had more than SCALE decimals and fed an arithmetic result (the
        derived count, the printed count) or a symptom hint was wanted: SQL's answer may then
        differ from the exact one; engine/scale.py gives such rows to the Python engine."""
        loose = self.loose()
        if not loose:
            return exp.true()
        return exp.Not(this=par(is_true(or_(*loose))))

    def candidates(self) -> exp.Expr:
        """How many settle_with candidates the row has."""
        count: exp.Expr = n(0)
        for item in self.settle:
            count = exp.Add(this=count, expression=case((not_null(item), n(1)), default=n(0)))
        return count

    def loose(self) -> list[exp.Expr]:
        """Each reason for exact_flag to hand a row to the Python engine."""
        loose: list[exp.Expr] = []
        feeds = {self.p.severity.input}
        for d in self.p.derived:
            feeds |= d.expr.deps
        for inp in self.p.inputs:
            if inp.id in feeds and (inp.base_unit is not None or inp.type == "number"):
                loose.append(exp.NEQ(this=c(f"{inp.id}__d"), expression=n(0)))
        # json_number writes a count below 0.0001 as a float would ('5e-05')
        anc = self.anc_text()
        small = self.sql.like(anc, r"^0\.0000")
        loose.append(small)
        # Python's own words: a bare number in two units (with its bands), a row that gives
        # nothing, a derived input given with its parts (engine/plausible.py's rounding ranges)
        for inp in self.p.inputs:
            if inp.id in self.numeric:
                loose.append(exp.EQ(this=c(f"{inp.id}__ek"), expression=n(AMBIGUOUS)))
        loose.append(self.nothing_read())
        if self.sql.dialect == "spark":  # Spark cuts a product's scale to 6 (allowPrecisionLoss)
            loose += [exp.EQ(this=c(f"{d.input}__uf"), expression=s("=")) for d in self.p.derived]
        # settle_with: each candidate above is asked only if some answers to the other missing
        # inputs leave the level depending on it (questions.Analysis._matters), a search over
        # their regions; with one candidate there are no others to search, with more the
        # Python engine searches.
        if len(self.settle) > 1 and (self.settle_fn is None or not sql_settle.keyable(self.specs)):
            loose.append(exp.GT(this=self.candidates(), expression=n(1)))
        for d in self.p.derived:
            loose.append(and_(not_null(c(f"{d.input}__t")),
                              par(or_(*[not_null(c(f"{g}__t")) for g in sorted(d.expr.deps)]))))
        for inp in self.p.inputs:
            if inp.type == "symptoms" and self.hint is None:
                valid, _, _ = self.symptom_patterns()
                t = c(f"{inp.id}__t")
                loose.append(and_(not_null(t), exp.Not(this=self.sql.like(t, valid))))
        return loose
