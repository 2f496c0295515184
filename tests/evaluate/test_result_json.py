"""Real `nkb evaluate` outputs against schema/result.schema.json: six everyday patients in text
and JSON, batch JSON Lines rows, and input errors (issue 10 item 1, issue 11 items 5 and 6)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from jsonschema import Draft202012Validator

from neutropenia_kb.authoring.diff import fingerprint
from neutropenia_kb.cli import main
from neutropenia_kb.kb.schema import schema_dir
from neutropenia_kb.kb.text import PHONE_BLANK, service_line

ADULT = {"on_chemotherapy": False, "age_years": 45}
PATIENTS: dict[str, dict[str, Any]] = {
    "severe_with_fever": {"anc": 300, "temperature": "38.5 C", "symptoms": [],
                          "on_chemotherapy": True, "age_years": 50},
    "severe_without_fever": {"anc": 300, "temperature": "37.0 C", "symptoms": [], **ADULT},
    "lab_result_only": {"anc": "0.3 10^9/L"},
    "normal": {"anc": 2500, "temperature": "36.8 C", "symptoms": [], **ADULT},
    "wbc_with_percentages": {"wbc": "2.5 10^9/L", "neutrophils_percent": 12,
                             "bands_percent": 2, "temperature": "100.3 F", "symptoms": [],
                             **ADULT},
    "baby": {"anc": 800, "temperature": "37.2 C", "symptoms": ["cough"], "age_years": 0.5},
}
WANT = {  # (urgency, severity) as the knowledge base decides them
    "severe_with_fever": ("emergency", "severe"),
    "severe_without_fever": ("routine", "severe"),
    "lab_result_only": ("emergency", "severe"),
    "normal": ("routine", "normal"),
    "wbc_with_percentages": ("routine", "severe"),
    "baby": ("contact_provider", "unknown"),  # flagged, not placed in an adult band
}


def _schema(ref: str | None = None) -> Draft202012Validator:
    schema = json.loads((schema_dir() / "result.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    if ref is not None:  # one of its definitions, e.g. a batch row
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": ref}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _nkb(capsys: pytest.CaptureFixture[str], rules: Path, *args: str) -> tuple[int, str, str]:
    code = main(["evaluate", *args, "--rules", str(rules)])
    out, err = capsys.readouterr()
    return code, out, err


def _nulls(value: Any, where: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nulls(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nulls(item, f"{where}[{i}]")
    elif value is None:
        yield where


@pytest.fixture(scope="module")
def outputs(kb, rules_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Each patient through the real CLI, as a program would call it: file in, JSON text out."""
    folder = tmp_path_factory.mktemp("patients")  # module scope has no capsys: -o a file
    found: dict[str, Any] = {}
    for name, patient in PATIENTS.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(patient), encoding="utf-8")
        out = folder / f"{name}.out.json"
        assert main(["evaluate", str(path), "--format", "json", "-o", str(out),
                     "--rules", str(rules_dir)]) == 0
        found[name] = out.read_text(encoding="utf-8")
    return found


@pytest.mark.parametrize("name", PATIENTS)
def test_real_outputs_validate_and_lead_with_the_kb_and_the_level(kb, outputs: dict[str, Any],  # type: ignore[no-untyped-def]
                                                                  name: str) -> None:
    text = outputs[name]
    data = json.loads(text, parse_float=Decimal)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _schema().iter_errors(data)]
    assert errors == []
    assert (data["urgency"], data["severity"]) == WANT[name]
    assert data["kb"] == {"id": kb.meta.id, "version": kb.meta.version,
                          "fingerprint": fingerprint(kb)}
    level = kb.level(data["urgency"])
    assert data["level"]["id"] == level.id and data["level"]["action"] == level.action
    service = kb.level_service(level.id)
    if service is None:
        assert "service" not in data["level"]
    else:  # no number filled in: the key is left out, never an invented one
        assert data["level"]["service"]["id"] == service.id
        assert ("phone" in data["level"]["service"]) == bool(service.phone)
    # Keys in the schema's order; the only null is fever's "not known".
    order = list(_schema().schema["$defs"]["result"]["properties"])
    assert list(data) == [key for key in order if key in data]
    assert set(_nulls(data)) <= {".fever"}
    assert '"unit": null' not in text


def test_exact_numbers_are_json_numbers(outputs: dict[str, Any]) -> None:
    data = json.loads(outputs["wbc_with_percentages"], parse_float=Decimal)
    assert data["anc_cells_per_ul"] == 350  # 2,500 × 14 %: exact, a number
    temperature = data["inputs"]["temperature"]  # 100.3 °F = 683/18 °C, no finite decimal
    assert temperature["value"] == Decimal("37.944444") and temperature["exact"] == "683/18"
    assert '"value": 37.944444,' in outputs["wbc_with_percentages"]


def test_summary_leads_with_action_service_and_what_to_tell(kb, rules_dir: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    for name, patient in PATIENTS.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(json.dumps(patient), encoding="utf-8")
        code, out, _ = _nkb(capsys, rules_dir, str(path))
        level = kb.level(WANT[name][0])
        lines = out.splitlines()
        assert code == 0 and lines[0].startswith(f"{level.title.upper()}: ")
        assert level.action.rstrip(".") in lines[0]
        service = kb.level_service(level.id)
        if service is not None:
            assert service_line(service) in lines[0] and PHONE_BLANK in lines[0]
        rest = lines[1:]
        assert rest[0].startswith("Tell the patient: ")


def test_levels_say_distinct_things(kb) -> None:  # type: ignore[no-untyped-def]
    actions = [lv.action for lv in kb.levels]
    services = [lv.service for lv in kb.levels if lv.service]
    assert len(set(actions)) == len(actions) and len(set(services)) == len(services)
    assert all(lv.service for lv in kb.levels[:-1])  # every urgent level says whom to call


def test_batch_rows_validate(rules_dir: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "patients.jsonl"
    rows = [{"id": name, **patient} for name, patient in PATIENTS.items()]
    rows.append({"id": "implausible", "anc": 5000, "wbc": 100})
    source.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out = tmp_path / "results.jsonl"
    code, _, err = _nkb(capsys, rules_dir, str(source), "-o", str(out))
    assert code == 2 and "1 of 7 rows had bad input" in err
    validator = _schema("#/$defs/batch_row")
    written = [json.loads(line, parse_float=Decimal) for line in out.read_text().splitlines()]
    for row in written:
        assert [e.message for e in validator.iter_errors(row)] == [], row
    assert [(r["urgency"], r["severity"]) for r in written[:6]] == list(WANT.values())
    assert written[6]["urgency"] is None and "at most 100.5 cells/µL" in written[6]["error"]


@pytest.mark.parametrize("patient, field, value", [
    ({"anc": "lots"}, "anc", "lots"),
    ({"anc": 5000, "wbc": 100}, "anc", 5000),  # plausibility: both values in the message
    ({"temperature": 38.2, "tempreature": 1}, "tempreature", 1),
])
def test_input_error_is_json_on_stdout_with_exit_2(rules_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   patient: dict[str, Any], field: str,
                                                   value: Any) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(patient), encoding="utf-8")
    code, out, err = _nkb(capsys, rules_dir, str(path), "--format", "json")
    data = json.loads(out, parse_float=Decimal)
    assert code == 2 and list(data) == ["error"]
    assert [e.message for e in _schema().iter_errors(data)] == []
    assert (data["error"]["field"], data["error"]["value"]) == (field, value)
    assert data["error"]["message"] in err  # people still read it on stderr
    if field == "anc" and value == 5000:
        assert "wbc 100" in data["error"]["allowed"]


def test_unreadable_patient_file_is_json_too(rules_dir: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _nkb(capsys, rules_dir, str(tmp_path / "missing.json"), "--format", "json")
    data = json.loads(out)
    assert code == 2 and "cannot read" in data["error"]["message"]
    assert [e.message for e in _schema().iter_errors(data)] == []
