"""The condition language: parser messages, checker messages with file:line:col, the compiler
agreeing with an independent interpreter."""

from __future__ import annotations

import ast
import random
import shutil
from pathlib import Path

import pytest

from neutropenia_kb import evaluate, evaluator_for
from neutropenia_kb.core.units import find_unit
from neutropenia_kb.engine.explain import Explainer
from neutropenia_kb.kb.loader import load_dir
from neutropenia_kb.kb.model import build
from neutropenia_kb.lang.check import check_rules
from neutropenia_kb.lang.parse import ParseError, parse, unparse


@pytest.mark.parametrize("text, pos, message", [
    ("anc < 500 cells/mL", 10, "unknown unit 'cells/mL'; use one of cells/uL, cells/µL, /uL, "
     "cells/mm3, /mm3, 10^9/L, x10^9/L, ×10⁹/L, G/L, C, °C, F, °F, %"),
    ("anc <", 5, "expected a name, a number or '(', found the end of the condition"),
    ("anc = 500 cells/uL", 4, "'=' on its own is not an operator; write '==' to compare"),
    ("0 < anc < 500 cells/uL", 8, "comparisons cannot be chained; write 'a < b and b < c'"),
    ("severity in [mild,]", 18, "expected a name after ',', found ']'"),
    ("has_fever neutropenia", 10, "unexpected 'neutropenia'; join conditions with 'and' or 'or'"),
    ("(has_fever or x", 15, "expected ')' to close the '(' at column 1, found the end of the "
     "condition"),
    ("", 0, "the condition is empty"),
])
def test_parse_errors_name_the_place_and_the_fix(text: str, pos: int, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert (info.value.pos, info.value.message) == (pos, message)


def test_units_stay_on_literals_and_round_trip() -> None:
    text = "anc < 0.5 ×10⁹/L and (temperature >= 100.4 F or symptom(fever, chills))"
    assert unparse(parse(text)) == text


def _broken_kb(tmp_path: Path, rules_dir: Path, file: str, old: str, new: str) -> list[str]:
    root = tmp_path / "rules"
    shutil.copytree(rules_dir, root)
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"the real {file} no longer contains {old!r}; update this test"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    docs, problems = load_dir(root)
    assert not problems
    kb = build(root, docs)
    return [p.render(base=tmp_path) for p in check_rules(kb, docs)]


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_unknown_name_points_inside_the_expression(tmp_path: Path, rules_dir: Path) -> None:
    problems = _broken_kb(tmp_path, rules_dir, "urgency.yaml", "when: has_fever and neutropenia",
                          "when: has_fevr and neutropenia")
    line = _line_of(tmp_path / "rules" / "urgency.yaml", "when: has_fevr and neutropenia")
    assert problems == [f"rules/urgency.yaml:{line}:11: error: rules[0].when: unknown name "
                        "'has_fevr'; did you mean 'has_fever'?"]


def test_comparing_a_count_with_a_temperature_literal(tmp_path: Path, rules_dir: Path) -> None:
    problems = _broken_kb(tmp_path, rules_dir, "severity.yaml", "when: age_years < 1",
                          "when: anc < 38 C")
    line = _line_of(tmp_path / "rules" / "severity.yaml", "when: anc < 38 C")
    assert problems == [f"rules/severity.yaml:{line}:17: error: out_of_scope[0].when: '38 C' is a "
                        "temperature but 'anc' is a cell count"]


def test_comparing_inputs_of_different_dimensions(tmp_path: Path, rules_dir: Path) -> None:
    problems = _broken_kb(tmp_path, rules_dir, "severity.yaml", "when: age_years < 1",
                          "when: anc > temperature")
    assert [p.split(": error: ")[1] for p in problems] == [
        "out_of_scope[0].when: cannot compare 'anc' (a cell count) with 'temperature' "
        "(a temperature)"]


def test_bare_number_next_to_a_count_needs_its_unit(tmp_path: Path, rules_dir: Path) -> None:
    problems = _broken_kb(tmp_path, rules_dir, "severity.yaml", "when: age_years < 1",
                          "when: anc < 500")
    assert [p.split(": error: ")[1] for p in problems] == [
        "out_of_scope[0].when: '500' has no unit; write the unit of cell count, "
        "e.g. '500 cells/uL'"]


def test_unknown_symptom_and_band(tmp_path: Path, rules_dir: Path) -> None:
    problems = _broken_kb(tmp_path, rules_dir, "inputs.yaml", "when: severity in [mild, moderate, severe]",
                          "when: severity in [mild, moderat] and symptom(feverr)")
    assert [p.split(": error: ")[1] for p in problems] == [
        "facts[1].when: 'moderat' is not a severity band; did you mean 'moderate'?; the bands "
        "are normal, mild, moderate, severe",
        "facts[1].when: unknown symptom 'feverr'; did you mean 'fever'?"]


def test_band_gap_is_reported(tmp_path: Path, rules_dir: Path) -> None:
    problems = _broken_kb(tmp_path, rules_dir, "severity.yaml", "from: 1000", "from: 1100")
    assert [p.split(": error: ")[1] for p in problems] == [
        "severity.bands[1]: gap between bands 'moderate' and 'mild': counts from 1000 to below "
        "1100 cells/uL are in no band"]


def test_circular_facts_are_reported(tmp_path: Path, rules_dir: Path) -> None:
    problems = _broken_kb(tmp_path, rules_dir, "inputs.yaml", "when: any_symptom()",
                          "when: any_symptom() and infection_symptom")
    assert any("circular facts: infection_symptom → infection_symptom" in p for p in problems)


def test_real_rules_have_no_rule_problems(kb, rules_dir: Path) -> None:  # type: ignore[no-untyped-def]
    docs, _ = load_dir(rules_dir)
    assert check_rules(kb, docs) == []


def test_compiled_code_agrees_with_the_interpreter(kb) -> None:  # type: ignore[no-untyped-def]
    """The generated function and the plain AST interpreter are written independently."""
    rng = random.Random(1)
    symptoms = [s.id for s in kb.symptoms]
    evaluator = evaluator_for(kb)
    program = evaluator.program
    unit = find_unit(kb.severity.unit)
    assert unit is not None
    seen_bands: set[str | None] = set()
    seen_scope: set[str] = set()
    for _ in range(400):
        patient = {k: v for k, v in {
            "anc": rng.choice([None, 0, 499, 500, 999, 1000, 1499, 1500, 4000]),
            "temperature": rng.choice([None, "37.9 C", "38 C", "100.3 F", "100.4 F"]),
            "symptoms": rng.choice([None, [], rng.sample(symptoms, 2)]),
            "on_chemotherapy": rng.choice([None, True, False]),
            "age_years": rng.choice([None, 0.5, 1, 40]),
        }.items() if v is not None}
        result = evaluate(kb, patient)
        decision = result.decision
        explainer = Explainer(kb, program, evaluator.authored, result.patient, decision)
        anc = result.patient.values.get(kb.severity.input)
        band = None if anc is None else next(
            b.id for b in kb.severity.bands
            if (b.lower is None or anc >= unit.to_base(b.lower))
            and (b.below is None or anc < unit.to_base(b.below)))
        assert decision.severity == band, patient
        for owners, values in ((program.rules, decision.rules), (program.facts, decision.facts),
                               (program.limits, decision.scope)):
            for owner, value in zip(owners, values):
                assert explainer.truth(explainer.nodes[owner.id]) is value, (patient, owner.id)
        advice = {a.id for a in (*kb.tests, *kb.treatments, *kb.precautions)
                  if not a.applies_when or explainer.truth(explainer.nodes[a.id]) is not False}
        assert decision.advice == advice, patient
        seen_bands.add(band)
        seen_scope.update(o.id for o, v in zip(program.limits, decision.scope) if v)
    assert seen_bands >= {b.id for b in kb.severity.bands} and seen_scope  # the draws reach them


def test_generated_source_never_contains_authored_text(kb) -> None:  # type: ignore[no-untyped-def]
    """Every value reaches the generated code as a named constant, never as a literal."""
    tree = ast.parse(evaluator_for(kb).compiled.source)
    literals = [n.value for n in ast.walk(tree)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert literals == []
