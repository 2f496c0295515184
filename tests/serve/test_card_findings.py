"""The cards work out only the findings they quote (Result.findings_of): the same findings, in
the same order, as filtering all of them, on patients drawn across every input."""

from __future__ import annotations

import random
from typing import Any

from serve_http import REPO

from neutropenia_kb import evaluator_for, load
from neutropenia_kb.core.problems import InputError
from neutropenia_kb.serve.cds import CARD_FINDINGS


def patients(kb: Any, count: int, seed: int = 16) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    symptoms = [s.id for s in kb.symptoms]
    out: list[dict[str, Any]] = []
    while len(out) < count:
        patient: dict[str, Any] = {}
        if rng.random() < 0.7:
            patient["anc"] = rng.choice([f"{rng.randint(0, 4000)} cells/uL",
                                         f"{rng.randint(0, 40) / 10} x10^9/L"])
        elif rng.random() < 0.5:
            patient["wbc"] = f"{rng.randint(5, 90) / 10} x10^9/L"
            patient["neutrophils_percent"] = rng.randint(0, 80)
        if rng.random() < 0.7:
            patient["temperature"] = rng.choice(["36.6 C", "37.9 C", "38.0 C", "38.6 C",
                                                 "100.4 F", "95 F"])
        if rng.random() < 0.6:
            patient["symptoms"] = rng.sample(symptoms, rng.randint(0, 3))
        if rng.random() < 0.5:
            patient["on_chemotherapy"] = rng.random() < 0.5
        if rng.random() < 0.4:
            patient["age_years"] = rng.choice([0.2, 0.9, 4, 30, 85])
        out.append(patient)
    return out


def test_card_findings_are_the_findings_of_those_kinds() -> None:
    kb = load(REPO / "rules")
    evaluator = evaluator_for(kb)
    kinds_seen: set[str] = set()
    compared = 0
    for patient in patients(kb, 600):
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
