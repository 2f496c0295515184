"""How does `nkb serve` hold up under load? 50 clients against one server process on loopback.

    python benchmarks/serve.py                            # 60 s, 50 clients
    python benchmarks/serve.py --seconds 10               # a quick run
    python benchmarks/serve.py --baseline main --rounds 2 # main and this tree, side by side
    python benchmarks/serve.py --port 8080                # a server already running

Starts `nkb serve` (one uvicorn process) on a free 127.0.0.1 port, then runs --clients clients
(asyncio tasks), each with its own keep-alive connection, sending in turn a patient-view hook (random FHIR
prefetch: ANC in 10*3/uL or /uL, temperature in Cel or [degF], sometimes a full blood count
instead) and a POST /evaluate (random patient), for --seconds. Prints requests per second,
p50/p99 latency per kind and overall, errors (a failed request or any status other than 200),
the 5xx count and the server's CPU time per request. Targets: 0 errors, no 5xx, p99 under
100 ms.

The bodies are made before the clock starts, so the clients spend their share of the cores on
HTTP only; they still share the machine with the server (and with anything else running), so
the latencies are a floor, not a ceiling. The server's CPU milliseconds per request do not
depend much on how busy the machine is: they are the figure to compare across runs. The
server's share of a core and its time waiting for one (Linux schedstat) tell a server short of
work from one short of a core; the client's own CPU per request shows whether the load
generator is the bottleneck. --baseline REV
also serves a git revision (git archive of its src/ and schema/) and runs the two in turns
(baseline, this tree; --rounds times), so both meet the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
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
        self.latency: dict[str, list[float]] = {"hook": [], "evaluate": []}
        self.errors = 0
        self.server_errors = 0
        self.failed = 0  # no answer at all (connection refused, reset, timeout)
        self.first_error = ""


def bodies(seed: int, count: int) -> list[tuple[str, str, bytes]]:
    """(kind, path, body) in turn, hook then /evaluate, made before the clock starts."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        if (i + seed) % 2 == 0:
            out.append(("hook", SERVICE, json.dumps(random_hook(rng)).encode()))
        else:
            out.append(("evaluate", "/evaluate", json.dumps(random_patient(rng)).encode()))
    return out


def request_bytes(path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def client(port: int, work: list[tuple[str, str, bytes]], stop_at: float,
                 stats: Stats) -> None:
    """One keep-alive connection sending requests back to back. asyncio rather than a thread per
    client: 50 threads contending for the GIL added their own queueing to the latencies."""
    requests = [(kind, request_bytes(path, body)) for kind, path, body in work]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    while time.monotonic() < stop_at:
        kind, data = requests[i % len(requests)]
        i += 1
        start = time.perf_counter()
        try:
            writer.write(data)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            status = int(head.split(b" ", 2)[1])
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            content = await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, StopIteration,
                ValueError) as exc:
            stats.errors += 1
            stats.failed += 1
            stats.first_error = stats.first_error or f"{kind}: {exc!r}"
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        stats.latency[kind].append(time.perf_counter() - start)
        if status != 200:
            stats.errors += 1
            stats.server_errors += status >= 500
            stats.first_error = stats.first_error or f"{kind}: HTTP {status}: {content[:200]!r}"
    writer.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (Linux /proc); NaN elsewhere."""
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def waited_seconds(pid: int | None) -> float:
    """Time the process's threads spent ready to run but waiting for a core (Linux
    /proc/PID/task/*/schedstat, second field); NaN elsewhere. On a shared machine this says
    whether the server was short of work or short of a core."""
    if pid is None:
        return float("nan")
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return total / 1e9


def start_server(port: int, pythonpath: str | None) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    # The server's own log (warnings and any traceback) goes to this process's stderr.
    server = subprocess.Popen([sys.executable, "-m", "neutropenia_kb", "serve", "--port",
                               str(port), "--rules", str(ROOT / "rules"), "--log-level",
                               "warning"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 90
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("nkb serve did not start") from None
            time.sleep(0.2)


def run(port: int, pid: int | None, clients: int, seconds: float) -> dict[str, Any]:
    stats = Stats()
    work = [bodies(seed, 400) for seed in range(clients)]
    # Warm up: the first explanation builds the knowledge base's parsed conditions.
    warm = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _, path, data in work[0][:4]:
        warm.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        warm.getresponse().read()
    warm.close()
    cpu_before = cpu_seconds(pid)
    waited_before = waited_seconds(pid)
    client_before = time.process_time()
    stop_at = time.monotonic() + seconds
    began = time.monotonic()

    async def everyone() -> None:
        await asyncio.gather(*(client(port, w, stop_at, stats) for w in work))

    asyncio.run(everyone())
    elapsed = time.monotonic() - began
    client_cpu = time.process_time() - client_before
    server_cpu = cpu_seconds(pid) - cpu_before
    everything = stats.latency["hook"] + stats.latency["evaluate"]
    answered = len(everything)
    return {"elapsed": elapsed, "total": answered + stats.failed, "stats": stats,
            "all": everything,
            "cpu_ms": server_cpu * 1000 / max(answered, 1),
            "server_busy": server_cpu / elapsed,
            "server_waited": (waited_seconds(pid) - waited_before) / elapsed,
            "client_cpu_ms": client_cpu * 1000 / max(answered, 1),
            "client_busy": client_cpu / elapsed}


def report(label: str, r: dict[str, Any], clients: int) -> None:
    stats: Stats = r["stats"]
    everything = r["all"]
    print(f"[{label}] {clients} clients, {r['elapsed']:.1f} s, one server process on "
          f"127.0.0.1; server CPU {r['cpu_ms']:.2f} ms per request")
    print(f"  server on a core {r['server_busy']:.0%} of the time, waiting for one "
          f"{r['server_waited']:.0%} (summed over its threads)")
    print(f"  requests: {r['total']:,}  ({r['total'] / r['elapsed']:,.0f} requests/s)")
    for kind in ("hook", "evaluate"):
        values = stats.latency[kind]
        print(f"  {kind:9s} {len(values):7,}  p50 {percentile(values, 0.5) * 1000:7.1f} ms  "
              f"p99 {percentile(values, 0.99) * 1000:7.1f} ms")
    print(f"  {'all':9s} {len(everything):7,}  p50 {percentile(everything, 0.5) * 1000:7.1f} ms"
          f"  p99 {percentile(everything, 0.99) * 1000:7.1f} ms  "
          f"mean {statistics.fmean(everything) * 1000 if everything else 0:.1f} ms")
    print(f"  {'':9s} {'':7s}  p90 {percentile(everything, 0.9) * 1000:7.1f} ms  p99.9 "
          f"{percentile(everything, 0.999) * 1000:7.1f} ms  max "
          f"{max(everything, default=float('nan')) * 1000:.1f} ms")
    print(f"  errors: {stats.errors}  5xx: {stats.server_errors}  (client CPU "
          f"{r['client_cpu_ms']:.2f} ms per request, {r['client_busy']:.0%} of a core)")
    if stats.first_error:
        print(f"  first error: {stats.first_error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--port", type=int, help="load a server already running on this port")
    parser.add_argument("--baseline", metavar="REV",
                        help="also serve git revision REV (its src/ and schema/) and compare, in turns")
    parser.add_argument("--rounds", type=int, default=1, help="turns with --baseline")
    args = parser.parse_args()
    if args.port:
        r = run(args.port, None, args.clients, args.seconds)
        report(f"port {args.port}", r, args.clients)
        return 0 if r["stats"].errors == 0 else 1
    with tempfile.TemporaryDirectory() as tmp:
        trees: list[tuple[str, str | None]] = [("this tree", None)]
        if args.baseline:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "src",
                                      "schema"], check=True, capture_output=True).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(tmp, filter="data")
            trees.insert(0, (args.baseline, str(Path(tmp) / "src")))
        errors = 0
        for _ in range(args.rounds if args.baseline else 1):
            for label, path in trees:
                port = free_port()
                server = start_server(port, path)
                try:
                    r = run(port, server.pid, args.clients, args.seconds)
                finally:
                    server.terminate()
                    try:
                        server.wait(timeout=30)
                    except subprocess.TimeoutExpired:  # a loaded machine: do not hang on it
                        print(f"[{label}] the server did not stop in 30 s; killed")
                        server.kill()
                        server.wait()
                report(label, r, args.clients)
                errors += r["stats"].errors
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
