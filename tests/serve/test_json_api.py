"""The plain JSON API of a real `nkb serve` process: /evaluate equals `nkb evaluate --format
json`, bad requests are 400s naming the field, limits hold, and a personal leaflet comes back."""

from __future__ import annotations

import http.client
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from pypdf import PdfReader
from serve_http import REPO, Server, start, stop

MAX_BODY = 4096
MAX_BATCH = 5
ORIGIN = "https://ward.example.org"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start(tmp_path_factory.mktemp("api"), {"max_body_bytes": MAX_BODY,
                                                 "max_batch": MAX_BATCH,
                                                 "cors_origins": [ORIGIN]})
    yield srv
    log = stop(srv)
    assert "Traceback" not in log, log


PATIENTS = [
    {"anc": "0.8 x10^9/L", "temperature": "100.4 F"},
    {"wbc": 2500, "neutrophils_percent": 30, "bands_percent": 10, "symptoms": ["cough"]},
    {"anc": {"value": 1499, "unit": "cells/uL"}, "on_chemotherapy": True, "age_years": 0.5},
    {"symptoms": ["fever"]},  # a symptom alone: nothing else known (an empty patient is refused)
]


@pytest.mark.parametrize("index", range(len(PATIENTS)))
def test_evaluate_is_the_json_of_nkb_evaluate(server: Server, tmp_path: Path,
                                              index: int) -> None:
    patient = PATIENTS[index]
    file = tmp_path / "patient.json"
    file.write_text(json.dumps(patient))
    done = subprocess.run([sys.executable, "-m", "neutropenia_kb", "evaluate", str(file),
                           "--format", "json", "--rules", str(REPO / "rules")],
                          capture_output=True, text=True, check=True)
    status, body = server.json("POST", "/evaluate", patient)
    assert status == 200
    assert body == json.loads(done.stdout)


def test_a_batch_gives_one_result_per_patient_in_order(server: Server) -> None:
    status, body = server.json("POST", "/evaluate", {"patients": PATIENTS})
    assert status == 200
    singles = [server.json("POST", "/evaluate", p)[1] for p in PATIENTS]
    assert body == {"results": singles}


def test_batch_and_body_limits(server: Server) -> None:
    status, body = server.json("POST", "/evaluate", {"patients": [{}] * (MAX_BATCH + 1)})
    assert status == 400 and body["field"] == "patients"
    assert f"at most {MAX_BATCH}" in body["allowed"]
    status, body = server.json("POST", "/evaluate", {"anc": "1" * MAX_BODY})
    assert status == 413 and "limit" in body["error"]
    # Chunked, without a Content-Length, the limit holds too: the body is counted as it comes.
    conn = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=60)
    try:
        conn.request("POST", "/evaluate", body=iter([b"{\"anc\": \""] + [b"1" * 1024] * 8),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        response = conn.getresponse()
        assert response.status == 413 and "limit" in json.loads(response.read())["error"]
    finally:
        conn.close()


@pytest.mark.parametrize("patient, field, value", [
    ({"anc": "abc"}, "anc", "abc"),
    ({"anc": -5}, "anc", -5),
    ({"temperature": "38 K"}, "temperature", "38 K"),
    ({"on_chemotherapy": "maybe"}, "on_chemotherapy", "maybe"),
    ({"symptoms": ["coughing"]}, "symptoms", "coughing"),
    ({"ancc": 800}, "ancc", 800),
    ([800], "patient", "[800]"),
    ({"patients": [{"anc": 800}, {"anc": True}]}, "patients[1].anc", True),
    ({"patients": {"anc": 1}}, "patients", "{\"anc\": 1}"),
])
def test_bad_input_is_400_with_field_value_and_allowed(server: Server, patient: Any, field: str,
                                                        value: Any) -> None:
    status, body = server.json("POST", "/evaluate", patient)
    assert status == 400, body
    assert body["field"] == field
    assert body["value"] == value
    assert body["allowed"] and body["error"].startswith(f"{field}: ")


def test_a_huge_exponent_is_refused_quickly(server: Server) -> None:
    """1e999999999 is a valid JSON number; quoting it back once built a billion-digit integer
    and the request never returned. It is quoted as written."""
    status, _, content = server.request("POST", "/evaluate", raw=b'{"anc": 1e999999999}')
    body = json.loads(content)
    assert status == 400 and body["field"] == "anc" and body["value"] == "1E+999999999"


@pytest.mark.parametrize("raw, why", [
    (b"{\"anc\": 800", "valid JSON"),
    (b"{\"anc\": NaN}", "NaN"),
    (b"{\"anc\": 1, \"anc\": 2}", "written twice"),
    (b"\xff\xfe", "UTF-8"),
])
def test_malformed_json_is_400(server: Server, raw: bytes, why: str) -> None:
    status, _, content = server.request("POST", "/evaluate", raw=raw)
    body = json.loads(content)
    assert status == 400 and body["field"] == "body" and why in body["allowed"]


def test_not_json_not_found_and_wrong_method(server: Server) -> None:
    status, _, content = server.request("POST", "/evaluate", raw=b"anc=800",
                                        headers={"Content-Type": "text/plain"})
    assert status == 415 and "application/json" in json.loads(content)["error"]
    assert server.json("GET", "/no-such-page")[0] == 404
    status, body = server.json("GET", "/evaluate")
    assert status == 405 and body["error"] == "GET is not allowed here"


def test_cors_answers_only_the_configured_origin(server: Server) -> None:
    _, headers, _ = server.request("GET", "/health", headers={"Origin": ORIGIN})
    assert headers.get("access-control-allow-origin") == ORIGIN
    _, headers, _ = server.request("GET", "/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in {k.lower() for k in headers}


def test_health_version_and_openapi(server: Server) -> None:
    from neutropenia_kb import __version__, load
    from neutropenia_kb.kb.fingerprint import fingerprint

    kb = load(REPO / "rules")
    assert server.json("GET", "/health") == (200, {"status": "ok"})
    status, version = server.json("GET", "/version")
    assert status == 200 and version["nkb"] == __version__
    assert version["knowledge_base"]["version"] == kb.meta.version
    assert version["decisions_fingerprint"] == fingerprint(kb)
    status, spec = server.json("GET", "/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    assert {"/cds-services", "/evaluate", "/leaflet", "/health", "/version"} <= set(spec["paths"])
    assert set(spec["components"]["schemas"]["Patient"]["properties"]) == \
        {i.id for i in kb.inputs} | {"id"}


def test_leaflet_is_the_patients_pdf(server: Server) -> None:
    status, headers, content = server.request(
        "GET", "/leaflet?anc=0.4+10%5E9%2FL&temperature=101.2+F&size=letter")
    assert status == 200 and headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(content))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)  # US Letter
    first = " ".join(reader.pages[0].extract_text().split())
    assert "400 cells/µL" in first
    status, body = server.json("GET", "/leaflet?anc=800&anc=900")
    assert status == 400 and body["field"] == "anc"
    status, body = server.json("GET", "/leaflet?size=a3")
    assert status == 400 and body["field"] == "size"
