"""The compiled form of the rules: one typed, backend-neutral program built once from the KB.

Every engine (the Python code generator, SQL, JavaScript, ELM) reads this and nothing else of
the rules; DESIGN.md ("The compiled form and its semantics") is the contract each keeps.
Conditions are small trees of the node classes below; numbers are exact Fractions in the
input's base unit, and every comparison of an input with a constant also carries that
constant in each accepted unit, so a backend can compare a raw value in its own unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Iterator, Mapping, NamedTuple, Union

from neutropenia_kb.core.units import BASE_UNIT, UNITS, Unit, find_unit
from neutropenia_kb.engine.compile import CompileError, fact_order, literal_value
from neutropenia_kb.engine.conditions import (
    ARITH_OPS,
    COMPARE_OPS,
    And,
    AnySymptom,
    Arith,
    Compare,
    Cond,
    Const,
    FactRef,
    InputRef,
    InSet,
    Known,
    Node,
    Not,
    Or,
    SeverityRef,
    SymptomAny,
    Value,
    children,
    walk,
)
from neutropenia_kb.kb.fingerprint import fingerprint
from neutropenia_kb.lang import parse as ast
from neutropenia_kb.lang.check import Scope

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import Input, KnowledgeBase

__all__ = [  # the conditions are part of the form: backends import everything from here
    "ARITH_OPS", "COMPARE_OPS", "And", "AnySymptom", "Arith", "Compare", "Cond", "Const",
    "FactRef", "InputRef", "InSet", "Known", "Node", "Not", "Or", "SeverityRef", "SymptomAny",
    "Value", "children", "walk", "Tri", "UnitDef", "InputDef", "BandDef", "SeverityDef",
    "FactDef", "LimitDef", "LevelDef", "RuleDef", "AdviceDef", "DerivedDef", "Program",
    "Decision", "build_program", "unit_def"]

Tri = Union[bool, None]  # Kleene: True, False, or None for unknown
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


# ---- units and inputs ------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitDef:
    """base value = value × scale + offset, exactly (°F: scale 5/9, offset −160/9)."""

    name: str  # canonical spelling: "cells/uL", "10^9/L", "C", "F", "%"
    symbol: str  # as a patient reads it: "cells/µL"
    dimension: str
    scale: Fraction  # always > 0, so a conversion never flips a comparison
    offset: Fraction

    def to_base(self, value: Fraction) -> Fraction:
        return value * self.scale + self.offset

    def from_base(self, value: Fraction) -> Fraction:
        return (value - self.offset) / self.scale


@dataclass(frozen=True)
class InputDef:
    id: str
    type: str  # as declared: quantity | percent | number | boolean | symptoms
    value_type: str  # the checker's type word: cell_count, temperature, percent, number, bool, symptoms
    base_unit: UnitDef | None  # values are held and compared in this unit
    default_unit: UnitDef | None  # a bare number is in this unit
    units: tuple[UnitDef, ...]  # every accepted unit, the default first
    min: Fraction | None  # plausible range, inclusive, in the base unit
    max: Fraction | None
    # A bare number above 0 and below this (in default_unit, as written) is refused as
    # ambiguous when it is also within min..max in another unit (inputs.yaml `bare_number`).
    ambiguous_below: Fraction | None = None

    def unit(self, name: str) -> UnitDef:
        return next(u for u in self.units if u.name == name)


# ---- the program -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BandDef:
    id: str
    lower: Fraction | None  # inclusive (value ≥ lower), base unit; None: no lower edge
    below: Fraction | None  # exclusive (value < below), base unit; None: no upper edge


@dataclass(frozen=True)
class SeverityDef:
    input: str
    bands: tuple[BandDef, ...]  # lowest first; they neither overlap nor leave gaps (checked)


@dataclass(frozen=True)
class FactDef:
    id: str
    when: Cond
    deps: frozenset[str]


@dataclass(frozen=True)
class LimitDef:
    """Out of scope: when it holds (or may hold) the bands may not apply."""

    id: str
    when: Cond
    deps: frozenset[str]


@dataclass(frozen=True)
class LevelDef:
    id: str
    rank: int  # 0 = most urgent


@dataclass(frozen=True)
class RuleDef:
    id: str
    level: str
    rank: int  # the level's rank
    when: Cond
    deps: frozenset[str]


@dataclass(frozen=True)
class AdviceDef:
    id: str
    kind: str  # test | treatment | precaution
    when: Cond | None  # None: always applies
    deps: frozenset[str]


@dataclass(frozen=True)
class DerivedDef:
    """A derived input declared in inputs.yaml (``derived``): when ``input`` is not given and
    every input of ``when_given`` is, its value is ``expr`` (exact arithmetic in base units),
    each input of ``zero_when_missing`` counting as 0 when not given. The inputs of
    ``add_up_to_100`` are percents of one whole: more than 100 in all is an input error. Every
    backend reads the derivation from here; it is applied before the rules run."""

    input: str
    expr: Value
    when_given: tuple[str, ...] = ()
    zero_when_missing: tuple[str, ...] = ()
    add_up_to_100: tuple[str, ...] = ()


@dataclass(frozen=True)
class Program:
    kb_id: str
    version: str
    fingerprint: str  # the decisions fingerprint of diff.fingerprint / review.py
    inputs: tuple[InputDef, ...]
    derived: tuple[DerivedDef, ...]
    symptoms: tuple[str, ...]  # every symptom id
    severity: SeverityDef
    facts: tuple[FactDef, ...]  # dependency order: a fact only reads facts before it
    limits: tuple[LimitDef, ...]
    levels: tuple[LevelDef, ...]  # most urgent first
    rules: tuple[RuleDef, ...]
    advice: tuple[AdviceDef, ...]  # tests, then treatments, then precautions

    @cached_property
    def input_by_id(self) -> Mapping[str, InputDef]:
        return {i.id: i for i in self.inputs}

    @cached_property
    def deps(self) -> Mapping[str, frozenset[str]]:
        """Owner id (fact, limit, rule, advice with a condition) → the inputs it reads."""
        return {owner: cond.deps for owner, _kind, cond in self.conditions()}

    def conditions(self) -> Iterator[tuple[str, str, Cond]]:
        """(owner id, kind, condition) for every condition: facts, limits, rules, advice."""
        for fact in self.facts:
            yield fact.id, "fact", fact.when
        for limit in self.limits:
            yield limit.id, "scope", limit.when
        for rule in self.rules:
            yield rule.id, "urgency_rule", rule.when
        for item in self.advice:
            if item.when is not None:
                yield item.id, item.kind, item.when


class Decision(NamedTuple):
    """What every backend decides for one patient; tuples follow the program's order."""

    severity: str | None  # band id; None without a count
    facts: tuple[Tri, ...]  # Program.facts order
    scope: tuple[Tri, ...]  # Program.limits order
    rules: tuple[Tri, ...]  # Program.rules order
    level: int  # rank of the answered level (the cautious one)
    certain: bool  # level == decided_level
    advice: frozenset[str]
    decided_level: int  # rank of the most urgent level with a true rule (least urgent if none)


# ---- building --------------------------------------------------------------------------------


def unit_def(unit: Unit) -> UnitDef:
    """units.py keeps conversions as functions; every one is affine, so two points give it."""
    offset = unit.to_base(Fraction(0))
    scale = unit.to_base(Fraction(1)) - offset
    if scale <= 0 or unit.to_base(Fraction(7)) != 7 * scale + offset:
        raise CompileError(f"unit '{unit.name}' is not an increasing linear conversion")
    return UnitDef(unit.name, unit.symbol, unit.dimension, scale, offset)


def _input_def(inp: "Input", value_type: str) -> InputDef:
    dimension = inp.dimension or ("percent" if inp.type == "percent" else None)
    base = BASE_UNIT.get(dimension or "")
    default = find_unit(inp.unit) if inp.unit else base
    if inp.accepted_units:
        found = [find_unit(name) for name in inp.accepted_units]
        accepted = [u for u in found if u is not None]
    else:  # as patient.py reads them: any unit of the dimension
        accepted = list({id(u): u for u in UNITS.values() if u.dimension == dimension}.values())
    if default is not None:
        accepted = [default] + [u for u in accepted if u is not default]
    to_base = default.to_base if default else (lambda v: v)
    return InputDef(
        inp.id, inp.type, value_type, unit_def(base) if base else None,
        unit_def(default) if default else None, tuple(unit_def(u) for u in accepted),
        None if inp.min is None else to_base(inp.min),
        None if inp.max is None else to_base(inp.max), inp.ambiguous_below)


class _Builder:
    def __init__(self, kb: "KnowledgeBase", inputs: Mapping[str, InputDef]) -> None:
        self.scope = Scope.from_kb(kb)
        self.inputs = inputs
        self.severity_input = kb.severity.input
        self.fact_deps: dict[str, frozenset[str]] = {}  # filled in dependency order

    def value(self, node: ast.Node, other: ast.Node | None) -> Value | Cond:
        scope = self.scope
        if isinstance(node, ast.Number):
            kind = "number"
            if node.unit:
                unit = find_unit(node.unit)
                kind = unit.dimension if unit else "number"
            elif isinstance(other, ast.Name) and other.name in scope.inputs:
                kind = scope.inputs[other.name]
            return Const(Fraction(literal_value(node, other, scope)), kind)
        if isinstance(node, ast.Bool):
            return Const(node.value, "bool")
        if isinstance(node, ast.Name):
            name = node.name
            if name in scope.thresholds:
                kind, base = scope.thresholds[name]
                return Const(base, kind, name)
            if name in scope.facts:
                return FactRef(name, self.fact_deps[name])
            if name == "severity":
                return SeverityRef(self.severity_input)
            if name in scope.bands:
                return Const(name, "band")
            if name in scope.inputs:
                return InputRef(name, scope.inputs[name])
            raise CompileError(f"unknown name '{name}'")  # the checker has refused it already
        return self.cond(node)

    def arith(self, node: ast.Node) -> Value:
        """A derived input's formula: inputs, literals in base units, and + - * /."""
        if isinstance(node, ast.Arith):
            return Arith(node.op, self.arith(node.left), self.arith(node.right))
        if isinstance(node, ast.Number):
            return Const(Fraction(literal_value(node, None, self.scope)), "number")
        made = self.value(node, None)
        if not isinstance(made, InputRef):  # the checker allows only inputs and literals
            raise CompileError("a formula reads only inputs and numbers")
        return made

    def cond(self, node: ast.Node) -> Cond:
        if isinstance(node, ast.And):
            return And(tuple(self.cond(i) for i in node.items))
        if isinstance(node, ast.Or):
            return Or(tuple(self.cond(i) for i in node.items))
        if isinstance(node, ast.Not):
            return Not(self.cond(node.operand))
        if isinstance(node, ast.Call):
            if node.func == "known":
                return Known(node.args[0].name)
            if node.func == "any_symptom":
                return AnySymptom()
            return SymptomAny(tuple(a.name for a in node.args))
        if isinstance(node, ast.In):
            return InSet(self.value(node.left, None), tuple(n.name for n in node.names))  # type: ignore[arg-type]
        if isinstance(node, ast.Compare):
            return self.compare(node)
        made = self.value(node, None)
        if (isinstance(made, (Const, InputRef)) and made.type != "bool") or \
                isinstance(made, (SeverityRef, Arith)):
            raise CompileError("a value is not a yes/no condition")  # the checker refuses it
        return made

    def compare(self, node: ast.Compare) -> Compare:
        if node.op not in COMPARE_OPS:  # the parser makes no other; never pass anything else on
            raise CompileError(f"unknown comparison '{node.op}'")
        left = self.value(node.left, node.right)
        right = self.value(node.right, node.left)
        op = node.op
        if isinstance(right, InputRef) and not isinstance(left, InputRef):
            left, right, op = right, left, _MIRROR[op]
        in_units: dict[str, Fraction] = {}
        if isinstance(left, InputRef) and isinstance(right, Const) and \
                isinstance(right.value, Fraction) and not isinstance(right.value, bool):
            for unit in self.inputs[left.input].units:
                in_units[unit.name] = unit.from_base(right.value)
        return Compare(op, left, right, in_units)  # type: ignore[arg-type]


def build_program(kb: "KnowledgeBase") -> Program:
    """The compiled form of ``kb`` (a validated knowledge base). Build once; it is immutable."""
    scope = Scope.from_kb(kb)
    inputs = tuple(_input_def(i, scope.inputs.get(i.id, i.type)) for i in kb.inputs)
    builder = _Builder(kb, {i.id: i for i in inputs})
    parsed = {f.id: ast.parse(f.when) for f in kb.facts}
    facts = []
    by_id = {f.id: f for f in kb.facts}
    for fid in fact_order(kb, parsed):
        when = builder.cond(parsed[fid])
        builder.fact_deps[fid] = when.deps
        facts.append(FactDef(by_id[fid].id, when, when.deps))
    limits = []
    for limit in kb.severity.out_of_scope:
        when = builder.cond(ast.parse(limit.when))
        limits.append(LimitDef(limit.id, when, when.deps))
    levels = tuple(LevelDef(lv.id, i) for i, lv in enumerate(kb.levels))
    rank = {lv.id: lv.rank for lv in levels}
    rules = []
    for rule in kb.urgency_rules:
        when = builder.cond(ast.parse(rule.when))
        rules.append(RuleDef(rule.id, rule.level, rank.get(rule.level, len(levels) - 1), when,
                             when.deps))
    advice = []
    for item in (*kb.tests, *kb.treatments, *kb.precautions):
        cond = builder.cond(ast.parse(item.applies_when)) if item.applies_when else None
        advice.append(AdviceDef(item.id, item.kind, cond,
                                cond.deps if cond is not None else frozenset()))
    derived = tuple(
        DerivedDef(d.id, builder.arith(ast.parse(d.formula)), d.when_given, d.zero_when_missing,
                   d.add_up_to_100) for d in kb.derived)
    return Program(kb.meta.id, kb.meta.version, fingerprint(kb), inputs, derived,
                   tuple(s.id for s in kb.symptoms), _severity(kb), tuple(facts), tuple(limits),
                   levels, tuple(rules), tuple(advice))


def _severity(kb: "KnowledgeBase") -> SeverityDef:
    unit = find_unit(kb.severity.unit)
    to_base = unit.to_base if unit else (lambda v: v)
    bands = [BandDef(b.id, None if b.lower is None else to_base(b.lower),
                     None if b.below is None else to_base(b.below)) for b in kb.severity.bands]
    bands.sort(key=lambda b: (b.lower is not None, b.lower or 0))
    return SeverityDef(kb.severity.input, tuple(bands))
