"""The SQL backend's building blocks: sqlglot expression helpers, exact DECIMAL constants, the
character classes of Python's re, and the few functions the three dialects spell differently
(split from sql_backend.py, which builds the query from them)."""

from __future__ import annotations

import array
import functools
import re
import sys
import unicodedata
from fractions import Fraction
from typing import Mapping, Sequence

from sqlglot import exp

from neutropenia_kb.core.problems import _CONTROL, SHOWN_CHARS
from neutropenia_kb.core.units import MAX_EXPONENT, format_number
from neutropenia_kb.engine.compile import CompileError

DIALECTS = ("duckdb", "spark", "postgres")
SCALE = 12  # decimals kept; every threshold and range edge must be a multiple of 10^-SCALE
INT_DIGITS = MAX_EXPONENT + 2  # a number below 10^21 before the range check, and its sign
NUMBER = exp.DataType.build(f"DECIMAL({INT_DIGITS + SCALE}, {SCALE})")
MAX_ERROR_CHARS = 1_000  # batch.py cuts an error cell to this
AMBIGUOUS = 10  # the error_kind of a bare number that could be in two units
RESULT_COLUMNS = ("severity", "urgency", "urgency_certain", "settle_with", "anc_cells_per_ul",
                  "fever", "scope_warnings", "advice_ids", "error")
_NOUN = {"cell_count": "count", "temperature": "temperature", "percent": "percent",
         "number": "number"}  # as patient.py words a unit's dimension
_TRUE = ("true", "yes", "y", "1")
_FALSE = ("false", "no", "n", "0")


# _runs of \s and \d for the Unicode version of Python 3.11 (14.0.0), the one this project's
# machines run: each takes ~0.05 s to work out, at every `nkb evaluate --engine duckdb`.
# Another Unicode version works them out (test_sql_backend checks these against _runs).
_KNOWN_RUNS: dict[tuple[str, str], tuple[tuple[int, int], ...]] = {
    ("14.0.0", r"\s"): (
        (9, 13), (28, 32), (133, 133), (160, 160), (5760, 5760), (8192, 8202), (8232, 8233),
        (8239, 8239), (8287, 8287), (12288, 12288),
    ),
    ("14.0.0", r"\d"): (
        (48, 57), (1632, 1641), (1776, 1785), (1984, 1993), (2406, 2415), (2534, 2543),
        (2662, 2671), (2790, 2799), (2918, 2927), (3046, 3055), (3174, 3183), (3302, 3311),
        (3430, 3439), (3558, 3567), (3664, 3673), (3792, 3801), (3872, 3881), (4160, 4169),
        (4240, 4249), (6112, 6121), (6160, 6169), (6470, 6479), (6608, 6617), (6784, 6793),
        (6800, 6809), (6992, 7001), (7088, 7097), (7232, 7241), (7248, 7257), (42528, 42537),
        (43216, 43225), (43264, 43273), (43472, 43481), (43504, 43513), (43600, 43609),
        (44016, 44025), (65296, 65305), (66720, 66729), (68912, 68921), (69734, 69743),
        (69872, 69881), (69942, 69951), (70096, 70105), (70384, 70393), (70736, 70745),
        (70864, 70873), (71248, 71257), (71360, 71369), (71472, 71481), (71904, 71913),
        (72016, 72025), (72784, 72793), (73040, 73049), (73120, 73129), (92768, 92777),
        (92864, 92873), (93008, 93017), (120782, 120831), (123200, 123209), (123632, 123641),
        (125264, 125273), (130032, 130041),
    ),
}


def _runs(pattern: str) -> tuple[tuple[int, int], ...]:
    """_find_runs, or the known runs of this Unicode version."""
    known = _KNOWN_RUNS.get((unicodedata.unidata_version, pattern))
    return known if known is not None else _find_runs(pattern)


@functools.cache
def _find_runs(pattern: str) -> tuple[tuple[int, int], ...]:
    """The runs (first, last code point) of characters Python's re matches by ``pattern`` (one
    character class), found by re over one string of every code point but the surrogates:
    in C, where a Python loop over 1.1 million code points took a second at every
    `nkb evaluate --engine duckdb`."""
    codes = array.array("I", range(0xD800))
    codes.extend(range(0xE000, sys.maxunicode + 1))
    every = codes.tobytes().decode("utf-32-le" if sys.byteorder == "little" else "utf-32-be")

    def code(index: int) -> int:  # the string skips the 0x800 surrogates
        return index if index < 0xD800 else index + 0x800

    out = []
    for m in re.finditer(pattern + "+", every):
        first, last = code(m.start()), code(m.end() - 1)
        if first < 0xD800 <= last:  # a run across the gap is two runs
            out += [(first, 0xD7FF), (0xE000, last)]
        else:
            out.append((first, last))
    return tuple(out)


def _class(runs: tuple[tuple[int, int], ...]) -> str:
    """A regex class body of the runs, as ranges of literal characters (so RE2, Java and
    PostgreSQL read it alike: Python's \\s and \\d are Unicode, theirs are not)."""
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in runs)


def _body(codes: list[int]) -> str:
    """A regex class body of the (sorted) code points, runs written as ranges."""
    runs: list[tuple[int, int]] = []
    for code in codes:
        if runs and runs[-1][1] == code - 1:
            runs[-1] = (runs[-1][0], code)
        else:
            runs.append((code, code))
    return _class(tuple(r for a, b in runs for r in ([(a, a), (b, b)] if b == a + 1 else [(a, b)])))


@functools.cache
def _escaped() -> tuple[str, tuple[tuple[str, str], ...], str, str]:
    """problems._CONTROL as Sql.show and Sql.escape spell it: a class body of every character it
    escapes; for each escape's text but its last character (its head), a class body of the
    characters whose escape starts so; and TRANSLATE's from and to (each character, the last
    character of its escape)."""
    codes = sorted(_CONTROL)
    heads: dict[str, list[int]] = {}
    for code in codes:
        heads.setdefault(_CONTROL[code][:-1], []).append(code)
    return (_body(codes), tuple((head, _body(some)) for head, some in heads.items()),
            "".join(map(chr, codes)), "".join(_CONTROL[code][-1] for code in codes))


# Python's re: \s is str.isspace(), \d is a Unicode decimal digit (category Nd) — which
# Decimal() reads too; tests/engine/test_sql_backend.py checks both against re. Worked out on
# first use, not when `nkb` starts.
@functools.cache
def _ws() -> str:
    return _class(_runs(r"\s"))


@functools.cache
def _dig() -> str:
    return _class(_runs(r"\d"))


@functools.cache
def _foreign() -> tuple[str, str]:
    """Every non-ASCII decimal digit, and the ASCII digit of each."""
    found = "".join(chr(i) for a, b in _runs(r"\d") for i in range(max(a, 128), b + 1))
    return found, "".join(str(unicodedata.digit(d)) for d in found)


def number_re() -> str:
    """patient.py's pattern (units.split_quantity) in parts: sign, mantissa, exponent, the rest."""
    ws, dig = _ws(), _dig()
    return (f"^[{ws}]*([-+]?)([{dig}][{dig},.]*|[.,][{dig}]+)"
            f"([eE][-+]?[{dig}]+)?[{ws}]*([\\s\\S]*)$")


# ---- expression helpers ----------------------------------------------------------------------


def s(text: str) -> exp.Literal:
    return exp.Literal.string(text)


def n(value: int | str) -> exp.Expr:
    return exp.Literal.number(value)


def c(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def fn(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def cat(*parts: exp.Expr | str) -> exp.Expr:
    """a || b || …, as a balanced tree (shallow for sqlglot's recursive parser)."""
    items = [s(p) if isinstance(p, str) else p for p in parts]
    if len(items) == 1:
        return items[0]
    half = len(items) // 2
    return par(exp.DPipe(this=cat(*items[:half]), expression=cat(*items[half:]), safe=True))


def case(*whens: tuple[exp.Expr, exp.Expr],
         default: exp.Expr | None = None) -> exp.Case:
    out = exp.Case()
    for cond, then in whens:
        out = out.when(cond, then, copy=False)
    return out.else_(default, copy=False) if default is not None else out


def par(e: exp.Expr) -> exp.Paren:
    return exp.Paren(this=e)


def and_(*items: exp.Expr) -> exp.Expr:
    return exp.and_(*items, copy=False) if len(items) > 1 else items[0]


def or_(*items: exp.Expr) -> exp.Expr:
    return exp.or_(*items, copy=False) if len(items) > 1 else items[0]


def is_null(e: exp.Expr) -> exp.Expr:
    return exp.Is(this=e, expression=exp.Null())


def not_null(e: exp.Expr) -> exp.Expr:
    return exp.Not(this=is_null(e))


def is_true(e: exp.Expr) -> exp.Expr:
    return exp.Coalesce(this=e, expressions=[exp.false()])


def not_false(e: exp.Expr) -> exp.Expr:
    return exp.Coalesce(this=e, expressions=[exp.true()])


def decimal(value: Fraction) -> exp.Expr:
    """A constant as an exact DECIMAL literal; refused unless it has at most SCALE decimals."""
    if (value * 10**SCALE).denominator != 1:
        raise CompileError(f"{value} has more than {SCALE} decimals: the SQL backend keeps {SCALE}")
    whole = value * 10**SCALE
    sign = "-" if whole < 0 else ""
    digits = str(abs(whole.numerator)).rjust(SCALE + 1, "0")
    text = f"{sign}{digits[:-SCALE]}.{digits[-SCALE:]}"
    return exp.Cast(this=s(text), to=NUMBER)


class Sql:
    """The few functions the three dialects spell differently."""

    def __init__(self, dialect: str) -> None:
        if dialect not in DIALECTS:
            raise CompileError(f"unknown SQL dialect '{dialect}'; use one of {', '.join(DIALECTS)}")
        self.dialect = dialect

    def like(self, e: exp.Expr, pattern: str) -> exp.Expr:
        return exp.RegexpLike(this=e, expression=s(pattern))

    def extract(self, e: exp.Expr, pattern: str, group: int) -> exp.Expr:
        if self.dialect == "postgres":
            found = exp.Bracket(this=par(fn("REGEXP_MATCH", e, s(pattern))), expressions=[n(group)])
            return exp.Coalesce(this=found, expressions=[s("")])
        return exp.RegexpExtract(this=e, expression=s(pattern), group=n(group))

    def sub(self, e: exp.Expr, pattern: str, by: str) -> exp.Expr:
        """Replace the one match of an anchored ``pattern``."""
        return exp.RegexpReplace(this=e, expression=s(pattern), replacement=s(by))

    def thousands(self, e: exp.Expr) -> exp.Expr:
        if self.dialect == "duckdb":
            return fn("FORMAT", s("{:,}"), e)
        if self.dialect == "spark":
            return fn("FORMAT_NUMBER", e, n(0))
        return fn("TRIM", fn("TO_CHAR", e, s("FM999,999,999,999,999")))

    @property
    def can_pick(self) -> bool:
        return self.dialect in ("duckdb", "spark")

    def pick(self, texts: Sequence[str], index: exp.Expr) -> exp.Expr:
        """The ``index``-th text of a constant list (from 1), in DuckDB and Spark."""
        array = exp.Array(expressions=[s(text) for text in texts])
        return fn("LIST_EXTRACT" if self.dialect == "duckdb" else "ELEMENT_AT", array, index)

    def octets(self, e: exp.Expr) -> exp.Expr:
        return fn("STRLEN" if self.dialect == "duckdb" else "OCTET_LENGTH", e)

    def translate(self, e: exp.Expr, old: str, new: str) -> exp.Expr:
        return fn("TRANSLATE", e, s(old), s(new))

    def strip(self, e: exp.Expr) -> exp.Expr:
        return self.sub(self.sub(e, f"^[{_ws()}]+", ""), f"[{_ws()}]+$", "")

    def show(self, e: exp.Expr, limit: int = SHOWN_CHARS) -> exp.Expr:
        """problems.show_value of a text: cut to ``limit`` with its length, the characters
        problems._CONTROL names escaped."""
        length = exp.Length(this=e)
        cut = case((exp.GT(this=length, expression=n(limit)),
                    cat(exp.Substring(this=e, start=n(1), length=n(limit)), "… (",
                        self.thousands(length), " characters)")), default=e)
        return case((self.like(e, f"[{_escaped()[0]}]"), self.escape(cut)), default=cut)

    def escape(self, e: exp.Expr) -> exp.Expr:
        """problems._CONTROL in eleven steps rather than 79 nested REPLACEs (a tree that deep
        is more than sqlglot's recursive parser reads back): each escape's text but its last
        character ('\\x0', '\\u202', '\\' for tab, newline and return) put before each
        character it escapes, one regex per such text, then one TRANSLATE turns each escaped
        character into the last character of its escape."""
        _, heads, old, new = _escaped()
        out = e
        for head, chars in heads:
            out = self.sub_all(out, f"([{chars}])", head.replace("\\", "\\\\"))
        return self.translate(out, old, new)

    def remove_all(self, e: exp.Expr, pattern: str) -> exp.Expr:
        """Every match of ``pattern`` taken out."""
        if self.dialect == "spark":
            return exp.RegexpReplace(this=e, expression=s(pattern), replacement=s(""))
        return fn("REGEXP_REPLACE", e, s(pattern), s(""), s("g"))

    def sub_all(self, e: exp.Expr, pattern: str, before: str) -> exp.Expr:
        """Every match of ``pattern`` (one group) → ``before`` (backslashes doubled) then the
        group: each dialect spells the group and the 'all' flag its own way."""
        if self.dialect == "spark":
            return exp.RegexpReplace(this=e, expression=s(pattern), replacement=s(before + "$1"))
        return fn("REGEXP_REPLACE", e, s(pattern), s(before + "\\1"), s("g"))


def _select(*items: exp.Expr | str) -> exp.Select:
    return exp.Select().select(*items, copy=False)


def _int(e: exp.Expr) -> exp.Expr:
    return exp.Cast(this=e, to=exp.DataType.build("INT"))


def in_base(value: exp.Expr, scale: Fraction, offset: Fraction) -> exp.Expr:
    """value × scale + offset: a value in a unit into the base unit, leaving out a × 1 and a
    + 0 (each is 128-bit DECIMAL arithmetic on every row). The constants are typed as narrow
    as they are written (1000 as DECIMAL(4, 0)): as NUMBER, DECIMAL(34, 12), a product's
    scale would be 24 and any value over ~1.7e11 overflow DuckDB's 128 bits, failing the whole
    batch for one cell, and Spark would cut the product to 6 decimals."""
    if scale != 1:
        value = exp.Mul(this=value, expression=_exact_decimal(scale))
    if offset != 0:
        value = exp.Add(this=value, expression=_exact_decimal(offset))
    return value


def _pair(op: str, v: exp.Expr, d: exp.Expr, const: exp.Expr) -> exp.Expr:
    """(v, d) op const: v is the value cut toward zero to SCALE decimals and d the sign of what
    was cut; const has at most SCALE decimals, so v ≠ const decides and v = const defers to d."""
    eq = exp.EQ(this=v, expression=const)
    ops = {
        "<": or_(exp.LT(this=v, expression=const), and_(eq, exp.LT(this=d, expression=n(0)))),
        "<=": or_(exp.LT(this=v, expression=const), and_(eq, exp.LTE(this=d, expression=n(0)))),
        ">": or_(exp.GT(this=v, expression=const), and_(eq, exp.GT(this=d, expression=n(0)))),
        ">=": or_(exp.GT(this=v, expression=const), and_(eq, exp.GTE(this=d, expression=n(0)))),
        "==": and_(eq, exp.EQ(this=d, expression=n(0))),
        "!=": exp.Not(this=par(and_(eq, exp.EQ(this=d, expression=n(0))))),
    }
    if op not in ops:
        raise CompileError(f"unknown comparison '{op}'")
    return par(ops[op])


def _number_text(value: Fraction | None) -> str:
    return "" if value is None else format_number(value)


def _exact_decimal(value: Fraction) -> exp.Expr:
    places = next((p for p in range(SCALE + 1) if (value * 10**p).denominator == 1), None)
    if places is None:
        raise CompileError(f"{value} is not a decimal of at most {SCALE} places")
    whole = int(value * 10**places)
    digits = str(abs(whole)).rjust(places + 1, "0")
    text = digits if places == 0 else f"{digits[:-places]}.{digits[-places:]}"
    width = max(len(digits), places + 1)
    return exp.Cast(this=s(("-" if whole < 0 else "") + text),
                    to=exp.DataType.build(f"DECIMAL({width}, {places})"))


def _fill_zero(value: exp.Expr, zero: Mapping[str, exp.Expr]) -> exp.Expr:
    """Inputs counted as 0 when missing: COALESCE each one's column inside the formula."""
    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.name.endswith("__v") and \
                node.name[:-3] in zero:
            return exp.Coalesce(this=node.copy(), expressions=[zero[node.name[:-3]]])
        return node
    return value.transform(swap)


def _join(items: Sequence[exp.Expr]) -> exp.Expr:
    if not items:
        return s("")
    # CONCAT_WS skips NULLs in all three dialects (sqlglot's ConcatWs would wrap it for
    # null-propagating semantics, which is not what is meant here).
    return fn("CONCAT_WS", s(";"), *items)
