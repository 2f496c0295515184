"""CQL expressions in both notations at once: an ELM JSON node (the shapes the CQL-to-ELM
translator writes and cql-execution reads) and the same expression as CQL text. The small
builders engine/elm_backend.py writes its library with; they take ids, unit codes and exact
decimals only.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, NamedTuple, Sequence

from neutropenia_kb.engine.compile import CompileError

SYSTEM = "{urn:hl7-org:elm-types:r1}"
SCALE = 8  # CQL Decimal: digits after the point (CQL 1.5, "Decimal")
OPS = {"<": ("Less", "<"), "<=": ("LessOrEqual", "<="), ">": ("Greater", ">"),
       ">=": ("GreaterOrEqual", ">="), "==": ("Equal", "="), "!=": ("NotEqual", "!=")}
ARITH = {"+": "Add", "-": "Subtract", "*": "Multiply", "/": "Divide"}


class Expr(NamedTuple):
    """One expression in both notations; ``atom``: the CQL text needs no parentheses."""

    elm: dict[str, Any]
    cql: str
    atom: bool = False


def paren(e: Expr) -> str:
    return e.cql if e.atom else f"({e.cql})"


def quoted(name: str) -> str:
    if '"' in name or "\\" in name:  # never: names are ids or our own words
        raise CompileError(f"{name!r} cannot be a CQL identifier")
    return f'"{name}"'


def string(text: str) -> Expr:
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return Expr({"type": "Literal", "valueType": SYSTEM + "String", "value": text},
                f"'{escaped}'", True)


def boolean(value: bool) -> Expr:
    word = "true" if value else "false"
    return Expr({"type": "Literal", "valueType": SYSTEM + "Boolean", "value": word}, word, True)


def decimal_text(value: Fraction) -> str:
    """Exact decimal text with a point ('500.0', '0.5'); CompileError beyond 8 decimals."""
    scaled = value * 10 ** SCALE
    if scaled.denominator != 1:
        raise CompileError(f"{value} has no exact CQL Decimal (8 digits after the point)")
    sign, digits = ("-" if scaled < 0 else ""), str(abs(scaled.numerator)).rjust(SCALE + 1, "0")
    whole, frac = digits[:-SCALE], digits[-SCALE:].rstrip("0") or "0"
    return f"{sign}{whole}.{frac}"


def decimal(value: Fraction) -> Expr:
    text = decimal_text(value)
    return Expr({"type": "Literal", "valueType": SYSTEM + "Decimal", "value": text}, text, True)


def null(as_type: str) -> Expr:
    return Expr({"type": "As", "asType": SYSTEM + as_type, "operand": {"type": "Null"}},
                "null", True)


def ref(kind: str, name: str) -> Expr:
    return Expr({"type": kind, "name": name}, quoted(name), True)


def unary(kind: str, e: Expr, cql: str) -> Expr:
    return Expr({"type": kind, "operand": e.elm}, cql)


def binary(kind: str, a: Expr, b: Expr, op: str) -> Expr:
    return Expr({"type": kind, "operand": [a.elm, b.elm]}, f"{paren(a)} {op} {paren(b)}")


def is_null(e: Expr) -> Expr:
    return unary("IsNull", e, f"{paren(e)} is null")


def not_null(e: Expr) -> Expr:
    return Expr({"type": "Not", "operand": is_null(e).elm}, f"{paren(e)} is not null")


def not_false(e: Expr) -> Expr:
    """True or unknown (cautious): never null."""
    return Expr({"type": "Not", "operand": {"type": "IsFalse", "operand": e.elm}},
                f"{paren(e)} is not false")


def logic(kind: str, items: Sequence[Expr]) -> Expr:
    """n-ary and/or as balanced binary ELM (Kleene's and/or are associative, and a balanced
    tree stays shallow however many terms); one flat run in the CQL text."""
    if not items:
        return boolean(kind == "And")
    word = f" {kind.lower()} "
    text = word.join(paren(i) for i in items)

    def tree(part: Sequence[Expr]) -> dict[str, Any]:
        if len(part) == 1:
            return part[0].elm
        mid = len(part) // 2
        return {"type": kind, "operand": [tree(part[:mid]), tree(part[mid:])]}

    return Expr(tree(items), text, len(items) == 1 and items[0].atom)


def if_then(cond: Expr, then: Expr, other: Expr) -> Expr:
    return Expr({"type": "If", "condition": cond.elm, "then": then.elm, "else": other.elm},
                f"if {cond.cql} then {then.cql} else {other.cql}")


def coalesce(items: Sequence[Expr]) -> Expr:
    if len(items) == 1:
        return items[0]
    return Expr({"type": "Coalesce", "operand": [i.elm for i in items]},
                f"Coalesce({', '.join(i.cql for i in items)})", True)


def list_of(items: Sequence[Expr]) -> Expr:
    return Expr({"type": "List", "element": [i.elm for i in items]},
                "{ " + ", ".join(i.cql for i in items) + " }", True)


def prop(source: Expr, path: str) -> Expr:
    return Expr({"type": "Property", "path": path, "source": source.elm},
                f"{paren(source)}.{path}", True)


def round8(e: Expr) -> Expr:
    places = Expr({"type": "Literal", "valueType": SYSTEM + "Integer", "value": str(SCALE)},
                  str(SCALE), True)
    return Expr({"type": "Round", "operand": e.elm, "precision": places.elm},
                f"Round({e.cql}, {SCALE})", True)


def case(items: Sequence[tuple[Expr, Expr]], other: Expr) -> Expr:
    elm = {"type": "Case", "caseItem": [{"when": w.elm, "then": t.elm} for w, t in items],
           "else": other.elm}
    lines = "".join(f"\n    when {w.cql}\n      then {t.cql}" for w, t in items)
    return Expr(elm, f"case{lines}\n    else {other.cql}\n  end", True)


def on_grid(op: str, c: Fraction) -> tuple[str, Fraction] | bool:
    """For a value with at most 8 decimals x: `x op c` ⟺ `x op' c'` with c' on that grid, or a
    constant when no such x meets the test (== 1/3 is always False)."""
    scaled = c * 10 ** SCALE
    if scaled.denominator == 1:
        return op, c
    low = Fraction(math.floor(scaled), 10 ** SCALE)
    high = low + Fraction(1, 10 ** SCALE)
    if op in (">", ">="):
        return ">=", high
    if op in ("<", "<="):
        return "<=", low
    return op == "!="

