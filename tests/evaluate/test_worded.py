"""Findings worded once per region (engine/worded.py) are the findings the interpreter words for
each patient: same findings, order, words, sources and certainty, on every rule case, the
boundary grid, a lab feed and adversarial patients whose values are all distinct."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Collection, Iterator

import pytest
from tests.engine.sql_rows import grid, lab_feed, patients

from neutropenia_kb.core.problems import InputError
from neutropenia_kb.engine.cases import case_files, load_cases
from neutropenia_kb.engine.evaluate import Evaluator, Result
from neutropenia_kb.engine.explain import Explainer
from neutropenia_kb.engine.worded import MARK, Worded
from neutropenia_kb.serve.cds import CARD_FINDINGS

CASES = Path(__file__).resolve().parents[1] / "cases"
KINDS: list[Collection[str] | None] = [None, CARD_FINDINGS, {"precaution"}]


def _patients(evaluator: Evaluator) -> Iterator[Any]:
    for path in case_files([CASES]):
        cases, _ = load_cases(path)
        yield from (case.inputs for case in cases)
    yield from grid(evaluator.program)
    symptoms = evaluator.program.symptoms
    yield from lab_feed(3, 2000, symptoms)
    yield from patients(5, 2000, symptoms)


def _explain_lab_feed(evaluator: Evaluator, seed: int, rows: int,
                      holds: Callable[[], bool] = lambda: True) -> None:
    """Every lab-feed patient's findings worked out (bad rows skipped); ``holds`` after each."""
    for patient in lab_feed(seed, rows, evaluator.program.symptoms):
        try:
            evaluator.evaluate(patient).findings  # noqa: B018
        except InputError:
            continue
        assert holds()


def _interpreted(evaluator: Evaluator, result: Result, kinds: Collection[str] | None) -> Any:
    fresh = Explainer(evaluator.kb, evaluator.program, evaluator.authored, result.patient,
                      result.decision)
    return fresh.findings(result, kinds)


@pytest.mark.parametrize("kinds", KINDS, ids=["all", "card", "precaution"])
def test_worded_findings_are_the_interpreters(kb: Any, kinds: Collection[str] | None) -> None:
    evaluator = Evaluator(kb)
    compared = 0
    for patient in _patients(evaluator):
        try:
            result = evaluator.evaluate(patient)
        except InputError:
            continue
        worded = result.findings_of(kinds) if kinds is not None else result.findings
        assert worded == _interpreted(evaluator, result, kinds), patient
        compared += 1
    templates = evaluator.worded.templates
    # The comparison is a real one: every patient after the first of its key (over 1,500
    # here) was answered from a template with its own values filled in, and no key fell back
    # to the interpreter.
    assert compared > 3500 and compared - len(templates) > 1500, (compared, len(templates))
    assert None not in templates.values()
    assert any(len(entry[3]) > 1 for template in templates.values() if template
               for entry in template)  # some words have a slot for a value


def test_templates_are_left_out_of_garbage_collection(kb: Any) -> None:
    """Plain tuples of strings, ints and bools: once the collector has seen them it stops
    tracking them, so a full cache adds nothing to a full collection's pause."""
    import gc

    evaluator = Evaluator(kb)
    _explain_lab_feed(evaluator, 4, 300)
    gc.collect()
    gc.collect()  # a tuple is let go once its items are: the entries first, then the template
    templates = [t for t in evaluator.worded.templates.values() if t]
    assert len(templates) > 20
    inner = [x for t in templates for e in t for x in (e, *e, *e[4]) if gc.is_tracked(x)]
    assert not inner, inner[:3]
    # (CPython lets a few go only at a later collection; the bulk is the entries)
    assert sum(gc.is_tracked(t) for t in templates) < len(templates) / 10


def test_a_value_is_quoted_as_its_own_patients(kb: Any) -> None:
    """Two counts in one region: each finding quotes its own patient's count."""
    evaluator = Evaluator(kb)
    first = evaluator.evaluate({"anc": "800", "temperature": "36.8"}).findings
    second = evaluator.evaluate({"anc": "900", "temperature": "36.9"}).findings
    assert [f.id for f in first] == [f.id for f in second]
    assert any("800 cells/µL" in f.because for f in first)
    assert not any("800 cells/µL" in f.because for f in second)
    assert any("900 cells/µL" in f.because for f in second)
    assert not any(MARK in f.because for f in (*first, *second))


def test_without_a_region_key_every_patient_is_interpreted(kb: Any) -> None:
    evaluator = Evaluator(kb)
    evaluator.__dict__["worded"] = Worded(None)
    result = evaluator.evaluate({"anc": "400", "temperature": "38.4"})
    assert result.findings == _interpreted(evaluator, result, None)
    assert evaluator.worded.templates == {}


def test_templates_are_bounded(kb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from neutropenia_kb.engine import worded

    monkeypatch.setattr(worded, "TEMPLATES", 5)
    evaluator = Evaluator(kb)
    _explain_lab_feed(evaluator, 8, 400, lambda: len(evaluator.worded.templates) <= 5)
