"""`nkb export fhir OUT/`: resources valid against the FHIR R4B models of fhir.resources, tied
to each other and to the CDS Hooks service, and an ELM in the Library that the reference engine
runs to the Python engine's decisions."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from elm_run import REPO, parameters, run_elm
from fhir.resources.R4B.activitydefinition import ActivityDefinition
from fhir.resources.R4B.library import Library
from fhir.resources.R4B.plandefinition import PlanDefinition

from neutropenia_kb import evaluator_for
from neutropenia_kb.engine.elm_backend import ADVICE, CERTAIN, LEVEL, SEVERITY
from neutropenia_kb.serve.cds import prefetch_templates

MODELS = {"PlanDefinition": PlanDefinition, "Library": Library,
          "ActivityDefinition": ActivityDefinition}


def nkb(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neutropenia_kb", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("fhir") / "out"
    done = nkb("export", "fhir", str(out))
    assert done.returncode == 0, done.stderr
    assert "Wrote" in done.stdout
    return {p.name: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(out.glob("*.json")) if not p.name.endswith(".elm.json")} | \
        {"_dir": {"path": str(out)}}


def resources(exported: dict[str, dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for name, r in exported.items() if r.get("resourceType") == kind]


def test_every_resource_is_valid_r4(exported: dict[str, dict[str, Any]]) -> None:
    kinds = [r["resourceType"] for n, r in exported.items() if n != "_dir"]
    assert kinds.count("PlanDefinition") == 1 and kinds.count("Library") == 1
    assert kinds.count("ActivityDefinition") > 10
    for name, data in exported.items():
        if name == "_dir":
            continue
        model = MODELS[data["resourceType"]]
        validate = getattr(model, "model_validate", None) or model.parse_obj
        parsed = validate(data)  # raises on any invalid element
        assert parsed.id == data["id"] and name == f"{data['resourceType']}-{data['id']}.json"


def test_version_fingerprint_and_draft_status(kb: Any,
                                              exported: dict[str, dict[str, Any]]) -> None:
    fingerprint = evaluator_for(kb).program.fingerprint
    for name, data in exported.items():
        if name == "_dir":
            continue
        assert data["version"] == kb.meta.version
        assert [e["valueString"] for e in data["extension"]] == [fingerprint]
        # no clinical reviewer is recorded in kb.yaml: nothing may claim to be in use
        assert (data["status"], data["experimental"]) == (
            ("active", False) if kb.meta.reviewed_by else ("draft", True))


def test_plan_definition_is_the_cds_service(kb: Any, exported: dict[str, dict[str, Any]]) -> None:
    plan, = resources(exported, "PlanDefinition")
    library, = resources(exported, "Library")
    assert plan["type"]["coding"][0]["code"] == "eca-rule"
    assert plan["library"] == [f"{library['url']}|{library['version']}"]
    top, = plan["action"]
    assert top["trigger"] == [{"type": "named-event", "name": "patient-view"}]
    # the data requirements ask for what the service's prefetch asks for, code for code
    templates = prefetch_templates(kb)
    for req in top["input"]:
        template = templates[req["id"]]
        if req["type"] == "Patient":
            assert template.startswith("Patient/")
            continue
        codes = {f"{c['system']}|{c['code']}" for c in req["codeFilter"][0]["code"]}
        assert codes == set(re.search(r"code=([^&]*)", template).group(1).split(","))  # type: ignore[union-attr]
        statuses = {c["code"] for c in req["codeFilter"][1]["code"]}
        assert statuses == set(re.search(r"status=([^&]*)", template).group(1).split(","))  # type: ignore[union-attr]
    assert {r["id"] for r in top["input"]} == set(templates)
    assert library["dataRequirement"] == top["input"]


def test_actions_name_defines_and_activities(kb: Any,
                                             exported: dict[str, dict[str, Any]]) -> None:
    plan, = resources(exported, "PlanDefinition")
    library, = resources(exported, "Library")
    elm = json.loads(_content(library, "application/elm+json"))
    defines = {d["name"] for d in elm["library"]["statements"]["def"]}
    urgency, advice = plan["action"][0]["action"]
    assert [a["id"] for a in urgency["action"]] == [lv.id for lv in kb.levels]
    assert [a["priority"] for a in urgency["action"]] == ["stat", "urgent", "routine"]
    activities = {f"{a['url']}|{a['version']}" for a in resources(exported, "ActivityDefinition")}
    expected_advice = [i.id for i in (*kb.tests, *kb.treatments, *kb.precautions)]
    assert [a["id"] for a in advice["action"]] == expected_advice
    for action in (*urgency["action"], *advice["action"]):
        cond, = action["condition"]
        assert cond["expression"]["language"] == "text/cql-identifier"
        assert cond["expression"]["expression"] in defines
    assert {a["definitionCanonical"] for a in advice["action"]} == activities
    assert {SEVERITY, LEVEL, CERTAIN, ADVICE} <= defines
    assert {p["name"] for p in library["parameter"] if p["use"] == "out"} == \
        {SEVERITY, LEVEL, CERTAIN, ADVICE}


def _content(library: dict[str, Any], kind: str) -> str:
    data, = [c["data"] for c in library["content"] if c["contentType"] == kind]
    return base64.b64decode(data).decode("utf-8")


def test_library_carries_cql_and_the_elm_that_runs(kb: Any, exported: dict[str, dict[str, Any]],
                                                    elm_library: Any, tmp_path: Path) -> None:
    library, = resources(exported, "Library")
    assert library["type"]["coding"][0]["code"] == "logic-library"
    out = Path(exported["_dir"]["path"])
    cql = _content(library, "text/cql")
    assert cql == (out / f"{library['name']}.cql").read_text(encoding="utf-8")
    assert cql.startswith(f"library {library['name']} version '{kb.meta.version}'")
    assert "using FHIR version '4.0.1'" in cql
    elm_text = _content(library, "application/elm+json")
    assert json.loads(elm_text) == json.loads((out / f"{library['name']}.elm.json").read_text())
    path = tmp_path / "from_library.json"
    path.write_text(elm_text, encoding="utf-8")
    patients = [{"anc": "0.4 10^9/L", "temperature": "100.4 F", "symptoms": []},
                {"wbc": 3000, "neutrophils_percent": 40, "on_chemotherapy": False},
                {}]
    parsed = [evaluator_for(kb).parser.parse(p) for p in patients]
    got = run_elm(path, [parameters(elm_library, p) for p in parsed])
    for patient, row in zip(parsed, got):
        result = evaluator_for(kb).decide(patient)
        assert (row[SEVERITY] or "unknown", row[LEVEL], row[CERTAIN], row["has_fever"]) == \
            (result.severity, result.urgency, result.urgency_certain, result.fever)
        assert set(row[ADVICE]) == result.advice_ids


def test_usage_errors_name_the_problem(tmp_path: Path) -> None:
    done = nkb("export", "fhir", str(tmp_path / "out"), "--base-url", "ftp://x/")
    assert done.returncode == 2 and "--base-url 'ftp://x/' is not a canonical base" in \
        done.stderr, done.stderr
    a_file = tmp_path / "file"
    a_file.write_text("x")
    done = nkb("export", "fhir", str(a_file))
    assert done.returncode == 2 and "is not a folder" in done.stderr, done.stderr
    done = nkb("export", "fhri", str(tmp_path))
    assert done.returncode == 2 and "invalid choice: 'fhri'" in done.stderr, done.stderr


def test_base_url_makes_the_canonical_urls(tmp_path: Path) -> None:
    done = nkb("export", "fhir", str(tmp_path), "--base-url", "https://kb.example/fhir")
    assert done.returncode == 0, done.stderr
    plan = json.loads((tmp_path / "PlanDefinition-neutropenia-patient-view.json").read_text())
    assert plan["url"] == "https://kb.example/fhir/PlanDefinition/neutropenia-patient-view"
    assert plan["library"][0].startswith("https://kb.example/fhir/Library/")
