"""The compiled form (engine/program.py) and its Python backend, checked against a small
reference interpreter of the form written here, straight from DESIGN.md's semantics."""

from __future__ import annotations

import ast
import dataclasses
import itertools
import operator
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Mapping

import pytest

import neutropenia_kb
from neutropenia_kb import evaluate, evaluator_for
from neutropenia_kb.engine.program import (
    And,
    AnySymptom,
    Compare,
    Cond,
    Const,
    Decision,
    FactRef,
    InputRef,
    InSet,
    Known,
    Not,
    Or,
    Program,
    SeverityRef,
    SymptomAny,
    Value,
    build_program,
    walk,
)
from neutropenia_kb.engine.python_backend import compile_python
from neutropenia_kb.kb.fingerprint import fingerprint
from neutropenia_kb.kb.model import KnowledgeBase

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "minimal"
REPO = Path(__file__).resolve().parents[2]
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
    "!=": operator.ne}


# ---- the reference interpreter: plain recursive Kleene evaluation ---------------------------


class Reference:
    def __init__(self, program: Program, values: Mapping[str, Any]) -> None:
        self.values = values
        anc = values.get(program.severity.input)
        self.severity = None if anc is None else next(
            (b.id for b in program.severity.bands
             if (b.lower is None or anc >= b.lower) and (b.below is None or anc < b.below)), None)
        self.facts: dict[str, bool | None] = {}
        for fact in program.facts:
            self.facts[fact.id] = self.truth(fact.when)

    def value(self, node: Value | Cond) -> Any:
        if isinstance(node, Const):
            return node.value
        if isinstance(node, InputRef):
            return self.values.get(node.input)
        if isinstance(node, SeverityRef):
            return self.severity
        return self.truth(node)

    def truth(self, node: Cond) -> bool | None:
        if isinstance(node, (Const, InputRef)):
            return self.value(node)  # type: ignore[no-any-return]
        if isinstance(node, FactRef):
            return self.facts[node.fact]
        if isinstance(node, Known):
            return node.input in self.values
        symptoms = self.values.get("symptoms")
        if isinstance(node, AnySymptom):
            return None if symptoms is None else len(symptoms) > 0
        if isinstance(node, SymptomAny):
            return None if symptoms is None else any(s in symptoms for s in node.symptoms)
        if isinstance(node, Not):
            inner = self.truth(node.operand)
            return None if inner is None else not inner
        if isinstance(node, And):
            items = [self.truth(i) for i in node.items]
            return False if False in items else None if None in items else True
        if isinstance(node, Or):
            items = [self.truth(i) for i in node.items]
            return True if True in items else None if None in items else False
        if isinstance(node, InSet):
            value = self.value(node.value)
            return None if value is None else value in node.members
        assert isinstance(node, Compare)
        left, right = self.value(node.left), self.value(node.right)
        return None if left is None or right is None else _OPS[node.op](left, right)


def reference_decision(program: Program, values: Mapping[str, Any]) -> Decision:
    ref = Reference(program, values)
    rules = tuple(ref.truth(r.when) for r in program.rules)
    least = len(program.levels) - 1
    decided = min((r.rank for r, v in zip(program.rules, rules) if v is True), default=least)
    unknown = min((r.rank for r, v in zip(program.rules, rules) if v is None),
                  default=len(program.levels))
    level = min(decided, unknown)
    advice = frozenset(a.id for a in program.advice
                       if a.when is None or ref.truth(a.when) is not False)
    return Decision(ref.severity, tuple(ref.facts[f.id] for f in program.facts),
                    tuple(ref.truth(s.when) for s in program.limits), rules, level,
                    level == decided, advice, decided)


# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_kb() -> KnowledgeBase:
    return neutropenia_kb.load(FIXTURE)


def _grid(program: Program) -> list[dict[str, Any]]:
    """Every combination of values at and around each edge, each input also missing."""
    c = Fraction
    axes: dict[str, list[Any]] = {
        "anc": [0, 499, 500, c(1999, 2), 1000, 1499, 1500, 4000],
        "temperature": [c(379, 10), 38, (c(1003, 10) - 32) * c(5, 9), c(381, 10)],
        "symptoms": [frozenset(), frozenset({"fever"}), frozenset({"mouth_sores"}),
                     frozenset({"fatigue", "cough"})],
        "on_chemotherapy": [True, False],
        "age_years": [c(1, 2), 1, 40],
    }
    declared = {i.id for i in program.inputs}
    axes = {k: [None, *v] for k, v in axes.items() if k in declared}
    patients = []
    for combo in itertools.product(*axes.values()):
        patients.append({k: v for k, v in zip(axes, combo) if v is not None})
    return patients


# ---- the form --------------------------------------------------------------------------------


def test_the_form_of_the_real_rules(kb: KnowledgeBase) -> None:
    program = build_program(kb)
    assert program.fingerprint == fingerprint(kb) and program.version == kb.meta.version
    anc = program.input_by_id["anc"]
    assert (anc.base_unit and anc.base_unit.name, [(u.name, u.scale, u.offset) for u in anc.units]
            ) == ("cells/uL", [("cells/uL", 1, 0), ("10^9/L", 1000, 0)])
    assert (anc.min, anc.max) == (0, 100000)
    temperature = program.input_by_id["temperature"]
    assert [(u.name, u.scale, u.offset) for u in temperature.units] == [
        ("C", 1, 0), ("F", Fraction(5, 9), Fraction(-160, 9))]
    assert [(b.id, b.lower, b.below) for b in program.severity.bands] == [
        ("severe", None, 500), ("moderate", 500, 1000), ("mild", 1000, 1500),
        ("normal", 1500, None)]
    assert [lv.id for lv in program.levels] == [lv.id for lv in kb.levels]
    for rule, authored in zip(program.rules, kb.urgency_rules):
        assert (rule.id, program.levels[rule.rank].id) == (authored.id, authored.level)
    seen: set[str] = set()
    for fact in program.facts:  # dependency order: a fact reads only facts before it
        assert {n.fact for n in walk(fact.when) if isinstance(n, FactRef)} <= seen
        seen.add(fact.id)
    fever_rule = next(r for r in program.rules if r.id == "fever_with_neutropenia")
    assert fever_rule.deps == {"temperature", "symptoms", "anc"} == program.deps[fever_rule.id]
    assert {a.id for a in program.advice} == {
        a.id for a in (*kb.tests, *kb.treatments, *kb.precautions)}


def test_every_comparison_carries_its_constant_exactly_in_each_unit(kb: KnowledgeBase,
                                                                   fixture_kb: KnowledgeBase
                                                                   ) -> None:
    checked = 0
    for program in (build_program(kb), build_program(fixture_kb)):
        for _owner, _kind, cond in program.conditions():
            for node in walk(cond):
                if isinstance(node, Compare) and isinstance(node.left, InputRef) and \
                        isinstance(node.right, Const) and isinstance(node.right.value, Fraction):
                    inp = program.input_by_id[node.left.input]
                    assert set(node.in_units) == {u.name for u in inp.units}
                    for name, value in node.in_units.items():
                        assert inp.unit(name).to_base(value) == node.right.value
                        checked += 1
    assert checked >= 4
    fever = next(f for f in build_program(kb).facts if f.id == "has_fever")
    compare = next(n for n in walk(fever.when) if isinstance(n, Compare))
    assert dict(compare.in_units) == {"C": 38, "F": Fraction("100.4")}
    assert compare.right == Const(Fraction(38), "temperature", "fever_temperature")


def _kb_with(tmp_path: Path, rules_dir: Path, old: str, new: str) -> KnowledgeBase:
    root = tmp_path / "rules"
    shutil.copytree(rules_dir, root)
    path = root / "severity.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, "the real severity.yaml changed; update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return neutropenia_kb.load(root)


def test_a_constant_on_the_left_is_turned_round_and_converted(tmp_path: Path,
                                                              rules_dir: Path) -> None:
    kb = _kb_with(tmp_path, rules_dir, "when: age_years < 1", "when: 0.5 x10^9/L > anc")
    limit = build_program(kb).limits[0]
    assert limit.when == Compare("<", InputRef("anc", "cell_count"),
                                 Const(Fraction(500), "cell_count"))
    assert dict(limit.when.in_units) == {"cells/uL": 500, "10^9/L": Fraction(1, 2)}  # type: ignore[union-attr]
    assert limit.deps == {"anc"}


# ---- the Python backend against the reference --------------------------------------------------


@pytest.mark.parametrize("which", ["real", "fixture"])
def test_python_backend_equals_the_reference_on_a_grid(which: str, kb: KnowledgeBase,
                                                       fixture_kb: KnowledgeBase) -> None:
    program = build_program(kb if which == "real" else fixture_kb)
    decide = compile_python(program).decide
    patients = _grid(program)
    assert len(patients) >= 200
    levels = set()
    for values in patients:
        got = decide(values)
        assert got == reference_decision(program, values), values
        levels.add((got.level, got.certain))
    assert len(levels) >= 3  # the grid reaches several levels, certain and not


def _with_rule(program: Program, when: Cond) -> Program:
    rule = dataclasses.replace(program.rules[0], when=when, deps=when.deps)
    return dataclasses.replace(program, rules=(rule, *program.rules[1:]))


def test_long_and_deep_conditions_compile_and_evaluate(kb: KnowledgeBase) -> None:
    """200 `or` terms and 100 nested `not`s stay within Python's parser limits."""
    program = build_program(kb)
    temp = InputRef("temperature", "temperature")
    terms = tuple(Compare(">=", temp, Const(Fraction(3600 + i, 100), "temperature"))
                  for i in range(200))
    deep: Cond = Compare("<", InputRef("anc", "cell_count"), Const(Fraction(500), "cell_count"))
    for _ in range(100):
        deep = Not(deep)
    nested_and: Cond = SymptomAny(("fever",))
    for _ in range(60):
        nested_and = And((SymptomAny(("cough",)), Or((Known("anc"), nested_and))))
    for when in (Or(terms), And(terms), deep, And((Or(terms), deep)), nested_and):
        changed = _with_rule(program, when)
        compiled = compile_python(changed)
        tree = ast.parse(compiled.source)
        assert not [n for n in ast.walk(tree)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        for values in _grid(changed)[::7]:
            assert compiled.decide(values) == reference_decision(changed, values), values


def test_decisions_are_named(kb: KnowledgeBase) -> None:
    result = evaluate(kb, {"anc": "0.4 x10^9/L", "temperature": "100.4 F"})
    decision = result.decision
    assert isinstance(decision, Decision)
    assert (decision.severity, decision.certain, result.urgency) == ("severe", True, "emergency")
    assert decision.facts[[f.id for f in evaluator_for(kb).program.facts].index("has_fever")] is True


def test_derived_inputs_are_in_the_compiled_form() -> None:
    """The ANC derivation declared in inputs.yaml reaches every backend through Program.derived."""
    from neutropenia_kb.engine.conditions import Arith, InputRef

    program = build_program(neutropenia_kb.load(REPO / "rules"))
    [anc] = program.derived
    assert anc.input == "anc"
    assert anc.when_given == ("wbc", "neutrophils_percent")
    assert anc.zero_when_missing == ("bands_percent",)
    assert isinstance(anc.expr, Arith) and anc.expr.op == "/"
    assert anc.expr.deps == frozenset({"wbc", "neutrophils_percent", "bands_percent"})
    assert isinstance(anc.expr.left, Arith) and isinstance(anc.expr.left.left, InputRef)
