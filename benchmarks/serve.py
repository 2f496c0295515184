"""How does `nkb serve` hold up under load? 50 clients against one server process on loopback.

    python benchmarks/serve.py                  # 60 s, 50 clients
    python benchmarks/serve.py --seconds 10     # a quick run

Starts `nkb serve` (one uvicorn process) on a free 127.0.0.1 port, then runs --clients threads,
each with its own keep-alive connection, sending in turn a patient-view hook (random FHIR
prefetch: ANC in 10*3/uL or /uL, temperature in Cel or [degF], sometimes a full blood count
instead) and a POST /evaluate (random patient), for --seconds. Prints requests per second,
p50/p99 latency per kind and overall, errors (a failed request or any status other than 200)
and the 5xx count. Targets: 0 errors, no 5xx, p99 under 100 ms. The clients share the
machine's cores with the server, so the figures are a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "/cds-services/neutropenia-patient-view"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def observation(code: str, value: float, unit: str, when: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final",
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": LOINC, "code": code}]}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "system": UCUM, "code": unit, "unit": unit}}


def bundle(*obs: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": o} for o in obs]}


def random_hook(rng: random.Random) -> dict[str, Any]:
    when = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=rng.uniform(0, 48))) \
        .replace(microsecond=0).isoformat()
    anc = rng.choice([None, rng.randint(0, 4000)])
    prefetch: dict[str, Any] = {"anc": None, "wbc": None, "neutrophils": None, "bands": None}
    if anc is not None and rng.random() < 0.5:
        prefetch["anc"] = bundle(observation("751-8", anc / 1000, "10*3/uL", when))
    elif anc is not None:
        prefetch["anc"] = bundle(observation("26499-4", anc, "/uL", when))
    elif rng.random() < 0.5:
        prefetch["wbc"] = bundle(observation("6690-2", rng.randint(500, 9000) / 1000, "10*3/uL",
                                             when))
        prefetch["neutrophils"] = bundle(observation("770-8", rng.randint(5, 70), "%", when))
    temp_c = rng.choice([36.5, 37.2, 37.9, 38.0, 38.6])
    prefetch["temperature"] = bundle(
        observation("8310-5", temp_c, "Cel", when) if rng.random() < 0.5
        else observation("8310-5", round(temp_c * 9 / 5 + 32, 1), "[degF]", when))
    prefetch["patient"] = {"resourceType": "Patient", "id": "p1",
                           "birthDate": rng.choice(["1950-01-01", "1990-06-15", "2025-01-01"])}
    return {"hook": "patient-view", "hookInstance": "1f5a0c6a-8d1f-4b3c-9d64-8f0f1d3c2b11",
            "context": {"userId": "Practitioner/1", "patientId": "p1"}, "prefetch": prefetch}


def random_patient(rng: random.Random) -> dict[str, Any]:
    """A patient the service must accept: every count carries its unit or is a bare number
    that cannot be read two ways (a bare 0-99 could be cells/µL or ×10⁹/L: a 400 by design),
    and at least one input is given (an empty patient is refused)."""
    patient: dict[str, Any] = {}
    if rng.random() < 0.8:
        patient["anc"] = rng.choice([rng.randint(100, 4000), f"{rng.randint(0, 4000)} cells/uL",
                                     f"{rng.randint(0, 40) / 10} x10^9/L"])
    if rng.random() < 0.7:
        patient["temperature"] = rng.choice(["37.0 C", "38.2", "100.4 F", "99 F"])
    if rng.random() < 0.4:
        patient["symptoms"] = rng.sample(["fever", "cough", "sore_throat", "fatigue", "rash"], 2)
    if rng.random() < 0.3 or not patient:
        patient["on_chemotherapy"] = rng.random() < 0.5
    return patient


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = {"hook": [], "evaluate": []}
        self.errors = 0
        self.server_errors = 0
        self.failed = 0  # no answer at all (connection refused, reset, timeout)
        self.first_error = ""


def client(port: int, seed: int, stop_at: float, stats: Stats) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    local: dict[str, list[float]] = {"hook": [], "evaluate": []}
    errors = server_errors = failed = 0
    first = ""
    kinds = ["hook", "evaluate"]
    i = seed % 2
    while time.monotonic() < stop_at:
        kind = kinds[i % 2]
        i += 1
        path, body = (SERVICE, random_hook(rng)) if kind == "hook" else \
            ("/evaluate", random_patient(rng))
        data = json.dumps(body).encode()
        start = time.perf_counter()
        try:
            conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            content = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            errors += 1
            failed += 1
            first = first or f"{kind}: {exc!r}"
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        local[kind].append(time.perf_counter() - start)
        if status != 200:
            errors += 1
            server_errors += status >= 500
            first = first or f"{kind}: HTTP {status}: {content[:200]!r}"
    conn.close()
    with stats.lock:
        for kind, values in local.items():
            stats.latency[kind].extend(values)
        stats.errors += errors
        stats.server_errors += server_errors
        stats.failed += failed
        stats.first_error = stats.first_error or first


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    port = free_port()
    # The server's own log (warnings and any traceback) goes to this process's stderr.
    server = subprocess.Popen([sys.executable, "-m", "neutropenia_kb", "serve", "--port",
                               str(port), "--rules", str(ROOT / "rules"), "--log-level",
                               "warning"], cwd=ROOT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    print("nkb serve did not start", file=sys.stderr)
                    return 1
                time.sleep(0.2)
        stats = Stats()
        stop_at = time.monotonic() + args.seconds
        began = time.monotonic()
        threads = [threading.Thread(target=client, args=(port, seed, stop_at, stats))
                   for seed in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - began
    finally:
        server.terminate()
        server.wait(timeout=15)
    everything = stats.latency["hook"] + stats.latency["evaluate"]
    total = len(everything) + stats.failed  # answered or failed
    print(f"{args.clients} clients, {elapsed:.1f} s, one server process on 127.0.0.1")
    print(f"requests: {total:,}  ({total / elapsed:,.0f} requests/s)")
    for kind in ("hook", "evaluate"):
        values = stats.latency[kind]
        print(f"  {kind:9s} {len(values):7,}  p50 {percentile(values, 0.5) * 1000:7.1f} ms  "
              f"p99 {percentile(values, 0.99) * 1000:7.1f} ms")
    print(f"  {'all':9s} {len(everything):7,}  p50 {percentile(everything, 0.5) * 1000:7.1f} ms"
          f"  p99 {percentile(everything, 0.99) * 1000:7.1f} ms  "
          f"mean {statistics.fmean(everything) * 1000 if everything else 0:.1f} ms")
    print(f"errors: {stats.errors}  5xx: {stats.server_errors}")
    if stats.first_error:
        print(f"first error: {stats.first_error}")
    return 0 if stats.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
