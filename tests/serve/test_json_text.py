"""serve.wire.json_text (the C encoder, for speed) writes exactly what core.json_text.dumps
writes, numbers included, and falls back to it for digits no float carries."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from serve_http import REPO, drawn_patients

from neutropenia_kb import evaluator_for, load
from neutropenia_kb.core.json_text import dumps
from neutropenia_kb.core.problems import InputError
from neutropenia_kb.serve.wire import ResultWriter, default, json_text

PATIENTS: list[dict[str, Any]] = [
    {"anc": "0.8 x10^9/L", "temperature": "100.4 F"},
    {"wbc": "2.5 x10^9/L", "neutrophils_percent": 33.3, "bands_percent": 3,
     "temperature": "99.1 F", "age_years": 0.5},
    {"anc": "37.99999999999999999 cells/uL", "temperature": "37.99999999999999999 C"},
    {"symptoms": ["fever", "cough"], "on_chemotherapy": True},
]


@pytest.mark.parametrize("patient", PATIENTS)
def test_results_are_written_byte_for_byte_as_core_writes_them(patient: dict[str, Any]) -> None:
    result = evaluator_for(load(REPO / "rules")).evaluate(patient).to_json()
    assert json_text(result) == dumps(result, compact=True, default=default)


def test_numbers_no_float_writes_fall_back_to_core() -> None:
    data = {"a": [Decimal("0.10"), Decimal("1E+3"), Decimal("37.99999999999999999"),
                  Decimal("-0"), Fraction(1, 3), 1.5, None, True, "é\u2028\x00"]}
    assert json_text(data) == dumps(data, compact=True, default=default)
    assert "37.99999999999999999" in json_text(data) and "1000" in json_text(data)


def test_decimal_places_are_those_of_the_definition() -> None:
    """json_number and exact_ratio read core.units._decimal_places, which divides out the
    denominator's 2s and 5s (fast, for every °F temperature): the same answers as trying each
    power of ten in turn, as it was written before, within the same bound."""
    import random

    from neutropenia_kb.core import units

    limit = 2 * (units.MAX_DIGITS + units.MAX_EXPONENT)

    def by_definition(value: Fraction) -> int | None:
        return next((p for p in range(limit) if (value * 10**p).denominator == 1), None)

    rng = random.Random(16)
    denominators = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 18, 25, 40, 64, 125, 1000, 2**60,
                    5**70, 2**99, 2**100, 5**99 * 8, 10**99, 10**100, 7 * 2**5, 3 * 5**4]
    values = [Fraction(rng.randint(-10**6, 10**6), rng.choice(denominators))
              for _ in range(3000)] + [Fraction(683, 18), Fraction(1, 5**100), Fraction(0)]
    for value in values:
        assert units._decimal_places(value) == by_definition(value), value
    assert units.json_number(Fraction(683, 18)) == Decimal("37.944444")
    assert units.exact_ratio(Fraction(683, 18)) == "683/18"
    assert units.json_number(Fraction(3, 8)) == Decimal("0.375")


def test_the_result_writer_writes_what_json_text_writes() -> None:
    """POST /evaluate writes a result's findings from parts kept per item (wire.ResultWriter):
    the same bytes as json_text(result.to_json()), alone and in a batch."""
    kb = load(REPO / "rules")
    evaluator = evaluator_for(kb)
    writer = ResultWriter()
    results = []
    for patient in [*PATIENTS, *drawn_patients(kb, 300)]:
        try:
            result = evaluator.evaluate(patient)
        except InputError:
            continue
        assert writer.text(result) == json_text(result.to_json()), patient
        results.append(result)
    assert len(results) > 200
    assert writer.many(results[:7]) == json_text({"results": [r.to_json() for r in results[:7]]})
