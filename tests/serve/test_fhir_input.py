"""FHIR prefetch → patient inputs, on the real knowledge base: what is used and what counts as
missing (and the card says why)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from serve_http import bundle, observation

from neutropenia_kb import evaluator_for
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.serve.fhir_input import parse_time, read_prefetch, ucum_unit

NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.timezone.utc)
WINDOWS = {"counts": dt.timedelta(hours=72), "temperature": dt.timedelta(hours=24)}


def read(kb: KnowledgeBase, prefetch: dict[str, Any]) -> Any:
    return read_prefetch(kb, prefetch, "p1", NOW, WINDOWS)


def obs(code: str, value: Any, unit: str, when: str = "2025-03-10T08:00:00Z",
        **kw: Any) -> dict[str, Any]:
    return observation(code, Decimal(str(value)), unit, when=when, **kw)


@pytest.mark.parametrize("code, name", [("10*3/uL", "10^9/L"), ("10*9/L", "10^9/L"),
                                        ("/uL", "cells/uL"), ("10*6/L", "cells/uL"),
                                        ("Cel", "C"), ("[degF]", "F"), ("%", "%"),
                                        ("K/uL", None), ("mmol/L", None), ("K", None)])
def test_ucum_codes_map_only_to_exact_equivalents(code: str, name: str | None) -> None:
    assert ucum_unit({"system": "http://unitsofmeasure.org", "code": code}) == name
    assert ucum_unit({"system": "http://example.org/units", "code": code}) is None


def test_times() -> None:
    assert parse_time("2025-03-10") == dt.datetime(2025, 3, 10, tzinfo=dt.timezone.utc)
    assert parse_time("2025-03-10T08:00:00+02:00") == dt.datetime(2025, 3, 10, 6,
                                                                   tzinfo=dt.timezone.utc)
    assert parse_time("2025-03") is None and parse_time("yesterday") is None


def test_the_newest_usable_result_wins(kb: KnowledgeBase) -> None:
    data = read(kb, {"anc": bundle(obs("751-8", 0.9, "10*3/uL", "2025-03-09T08:00:00Z", ident="a"),
                                   obs("751-8", 0.4, "10*3/uL", "2025-03-10T08:00:00Z", ident="b"),
                                   obs("751-8", 0.1, "10*3/uL", "2025-03-10T11:00:00Z",
                                       status="entered-in-error", ident="c"))})
    assert data.mapping == {"anc": {"value": Decimal("0.4"), "unit": "10^9/L"}}
    assert [u.observation for u in data.used] == ["Observation/b"]


@pytest.mark.parametrize("change, why", [
    ({"status": "preliminary"}, "status 'preliminary'"),
    ({"effectiveDateTime": "2025-03-06T08:00:00Z"}, "older than 72 hours"),
    ({"effectiveDateTime": "2025-03-11T08:00:00Z"}, "dated in the future"),
    ({"effectiveDateTime": None}, "no usable effective date"),
    ({"subject": {"reference": "Patient/p2"}}, "another patient"),
    ({"valueQuantity": {"value": Decimal("0.5"), "comparator": "<",
                        "system": "http://unitsofmeasure.org", "code": "10*3/uL"}},
     "not an exact value"),
    ({"valueQuantity": {"value": Decimal("500"), "unit": "K/uL"}}, "not converted"),
    ({"valueQuantity": {"value": Decimal("900"), "system": "http://unitsofmeasure.org",
                        "code": "10*3/uL"}}, "outside what is plausible"),
    ({"code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}}, "LOINC codes"),
])
def test_unusable_results_count_as_missing(kb: KnowledgeBase, change: dict[str, Any],
                                           why: str) -> None:
    resource = {**obs("751-8", 0.4, "10*3/uL"), **change}
    data = read(kb, {"anc": resource})
    assert "anc" not in data.mapping
    assert any(why in line for line in data.left_out), data.left_out
    # With nothing else known the patient would be refused as empty; a symptom list stands in.
    assert evaluator_for(kb).evaluate({**data.mapping, "symptoms": []}).severity == "unknown"


def test_the_ehrs_texts_are_quoted_on_one_line_in_their_order(kb: KnowledgeBase) -> None:
    """An id, a status, a comparator or a unit from the EHR goes into the card as show_value
    quotes it: a line separator, NEL or a bidirectional override is escaped, not carried."""
    data = read(kb, {"anc": bundle(
        {**obs("751-8", 0.4, "10*3/uL", ident="x\u202ey"), "status": "prelim\u2028inary"},
        {**obs("751-8", 0.4, "10*3/uL"), "valueQuantity": {
            "value": Decimal("0.5"), "comparator": "<\x85", "code": "10*3/uL"}},
        {**obs("751-8", 0.4, "10*3/uL"), "valueQuantity": {
            "value": Decimal("500"), "code": "K\u2066/uL"}})})
    [line] = data.left_out
    assert line.isprintable(), line
    for shown in ("Observation/x\\u202ey has status 'prelim\\u2028inary'", "'<\\x850.5'",
                  "'K\\u2066/uL'"):
        assert shown in line, line
    data = read(kb, {"anc": obs("751-8", 0.4, "10*3/uL", ident="a\u2029b")})
    assert [u.observation for u in data.used] == ["Observation/a\\u2029b"]


def test_an_infant_is_flagged_and_never_shown_as_one_year_old(kb: KnowledgeBase) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "2024-03-11"}  # 364 days
    data = read(kb, {"anc": None, "patient": patient})
    assert data.mapping["age_years"] == "0.99"
    result = evaluator_for(kb).evaluate(data.mapping)
    assert [s.id for s in result.scope_warnings] == ["infant"]
    assert next(f for f in result.findings if f.id == "infant").certain
    data = read(kb, {"anc": None, "patient": {**patient, "birthDate": "2024-03-10"}})
    assert data.mapping["age_years"] == "1"
