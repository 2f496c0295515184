"""The SQL backend's reading of cells: where the rows come from (`Source`), the words of
engine/patient.py that depend on the knowledge base (`Wording`), and the first layers of the
query: raw cells → each input's parts → its checks, unit and exact value.

The query is one class built in steps, each module one concern: `CellReading` (here) →
`sql_inputs.InputReading` (errors in patient.py's words) → `sql_conditions.Conditions` (the
rules' conditions in Kleene logic) → `sql_backend._Query` (the decision and the result columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from sqlglot import exp

from neutropenia_kb.core.units import (
    MAX_DIGITS,
    MAX_EXPONENT,
    MAX_TEXT,
    UNIT_FOLDS,
    UNITS,
)
from neutropenia_kb.engine.patient import NO_SYMPTOMS
from neutropenia_kb.engine.program import (
    DerivedDef,
    InputDef,
    Program,
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

# A plain number: its value is the cell as DECIMAL(34, 12), exactly (no sign, no exponent, no
# unit, at most 15 + SCALE digits: within MAX_DIGITS and the exponent range).
PLAIN = f"^[0-9]{{1,15}}(\\.[0-9]{{1,{SCALE}}})?$"

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


# The columns of an input's reading that the layers after it read (its cell, value, cut,
# unit, kind of error, error text, yes/no word, symptom list): all a Lookup carries
LOOKED_UP = frozenset({"t", "v", "d", "u", "ek", "err", "w", "sy", "rg"})


@dataclass(frozen=True)
class CellGroup:
    """Some inputs' cell columns, read once per distinct cell (engine/scale.py): ``variable``
    names a DuckDB variable holding a list of structs, one per distinct cell, whose fields are
    ``names``; ``index`` is the 1-based place of a row's cell in it."""

    variable: str
    index: exp.Expr
    names: tuple[str, ...]
    inputs: frozenset[str]  # whose cells these are


@dataclass(frozen=True)
class Lookup:
    """Every input's cell columns looked up rather than worked out on each row: a cell's
    reading depends on that cell alone, and a lab feed repeats its cells (17,257 distinct anc
    cells in 200,000 rows). Plain lookups by list index: no join, so the rows keep their
    order on every thread."""

    groups: tuple[CellGroup, ...]

    @property
    def names(self) -> set[str]:
        return {name for group in self.groups for name in group.names}

    @property
    def inputs(self) -> set[str]:
        return {name for group in self.groups for name in group.inputs}

    def columns(self, keep: Sequence[exp.Expr], table: exp.Expr,
                layer: Callable[[exp.Select, str], exp.Expr]) -> exp.Select:
        """``keep`` and every group's columns, for each row of ``table``."""
        looked = [fn("LIST_EXTRACT", fn("GETVARIABLE", s(g.variable)), g.index)
                  .as_(f"nkb__c{i}", copy=False) for i, g in enumerate(self.groups)]
        l0 = _select(*keep, *looked).from_(table)
        fields = [fn("STRUCT_EXTRACT", c(f"nkb__c{i}"), s(name)).as_(name, copy=False)
                  for i, g in enumerate(self.groups) for name in g.names]
        return _select(*[k.copy() for k in keep], *fields).from_(layer(l0, "cells"),
                                                                 copy=False)


class CellReading:
    """The state of one query (set by sql_backend._Query.__init__) and its cell layers."""

    p: Program
    w: Wording
    src: Source
    sql: Sql
    hint: str | None
    present: set[str]
    inputs: dict[str, InputDef]
    derived: dict[str, DerivedDef]
    specs: dict[str, Any]
    numeric: set[str]
    settle_fn: str | None
    ctes: list[tuple[str, exp.Select]]
    settle: list[exp.Expr]

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

    def parts(self, inputs: Sequence[InputDef]) -> tuple[list[exp.Expr], list[exp.Expr]]:
        """(cells, parts): each input's cell (``__t``) and, for numbers, the regex's groups —
        in DuckDB from one regex call per cell (a struct of the groups), elsewhere one call
        per group."""
        sql = self.sql
        cells: list[exp.Expr] = []
        parts: list[exp.Expr] = []
        names = ("sg", "mt", "ex", "rs")
        for inp in inputs:
            x = inp.id
            cells.append(self.text(x).as_(f"{x}__t", copy=False))
            if inp.base_unit is not None or inp.type == "number":
                t = c(f"{x}__t")
                plain = [s(""), t, s(""), s("")]  # the parts of a plain number
                if sql.dialect == "duckdb":  # DuckDB reads an alias of the same SELECT
                    cells.append(sql.like(t, PLAIN).as_(f"{x}__p", copy=False))
                    cells.append(case((or_(is_null(t), is_true(c(f"{x}__p"))), exp.Null()), default=exp.RegexpExtract(
                        this=t, expression=s(number_re()),
                        group=exp.Array(expressions=[s(p) for p in names]))).as_(f"{x}__m", copy=False))
                    for part, fast in zip(names, plain):
                        parts.append(self.fast(x, fast, exp.Dot(
                            this=c(f"{x}__m"), expression=exp.to_identifier(part))).as_(f"{x}__{part}", copy=False))
                else:  # Java's and PostgreSQL's $ also match before a last line break
                    last = exp.Substring(this=t, start=exp.Length(this=t))
                    ends = exp.In(this=last, expressions=[s(str(i)) for i in range(10)])
                    parts.append(and_(sql.like(t, PLAIN), ends).as_(f"{x}__p", copy=False))
                    for i, part in enumerate(names, start=1):
                        parts.append(sql.extract(t, number_re(), i).as_(f"{x}__{part}", copy=False))
            elif inp.type == "boolean":  # the word, stripped only when it is not a word as is
                t = c(f"{x}__t")
                lower = exp.Lower(this=t)
                words = [s(w) for w in _TRUE + _FALSE]
                parts.append(case((exp.In(this=lower, expressions=words), lower),
                                  default=exp.Lower(this=sql.strip(t))).as_(f"{x}__w", copy=False))
            elif inp.type == "symptoms":  # ',fever,cough,' for the rules (no whitespace left)
                bare = sql.translate(sql.remove_all(c(f"{x}__t"), f"[{_ws()}]+"), ";|", ",,")
                parts.append(cat(",", bare, ",").as_(f"{x}__sy", copy=False))
        return cells, parts

    # -- layer 2: parts → checks, exact value --------------------------------------------------

    def mantissa(self, inp: InputDef) -> exp.Expr:
        """units.decimal_text: thousands separators dropped, a decimal comma made a point, any
        other comma refused (NULL here; error_kind names it). The regexes run only on the
        rare cell with a comma. A column of its own (``__mr``), and the digits made ASCII
        another (``__dg``): the steps after read each several times, and each copy of these
        in the query is regexes DuckDB compiles and a long TRANSLATE."""
        sql, mt, dig = self.sql, c(f"{inp.id}__mt"), _dig()
        comma = exp.GT(this=exp.StrPosition(this=mt, substr=s(",")), expression=n(0))
        thousands = sql.like(mt, f"^[1-9][{dig}]{{0,2}}(,[{dig}]{{3}})+(\\.[{dig}]*)?$")
        decimal_comma = sql.like(mt, f"^[{dig}]+,[{dig}]+$")
        mant = case((exp.Not(this=comma), mt),
                    (thousands, exp.Replace(this=mt, expression=s(","), replacement=s(""))),
                    (decimal_comma, exp.Replace(this=mt, expression=s(","), replacement=s("."))))
        return self.fast(inp.id, exp.Null(), mant).as_(f"{inp.id}__mr", copy=False)

    def ascii_digits(self, inp: InputDef) -> exp.Expr:
        """The mantissa with other scripts' digits as 0-9."""
        sql, mant = self.sql, c(f"{inp.id}__mr")
        plain = exp.EQ(this=sql.octets(mant), expression=exp.Length(this=mant))
        digits = case((plain, mant), default=sql.translate(mant, *_foreign()))
        return self.fast(inp.id, exp.Null(), digits).as_(f"{inp.id}__dg", copy=False)

    def number(self, inp: InputDef) -> list[exp.Expr]:
        """Digits and exponent from the parts by string functions (no regex: a million rows
        pay for every regex call)."""
        sql, x = self.sql, inp.id
        def col(part: str) -> exp.Expr:
            return c(f"{x}__{part}")

        def ascii_(e: exp.Expr) -> exp.Expr:  # other scripts' digits, as 0-9
            plain = exp.EQ(this=sql.octets(e), expression=exp.Length(this=e))
            return case((plain, e), default=sql.translate(e, *_foreign()))

        mant = col("mr")
        points = exp.Sub(this=exp.Length(this=mant), expression=exp.Length(
            this=exp.Replace(this=mant, expression=s("."), replacement=s(""))))
        digits = col("dg")
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
        f, no = self.fast, exp.false()
        return [f(x, exp.true(), ok).as_(f"{x}__ok", copy=False), f(x, no, bad_comma).as_(f"{x}__bc", copy=False),
                f(x, no, not_number, no).as_(f"{x}__nn", copy=False), f(x, col("t"), mant).as_(f"{x}__mant", copy=False),
                f(x, exp.Null(), frac).as_(f"{x}__fr", copy=False), f(x, exp.Null(), coef).as_(f"{x}__co", copy=False),
                f(x, exp.Null(), edigits).as_(f"{x}__ed", copy=False), f(x, no, eneg).as_(f"{x}__en", copy=False),
                f(x, s(""), unit).as_(f"{x}__un", copy=False),
                case((is_true(col("p")), exp.Cast(this=col("t"), to=NUMBER))).as_(f"{x}__pv", copy=False)]

    def fast(self, x: str, plain: exp.Expr, other: exp.Expr,
             missing: exp.Expr | None = None) -> exp.Expr:
        """``plain`` for a cell that is a plain number (PLAIN: digits, a point and at most SCALE
        decimals: nearly every cell of a lab feed), whose value is the cell cast to DECIMAL as
        is; ``missing`` (what ``other`` gives a NULL cell: NULL unless said) for a cell not
        given; ``other`` (the general reading) for any other cell. CASE works out ``other``
        only for the rows that need it."""
        return case((is_null(c(f"{x}__t")), missing or exp.Null()),
                    (is_true(c(f"{x}__p")), plain), default=other)

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
        f, no = self.fast, exp.false()
        default = s(inp.default_unit.name if inp.default_unit else "")
        return [f(x, exp.EQ(this=col("pv"), expression=decimal(Fraction(0))), zero).as_(f"{x}__zero", copy=False),
                f(x, no, too_large).as_(f"{x}__big", copy=False), f(x, no, too_small).as_(f"{x}__small", copy=False),
                f(x, no, exp.GT(this=nd, expression=n(MAX_DIGITS))).as_(f"{x}__long", copy=False),
                f(x, exp.Null(), xexp).as_(f"{x}__xe", copy=False), f(x, default, self.unit_of(inp), s("!")).as_(f"{x}__u", copy=False)]

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
        zero = decimal(Fraction(0))
        return [self.fast(x, col("pv"), v, zero).as_(f"{x}__v", copy=False),
                self.fast(x, n(0), d, n(0)).as_(f"{x}__d", copy=False)]

    # -- errors --------------------------------------------------------------------------------

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
