"""The cards work out only the findings they quote (Result.findings_of): the same findings, in
the same order, as filtering all of them, on patients drawn across every input."""

from __future__ import annotations

from serve_http import REPO, drawn_patients

from neutropenia_kb import evaluator_for, load
from neutropenia_kb.core.problems import InputError
from neutropenia_kb.serve.cds import CARD_FINDINGS


def test_card_findings_are_the_findings_of_those_kinds() -> None:
    kb = load(REPO / "rules")
    evaluator = evaluator_for(kb)
    kinds_seen: set[str] = set()
    compared = 0
    for patient in drawn_patients(kb, 600):
        try:
            every = evaluator.evaluate(patient).findings
        except InputError:
            continue
        some = evaluator.evaluate(patient).findings_of(CARD_FINDINGS)  # a fresh result
        assert some == tuple(f for f in every if f.kind in CARD_FINDINGS), patient
        kinds_seen |= {f.kind for f in some}
        compared += 1
    assert compared > 400
    assert kinds_seen == set(CARD_FINDINGS)  # each kind was met, not only vacuously equal
