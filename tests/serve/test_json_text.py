"""serve.wire.json_text (the C encoder, for speed) writes exactly what core.json_text.dumps
writes, numbers included, and falls back to it for digits no float carries."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from serve_http import REPO

from neutropenia_kb import evaluator_for, load
from neutropenia_kb.core.json_text import dumps
from neutropenia_kb.serve.wire import default, json_text

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
