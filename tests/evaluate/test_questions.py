"""settle_with and the questions: exact (checked here against brute force over many values, not
the regions engine/questions.py reasons with), worded from the data, and never alarming words
without content."""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations, product
from typing import Any

import pytest

from neutropenia_kb import evaluator_for
from neutropenia_kb.core.units import BASE_UNIT, format_quantity
from neutropenia_kb.engine.evaluate import Evaluator
from neutropenia_kb.kb.text import display_units
from neutropenia_kb.render.summary import summary_text as summary

PATIENTS = [
    {"anc": "0.3 10^9/L"},
    {"anc": 2000},
    {"symptoms": ["fever"]},
    {"temperature": 39},
    {"anc": 300, "temperature": "36.6 C"},
    {"anc": 2000, "on_chemotherapy": True},
    {"temperature": "35.5 C", "symptoms": []},
]


@pytest.fixture(scope="module")
def evaluator(kb: Any) -> Evaluator:
    return evaluator_for(kb)  # type: ignore[no-any-return]


def _grid(evaluator: Evaluator) -> dict[str, list[Any]]:
    """Many values per input, chosen without the analysis: around every number the rules
    mention, and symptom lists of up to two symptoms."""
    symptoms = [s.id for s in evaluator.kb.symptoms]
    lists = [frozenset()] + [frozenset(c) for n in (1, 2) for c in combinations(symptoms, n)]
    return {
        "anc": [Fraction(v) for v in (0, 1, 250, 499, 500, 750, 999, 1000, 1499, 1500, 5000)],
        "temperature": [Fraction(v) for v in ("25", "35.9", "36", "37", "37.99", "38", "41")],
        "symptoms": lists,
        "on_chemotherapy": [True, False],
        "age_years": [Fraction(v) for v in ("0.5", "1", "6", "11.9", "12", "40")],
    }


def _depends(evaluator: Evaluator, values: dict[str, Any], missing: list[str],
             grid: dict[str, list[Any]]) -> set[str]:
    decide = evaluator.compiled.decide
    out = set()
    for name in missing:
        others = [m for m in missing if m != name]
        for combo in product(*(grid[m] for m in others)):
            filled = {**values, **dict(zip(others, combo))}
            if len({decide({**filled, name: v}).level for v in grid[name]}) > 1:
                out.add(name)
                break
    return out


@pytest.mark.parametrize("patient", PATIENTS, ids=str)
def test_settle_with_is_exactly_what_can_change_the_level(evaluator: Evaluator,
                                                          patient: dict[str, Any]) -> None:
    result = evaluator.evaluate(patient)
    values = dict(result.patient.values)
    grid = _grid(evaluator)
    missing = [m for m in grid if m not in values and m != "age_years"]
    if "age_years" not in values:
        missing.append("age_years")  # the slowest dimension last: it rarely matters
    assert set(result.settle_with) == _depends(evaluator, values, missing, grid)


def test_fever_symptom_alone_does_not_ask_for_a_temperature(evaluator: Evaluator) -> None:
    result = evaluator.evaluate({"symptoms": ["fever"]})
    assert "temperature" not in result.settle_with
    assert result.settle_with  # still uncertain: the count and chemotherapy matter


def test_questions_are_worded_from_the_thresholds(evaluator: Evaluator) -> None:
    kb = evaluator.kb
    result = evaluator.evaluate({"anc": "0.3 10^9/L"})
    assert result.decided_urgency == "routine" and result.urgency == "emergency"
    fever = next(t for t in kb.thresholds if t.id == "fever_temperature")
    unit = BASE_UNIT["temperature"]
    shown = format_quantity(fever.base_value, unit, display_units(kb, "temperature"))
    wanted = f"If your temperature is {shown} or higher"
    assert (wanted, "emergency") in [(q.when, q.level) for q in result.questions]
    assert all(q.question == kb.input_by_id[q.input].question for q in result.questions)
    levels = [lv.id for lv in kb.levels]
    assert [levels.index(q.level) for q in result.questions] == \
        sorted(levels.index(q.level) for q in result.questions)
    assert result.to_json()["questions"][0].keys() == {"input", "question", "if", "level"}


def test_age_is_asked_only_where_it_changes_something(evaluator: Evaluator) -> None:
    for patient in PATIENTS:
        result = evaluator.evaluate(patient)
        assert "age_years" not in {q.input for q in result.questions}
        assert not result.scope_warnings


@pytest.mark.parametrize("patient", PATIENTS, ids=str)
def test_summary_says_what_is_known_and_what_could_change_it(evaluator: Evaluator,
                                                             patient: dict[str, Any]) -> None:
    result = evaluator.evaluate(patient)
    text = summary(evaluator.kb, result)
    assert "more urgent rule may apply" not in text
    if not result.urgency_certain:
        decided = evaluator.kb.level(result.decided_urgency)
        assert f"Decided on what is known: {decided.title}" in text
        for question in result.questions:
            assert question.when in text


def test_certain_result_has_no_questions(evaluator: Evaluator) -> None:
    result = evaluator.evaluate({"anc": 300, "temperature": 38.5, "symptoms": [],
                                 "on_chemotherapy": True})
    assert result.urgency_certain and result.settle_with == () and result.questions == ()
