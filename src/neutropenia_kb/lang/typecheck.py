"""The types and units of the condition language: what kind of value each expression gives
(a cell count, a temperature, a yes/no condition, ...), with what is wrong in words.

`Scope` and `infer` are shared by the knowledge-base checks (lang/check.py) and the compiler.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping

from neutropenia_kb.core.problems import did_you_mean
from neutropenia_kb.core.units import find_unit
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.lang.parse import (
    FUNCTIONS,
    And,
    Arith,
    Bool,
    Call,
    Compare,
    In,
    Name,
    Node,
    Not,
    Number,
    Or,
    unparse,
)

WORDS = {"cell_count": "a cell count", "temperature": "a temperature", "percent": "a percent",
         "number": "a number", "bool": "a yes/no condition", "severity": "the severity band",
         "symptoms": "the list of symptoms", "band": "a severity band id"}
QUANTITIES = ("cell_count", "temperature")
ORDERED = ("cell_count", "temperature", "percent", "number")


@dataclass(frozen=True)
class Scope:
    """The names a condition may use and their types."""

    inputs: Mapping[str, str]  # input id -> type word (cell_count, temperature, percent, ...)
    units: Mapping[str, str]  # input id -> default unit name
    thresholds: Mapping[str, tuple[str, Fraction]]  # id -> (type, value in base unit)
    facts: Mapping[str, str]  # id -> `when` text
    bands: tuple[str, ...]
    symptoms: frozenset[str]

    @classmethod
    def from_kb(cls, kb: "KnowledgeBase") -> "Scope":
        inputs: dict[str, str] = {}
        units: dict[str, str] = {}
        for inp in kb.inputs:
            if inp.type == "quantity":
                inputs[inp.id] = inp.dimension or "number"
                units[inp.id] = inp.unit or ""
            else:
                inputs[inp.id] = {"boolean": "bool"}.get(inp.type, inp.type)
        thresholds: dict[str, tuple[str, Fraction]] = {}
        for th in kb.thresholds:
            unit = find_unit(th.unit) if th.unit else None
            kind = unit.dimension if unit else "number"
            thresholds[th.id] = (kind, unit.to_base(th.value) if unit else th.value)
        return cls(inputs, units, thresholds, {f.id: f.when for f in kb.facts},
                   tuple(b.id for b in kb.severity.bands), frozenset(s.id for s in kb.symptoms))

    def names(self) -> list[str]:
        return [*self.inputs, *self.thresholds, *self.facts, "severity"]


Issue = tuple[int, str]  # (offset in the expression, message)


def infer(node: Node, scope: Scope, issues: list[Issue]) -> str | None:
    """The type of ``node`` (see WORDS); appends what is wrong to ``issues``."""
    if isinstance(node, Bool):
        return "bool"
    if isinstance(node, Number):
        if node.unit is None:
            return "number"
        unit = find_unit(node.unit)
        return unit.dimension if unit else None
    if isinstance(node, Name):
        return _name_type(node, scope, issues)
    if isinstance(node, Call):
        return _call_type(node, scope, issues)
    if isinstance(node, Arith):
        return _arith_type(node, scope, issues)
    if isinstance(node, Not):
        _want_bool(node.operand, scope, issues)
        return "bool"
    if isinstance(node, (And, Or)):
        for item in node.items:
            _want_bool(item, scope, issues)
        return "bool"
    if isinstance(node, In):
        left = infer(node.left, scope, issues)
        if left not in ("severity", None):
            issues.append((node.pos, f"'in [...]' works only with severity, not with "
                                      f"{_label(node.left)}"))
        for name in node.names:
            if name.name not in scope.bands:
                issues.append((name.pos, f"'{name.name}' is not a severity band"
                                         f"{did_you_mean(name.name, scope.bands)}; the bands "
                                         f"are {', '.join(scope.bands)}"))
        return "bool"
    return _compare_type(node, scope, issues)


def _name_type(node: Name, scope: Scope, issues: list[Issue]) -> str | None:
    if node.name in scope.inputs:
        return scope.inputs[node.name]
    if node.name in scope.thresholds:
        return scope.thresholds[node.name][0]
    if node.name in scope.facts:
        return "bool"
    if node.name == "severity":
        return "severity"
    if node.name in scope.bands:
        return "band"
    hint = did_you_mean(node.name, scope.names())
    if not hint and node.name in scope.symptoms:
        hint = f"; to ask about a symptom write 'symptom({node.name})'"
    issues.append((node.pos, f"unknown name '{node.name}'{hint or '; a condition may use the inputs, thresholds, facts and severity'}"))
    return None


def _call_type(node: Call, scope: Scope, issues: list[Issue]) -> str | None:
    if node.func == "symptom":
        if not node.args:
            issues.append((node.pos, "symptom() needs at least one symptom id"))
        for arg in node.args:
            if arg.name not in scope.symptoms:
                issues.append((arg.pos, f"unknown symptom '{arg.name}'"
                                        f"{did_you_mean(arg.name, scope.symptoms)}"))
        return "bool"
    if node.func == "any_symptom":
        if node.args:
            issues.append((node.pos, "any_symptom() takes no arguments"))
        return "bool"
    if node.func == "known":
        if len(node.args) != 1:
            issues.append((node.pos, "known() takes one input name, e.g. known(anc)"))
        for arg in node.args:
            if arg.name not in scope.inputs:
                issues.append((arg.pos, f"known({arg.name}): '{arg.name}' is not an input"
                                        f"{did_you_mean(arg.name, scope.inputs)}"))
        return "bool"
    issues.append((node.pos, f"unknown function '{node.func}'"
                             f"{did_you_mean(node.func, FUNCTIONS)}; "
                             "the functions are symptom(...), any_symptom() and known(name)"))
    return None


def _arith_type(node: Arith, scope: Scope, issues: list[Issue]) -> str | None:
    """Units multiply and divide like exponents: a count × a percent / 100 is a count. Dividing
    by the number 100 turns a percent into a plain fraction (as '100 %' would)."""
    left, right = infer(node.left, scope, issues), infer(node.right, scope, issues)
    if left is None or right is None:
        return None
    for side, kind in ((node.left, left), (node.right, right)):
        if kind not in ORDERED and not _is_product(kind):
            issues.append((side.pos, f"'{node.op}' works with numbers; {_label(side)} is "
                                     f"{word(kind)}"))
            return None
        if "temperature" in dims(kind):
            issues.append((side.pos, f"{_label(side)} is a temperature: temperatures take no part "
                                     "in arithmetic (°C and °F differ by an offset, not a factor)"))
            return None
    if node.op in "+-":
        if left != right:
            issues.append((node.pos, f"'{node.op}' needs two values of one kind; "
                                     f"{_label(node.left)} is {word(left)} and "
                                     f"{_label(node.right)} is {word(right)}"))
            return None
        return left
    if node.op == "/" and not (isinstance(node.right, Number) and node.right.value != 0):
        issues.append((node.right.pos, f"divide only by a number written in the formula (such "
                                       f"as 100), not by {_label(node.right)}: it could be 0"))
        return None
    right_dims = dims(right)
    if (node.op == "/" and isinstance(node.right, Number) and node.right.unit is None
            and node.right.value == 100 and dims(left).get("percent", 0) > 0):
        right_dims = {"percent": 1}
    sign = 1 if node.op == "*" else -1
    out = dict(dims(left))
    for dim, power in right_dims.items():
        out[dim] = out.get(dim, 0) + sign * power
    return kind_of(out)


def dims(kind: str) -> dict[str, int]:
    """'cell_count*percent' → {cell_count: 1, percent: 1}; 'number' → {}."""
    out: dict[str, int] = {}
    top, _, bottom = kind.partition("/")
    for part, sign in ((top, 1), (bottom, -1)):
        for dim in part.split("*"):
            if dim and dim != "number":
                out[dim] = out.get(dim, 0) + sign
    return out


def kind_of(found: dict[str, int]) -> str:
    """The inverse of dims: {cell_count: 1} → 'cell_count'; {} → 'number'."""
    top = [d for d, n in sorted(found.items()) for _ in range(max(n, 0))]
    bottom = [d for d, n in sorted(found.items()) for _ in range(max(-n, 0))]
    text = "*".join(top) or "number"
    return f"{text}/{'*'.join(bottom)}" if bottom else text


def _is_product(kind: str) -> bool:
    return "*" in kind or "/" in kind


def word(kind: str) -> str:
    """How a type reads in a message: 'a cell count', 'a cell count × percent'."""
    if kind in WORDS:
        return WORDS[kind]
    top, _, bottom = kind.partition("/")
    text = " × ".join(WORDS.get(d, d)[2:] for d in top.split("*"))
    if bottom:
        text += " per " + " × ".join(WORDS.get(d, d)[2:] for d in bottom.split("*"))
    return "a " + text


def _want_bool(node: Node, scope: Scope, issues: list[Issue]) -> None:
    kind = infer(node, scope, issues)
    if kind not in ("bool", None):
        issues.append((node.pos, f"{_label(node)} is {word(kind)}, not a yes/no "
                                 "condition; compare it with something"))


def _label(node: Node) -> str:
    return f"'{unparse(node)}'"


def _compare_type(node: Compare, scope: Scope, issues: list[Issue]) -> str:
    left, right = infer(node.left, scope, issues), infer(node.right, scope, issues)
    if left is None or right is None:
        return "bool"
    pair = {left, right}
    if node.op in ("==", "!=") and pair <= {"severity", "band"} and left != right:
        return "bool"
    if node.op not in ("==", "!=") and not pair <= set(ORDERED):
        bad = node.left if left not in ORDERED else node.right
        issues.append((bad.pos, f"'{node.op}' compares numbers; {_label(bad)} is "
                                f"{word(left if bad is node.left else right)}"))
        return "bool"
    if left == right:
        return "bool"
    for this, other, other_kind in ((node.left, node.right, right), (node.right, node.left, left)):
        if isinstance(this, Number) and this.unit is None and other_kind in QUANTITIES:
            unit = _unit_hint(other, scope)
            issues.append((this.pos, f"'{unparse(this)}' has no unit; write the unit "
                                     f"of {word(other_kind)[2:]}, e.g. '{unparse(this)} {unit}'"))
            return "bool"
        if isinstance(this, Number) and this.unit is None and other_kind == "percent":
            return "bool"
    if isinstance(node.right, Number) or isinstance(node.left, Number):
        lit, other, lk, ok = ((node.right, node.left, right, left)
                              if isinstance(node.right, Number) else
                              (node.left, node.right, left, right))
        issues.append((lit.pos, f"{_label(lit)} is {word(lk)} but {_label(other)} is "
                                f"{word(ok)}"))
    else:
        issues.append((node.pos, f"cannot compare {_label(node.left)} ({word(left)}) "
                                 f"with {_label(node.right)} ({word(right)})"))
    return "bool"


def _unit_hint(node: Node, scope: Scope) -> str:
    if isinstance(node, Name) and node.name in scope.units:
        return scope.units[node.name]
    return "cells/uL" if infer(node, scope, []) == "cell_count" else "C"
