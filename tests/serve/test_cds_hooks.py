"""CDS Hooks against a real `nkb serve` process: discovery, hooks with full, partial and missing
prefetch, the response rules on every card, and cards that agree with `nkb evaluate`."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from serve_http import REPO, SERVICE, Server, bundle, check_cards, hook, now_text, observation, start, stop

SITE = "https://kb.example.org/neutropenia"
BORN = dt.date(1970, 5, 1)
TODAY = dt.datetime.now(dt.timezone.utc).date()
AGE = TODAY.year - BORN.year - ((TODAY.month, TODAY.day) < (BORN.month, BORN.day))
INDICATOR = {"emergency": "critical", "contact_provider": "warning", "routine": "info"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start(tmp_path_factory.mktemp("cds"), {"site_url": SITE})
    yield srv
    log = stop(srv)
    assert "Traceback" not in log, log


def patient_resource(born: str = BORN.isoformat()) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p1", "birthDate": born}


def full_prefetch(anc: dict[str, Any] | None, temp: dict[str, Any] | None) -> dict[str, Any]:
    return {"anc": bundle(anc) if anc else None, "wbc": None, "neutrophils": None,
            "bands": None, "temperature": bundle(temp) if temp else None,
            "patient": patient_resource()}


def test_discovery_lists_the_patient_view_service(server: Server) -> None:
    status, body = server.json("GET", "/cds-services")
    assert status == 200
    [svc] = body["services"]
    assert svc["hook"] == "patient-view" and f"/cds-services/{svc['id']}" == SERVICE
    assert svc["description"] and svc["title"]
    prefetch = svc["prefetch"]
    for key, codes in {"anc": ("751-8", "26499-4", "753-4"), "wbc": ("6690-2",),
                       "neutrophils": ("770-8",), "bands": ("764-1",),
                       "temperature": ("8310-5",)}.items():
        template = prefetch[key]
        assert template.startswith("Observation?patient={{context.patientId}}&")
        assert "_sort=-date" in template and "_count=1" in template
        for code in codes:
            assert f"http://loinc.org|{code}" in template
    assert prefetch["patient"] == "Patient/{{context.patientId}}"


# Each scenario: the prefetch a record system sends, and the patient `nkb evaluate` must be given
# to decide the same (what the service should have read from the FHIR data).
SCENARIOS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "fever_low_count_ucum_thousands": (
        full_prefetch(observation("751-8", 0.4, "10*3/uL"), observation("8310-5", 101.2, "[degF]")),
        {"anc": "0.4 10^9/L", "temperature": "101.2 F", "age_years": AGE}),
    "giga_per_litre_celsius": (
        full_prefetch(observation("26499-4", 1.2, "10*9/L"), observation("8310-5", 37.1, "Cel")),
        {"anc": "1.2 10^9/L", "temperature": "37.1 C", "age_years": AGE}),
    "cells_per_microlitre_no_fever": (
        full_prefetch(observation("753-4", 2500, "/uL"), observation("8310-5", 36.8, "Cel")),
        {"anc": "2500", "temperature": "36.8 C", "age_years": AGE}),
    "stale_count_is_missing": (
        full_prefetch(observation("751-8", 3.0, "10*3/uL", hours_ago=24 * 10),
                      observation("8310-5", 38.5, "Cel")),
        {"temperature": "38.5 C", "age_years": AGE}),
    "preliminary_count_is_missing": (
        full_prefetch(observation("751-8", 0.3, "10*3/uL", status="preliminary"),
                      observation("8310-5", 37.0, "Cel")),
        {"temperature": "37.0 C", "age_years": AGE}),
    "unconvertible_unit_is_missing": (
        full_prefetch(observation("751-8", 0.3, "mmol/L"), observation("8310-5", 310, "K")),
        {"age_years": AGE}),
    "infant_out_of_scope": (
        {**full_prefetch(observation("751-8", 0.7, "10*3/uL"), None),
         "patient": patient_resource((TODAY - dt.timedelta(days=100)).isoformat())},
        {"anc": "0.7 10^9/L", "age_years": "0.27"}),
    "another_patients_result_is_ignored": (
        full_prefetch(observation("751-8", 0.3, "10*3/uL", patient="p2"), None),
        {"age_years": AGE}),
}


def nkb_evaluate(patients: dict[str, dict[str, Any]], tmp: Path) -> dict[str, dict[str, Any]]:
    batch = tmp / "patients.jsonl"
    batch.write_text("".join(json.dumps({"id": name, **p}) + "\n"
                             for name, p in patients.items()))
    done = subprocess.run([sys.executable, "-m", "neutropenia_kb", "evaluate", str(batch),
                           "--rules", str(REPO / "rules")], capture_output=True, text=True,
                          check=True)
    return {row["id"]: row for row in map(json.loads, done.stdout.splitlines())}


def test_cards_agree_with_nkb_evaluate(server: Server, tmp_path: Path) -> None:
    expected = nkb_evaluate({name: patient for name, (_, patient) in SCENARIOS.items()},
                            tmp_path)
    for name, (prefetch, _) in SCENARIOS.items():
        status, body = server.json("POST", SERVICE, hook(prefetch))
        assert status == 200, (name, body)
        cards = check_cards(body)
        want = expected[name]
        if set(SCENARIOS[name][1]) <= {"age_years"}:
            # No usable result: nkb evaluate answers an age alone with every rule unknown
            # (the most urgent level, not certain); a chart without recent results gets one
            # info card instead (test_nothing_usable_is_one_info_card_saying_what_is_missing).
            assert want["urgency_certain"] is False, name
            [card] = cards
            assert card["indicator"] == "info" and "not assessed" in card["summary"], name
            continue
        urgency, severity, *scope = cards
        assert urgency["indicator"] == INDICATOR[want["urgency"]], name
        if want["severity"] == "unknown" and want.get("anc_cells_per_ul") is None:
            assert "severity unknown" in severity["summary"], name
        elif want["severity"] == "unknown":  # a count, but the bands do not apply
            assert f"{want['anc_cells_per_ul']:,} cells/µL" in severity["summary"], name
            assert "not graded (out of scope)" in severity["summary"], name
            assert want["scope_warnings"], name
        else:
            assert f"{want['anc_cells_per_ul']:,} cells/µL" in severity["summary"], name
        assert len(scope) == len(want["scope_warnings"]), name
        assert ("not certain" in urgency["summary"]) == (not want["urgency_certain"]), name


def test_urgency_card_explains_with_sources_and_links(server: Server) -> None:
    prefetch = SCENARIOS["fever_low_count_ucum_thousands"][0]
    cards = check_cards(server.json("POST", SERVICE, hook(prefetch))[1])
    card = cards[0]
    assert card["indicator"] == "critical"
    assert "**Why**" in card["detail"] and "Sources:" in card["detail"]
    assert "Observation/o1" in card["detail"]  # which results were used
    assert card["source"]["label"].endswith(")") and "version" in card["source"]["label"]
    assert card["source"]["url"].startswith(SITE + "/help.html#")
    links = {link["label"]: link["url"] for link in card["links"]}
    assert links["When to get help"].startswith(SITE + "/help.html#")
    assert links["Personal leaflet (PDF)"].startswith(server.url + "/leaflet?anc=0.4+10%5E9%2FL")


def test_stale_and_unusable_results_are_named_in_the_card(server: Server) -> None:
    cards = check_cards(server.json("POST", SERVICE, hook(
        SCENARIOS["stale_count_is_missing"][0]))[1])
    assert "older than 72 hours" in cards[0]["detail"]
    cards = check_cards(server.json("POST", SERVICE, hook(
        SCENARIOS["unconvertible_unit_is_missing"][0]))[1])
    assert "'mmol/L', which is not converted" in cards[0]["detail"]


def test_full_blood_count_from_one_sample_gives_the_count(server: Server) -> None:
    when = now_text(2)
    prefetch = {"wbc": bundle(observation("6690-2", 2.0, "10*3/uL", when=when, ident="w")),
                "neutrophils": bundle(observation("770-8", 20, "%", when=when, ident="n")),
                "bands": bundle(observation("764-1", 5, "%", when=when, ident="b")),
                "anc": None, "temperature": None}
    cards = check_cards(server.json("POST", SERVICE, hook(prefetch))[1])
    assert "500 cells/µL" in cards[1]["summary"]  # 2,000 × 25 %
    prefetch["bands"] = bundle(observation("764-1", 5, "%", when=now_text(30), ident="b"))
    cards = check_cards(server.json("POST", SERVICE, hook(prefetch))[1])
    assert "400 cells/µL" in cards[1]["summary"]  # bands of another sample are left out
    assert "not from the same blood sample" in cards[0]["detail"]


def test_a_large_hook_is_answered_alike(server: Server) -> None:
    """A body over 16 KB (hot.INLINE_BYTES) is parsed and worked out in the thread pool: the
    same cards as the small hook it contains, and errors still name the field."""
    newest = observation("751-8", 0.4, "10*3/uL", hours_ago=1, ident="newest")
    older = [observation("751-8", 2.5, "10*3/uL", hours_ago=2 + i / 10, ident=f"old{i}")
             for i in range(150)]
    temp = observation("8310-5", 38.4, "Cel", ident="t")
    small = {"anc": bundle(newest), "temperature": bundle(temp)}
    large = {"anc": bundle(*older, newest), "temperature": bundle(temp)}
    assert len(json.dumps(hook(large))) > 16 * 1024
    small_cards = check_cards(server.json("POST", SERVICE, hook(small))[1])
    large_cards = check_cards(server.json("POST", SERVICE, hook(large))[1])
    assert "400 cells/µL" in large_cards[1]["summary"]
    for a, b in zip(small_cards, large_cards, strict=True):
        assert {k: v for k, v in a.items() if k not in ("uuid", "detail")} == \
            {k: v for k, v in b.items() if k not in ("uuid", "detail")}
    status, body = server.json("POST", SERVICE, hook(large, context="p1"))
    assert status == 400 and body["issue"][0]["expression"] == ["context"]


def test_partial_prefetch_is_evaluated_cautiously(server: Server) -> None:
    prefetch = {"temperature": bundle(observation("8310-5", 38.4, "Cel"))}
    status, body = server.json("POST", SERVICE, hook(prefetch))
    assert status == 200
    cards = check_cards(body)
    assert "severity unknown" in cards[1]["summary"]
    assert "not sent by the record system: anc, wbc, neutrophils, bands" in cards[0]["detail"]


@pytest.mark.parametrize("prefetch, reasons", [
    ({"anc": bundle(observation("751-8", 0.3, "10*3/uL", hours_ago=100)),
      "temperature": bundle(observation("8310-5", 39.0, "Cel", status="preliminary",
                                        ident="t1"))},
     ["older than 72 hours", "status 'preliminary'",
      "not sent by the record system: wbc, neutrophils, bands"]),
    ({"anc": None, "wbc": None, "neutrophils": None, "bands": None, "temperature": None,
      "patient": patient_resource()},
     ["anc: no result on record", "temperature: no result on record", f"{AGE} years"]),
])
def test_nothing_usable_is_one_info_card_saying_what_is_missing(
        server: Server, prefetch: dict[str, Any], reasons: list[str]) -> None:
    """Stale, non-final or absent results only: no decision and no alarm (a very low stale
    count and a preliminary fever must not raise one), but not silence either."""
    status, body = server.json("POST", SERVICE, hook(prefetch))
    assert status == 200, body
    [card] = check_cards(body)
    assert card["indicator"] == "info"
    assert "not assessed" in card["summary"]
    for reason in reasons:
        assert reason in card["detail"], (reason, card["detail"])
    assert "not a sign that all is well" in card["detail"]
    assert "from the last 72 hours" in card["detail"]
    assert "from the last 24 hours" in card["detail"]
    assert card["source"]["url"] == SITE + "/"


@pytest.mark.parametrize("extra", [{}, {"fhirServer": "https://ehr.example.org/fhir"}])
def test_missing_prefetch_is_412_with_an_operation_outcome(server: Server,
                                                           extra: dict[str, Any]) -> None:
    for body in (hook(None, **extra), hook({}, **extra), hook({"patient": None}, **extra)):
        status, outcome = server.json("POST", SERVICE, body)
        assert status == 412
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["severity"] == "error"
        assert "prefetch" in outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize("change, field", [
    ({"hook": "order-sign"}, "hook"),
    ({"hookInstance": 7}, "hookInstance"),
    ({"context": "p1"}, "context"),
    ({"context": {"userId": "Practitioner/1", "patientId": ["p1"]}}, "context.patientId"),
    ({"prefetch": ["anc"]}, "prefetch"),
    ({"prefetch": {"anc": "800"}}, "prefetch.anc"),
    ({"prefetch": {"anc": {"resourceType": "Patient"}}}, "prefetch.anc.resourceType"),
    ({"prefetch": {"anc": {"resourceType": "Bundle", "entry": {}}}}, "prefetch.anc.entry"),
    ({"prefetch": {"anc": {"resourceType": "Bundle", "entry": ["x"]}}}, "prefetch.anc.entry[0]"),
    ({"prefetch": {"anc": {"resourceType": "Bundle", "entry": [{"resource": 7}]}}},
     "prefetch.anc.entry[0].resource"),
    ({"fhirAuthorization": {"access_token": "x"}}, "fhirServer"),
])
def test_wrong_types_are_400_naming_the_field(server: Server, change: dict[str, Any],
                                              field: str) -> None:
    body = hook({"anc": None})
    body.update(change)
    status, outcome = server.json("POST", SERVICE, body)
    assert status == 400, outcome
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == [field]
    assert outcome["issue"][0]["diagnostics"].startswith(field + ":")
