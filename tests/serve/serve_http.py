"""A real `nkb serve` process on a free loopback port, plain HTTP to it, FHIR test data, and the
CDS Hooks response rules the cards must keep."""

from __future__ import annotations

import datetime as dt
import json
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parents[2]
SERVICE = "/cds-services/neutropenia-patient-view"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def request(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            with err:
                return err.code, dict(err.headers), err.read()

    def json(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, _, content = self.request(method, path, body, **kw)
        return status, json.loads(content)


def start(tmp: Path, config: dict[str, Any] | None = None, port: int | None = None) -> Server:
    port = port or free_port()
    cmd = [sys.executable, "-m", "neutropenia_kb", "serve", "--port", str(port),
           "--rules", str(REPO / "rules"), "--log-level", "warning"]
    if config is not None:
        (tmp / "serve.json").write_text(json.dumps(config))
        cmd += ["--config", str(tmp / "serve.json")]
    log = tmp / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 90  # a loaded CI machine: loading the rules takes seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("nkb serve exited:\n" + log.read_text())
        try:
            if server.request("GET", "/health")[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise RuntimeError("nkb serve did not answer /health in time:\n" + log.read_text())


def stop(server: Server) -> str:
    """Stops the process; returns its log (the tests check that no traceback was logged)."""
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    return server.log.read_text()


# ---- FHIR test data -----------------------------------------------------------------------------


def now_text(hours_ago: float = 1.0) -> str:
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours_ago)
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def observation(code: str, value: Any, ucum: str, *, hours_ago: float = 1.0,
                status: str = "final", patient: str = "p1", ident: str = "o1",
                when: str | None = None) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": ident, "status": status,
            "subject": {"reference": f"Patient/{patient}"},
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "effectiveDateTime": when or now_text(hours_ago),
            "valueQuantity": {"value": value, "unit": ucum, "system": UCUM, "code": ucum}}


def bundle(*observations: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": o} for o in observations]}


def hook(prefetch: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"hook": "patient-view",
                            "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
                            "context": {"userId": "Practitioner/example", "patientId": "p1"}}
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(extra)
    return body


# ---- CDS Hooks 2.0 response rules ---------------------------------------------------------------

CARD_KEYS = {"uuid", "summary", "detail", "indicator", "source", "suggestions",
             "selectionBehavior", "overrideReasons", "links"}


def empties(value: Any, path: str = "$") -> Iterator[str]:
    """Paths of null or empty JSON values: "JSON elements SHALL NOT be null ... empty"."""
    if value is None or value == "" or value == [] or value == {}:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from empties(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from empties(item, f"{path}[{i}]")


def check_cards(response: Any) -> list[dict[str, Any]]:
    """Every card keeps the CDS Hooks response rules; returns the cards."""
    assert set(response) <= {"cards", "systemActions"}
    cards = response["cards"]
    assert isinstance(cards, list)
    assert list(empties(cards)) == []
    for card in cards:
        assert set(card) <= CARD_KEYS, card
        assert isinstance(card["uuid"], str) and card["uuid"]
        assert isinstance(card["summary"], str) and len(card["summary"]) < 140, card["summary"]
        assert card["indicator"] in ("info", "warning", "critical")
        assert isinstance(card["source"]["label"], str)
        assert set(card["source"]) <= {"label", "url", "icon", "topic"}
        assert ("selectionBehavior" in card) == ("suggestions" in card)
        for link in card.get("links", []):
            assert set(link) <= {"label", "url", "type", "appContext"}
            assert link["type"] in ("absolute", "smart")
            assert "appContext" not in link or link["type"] == "smart"
            assert link["url"].startswith(("http://", "https://"))
        assert isinstance(card.get("detail", ""), str)
    assert len({c["uuid"] for c in cards}) == len(cards)
    return cards


def drawn_patients(kb: Any, count: int, seed: int = 16) -> list[dict[str, Any]]:
    """Patients drawn across every input (some refused: a bare count read two ways, say)."""
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
