"""The pathological patient inputs of issue 12, shared by the tests and the timing script.

Run ``python tests/evaluate/bad_inputs.py`` to time each one (every case in its own process,
killed after ``--timeout`` seconds, so a case that hangs cannot hang the table).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from neutropenia_kb import evaluate

DEEP = 100_000  # levels of nesting: far past Python's recursion limit

# Given to Evaluator.evaluate as they are (the Python API, and what a batch row becomes).
API_CASES: dict[str, dict[str, Any]] = {
    "nan string": {"anc": "NaN"},
    "infinity string": {"temperature": "Infinity"},
    "-infinity string": {"temperature": "-Infinity"},
    "nan float": {"anc": float("nan")},
    "infinity float": {"temperature": float("inf")},
    "int over 4300 digits": {"anc": 10**5000},
    "'1e10000000'": {"anc": "1e10000000"},
    "'1e-1000000'": {"anc": "1e-1000000"},
    "'1e10000000 F'": {"temperature": "1e10000000 F"},
    "{value: '1e10000000'}": {"anc": {"value": "1e10000000", "unit": "G/L"}},
    "boolean for a number": {"anc": True},
    "symptoms [[fever]]": {"symptoms": [["fever"]]},
    "symptoms [{a: 1}]": {"symptoms": [{"a": 1}]},
    "symptoms [5]": {"symptoms": [5]},
    "unit as a list": {"anc": {"value": 1, "unit": ["G/L"]}},
    "boolean as a list": {"on_chemotherapy": [True]},
    "deep list value": {"anc": [[[[[[[[[[[[1]]]]]]]]]]]]},
    "control characters in a name": {"a\x1b[31mnc\n": 800},
    "control characters in a value": {"anc": "8\x1b[2J00"},
    "1 MB value": {"anc": "9" * 1_000_000},
    "1 MB name": {"x" * 1_000_000: 1},
}


def _nested_json(depth: int) -> bytes:
    return b'{"anc": ' + b"[" * depth + b"]" * depth + b"}"


def _nested_yaml(depth: int) -> bytes:
    return b"anc: " + b"[" * depth + b"]" * depth + b"\n"


# Written to a file and read as `nkb evaluate FILE` reads it: (file name, bytes, the field the
# message must name, or None where the fault is the file's shape rather than one field).
FILE_CASES: dict[str, tuple[str, bytes, str | None]] = {
    "json NaN token": ("p.json", b'{"anc": NaN}', "anc"),
    "json Infinity token": ("p.json", b'{"temperature": Infinity}', "temperature"),
    "json -Infinity token": ("p.json", b'{"temperature": -Infinity}', "temperature"),
    "yaml .nan": ("p.yaml", b"temperature: .nan\n", "temperature"),
    "yaml .inf": ("p.yaml", b"temperature: .inf\n", "temperature"),
    "json int over 4300 digits": ("p.json", b'{"anc": ' + b"1" * 5000 + b"}", "anc"),
    "yaml int over 4300 digits": ("p.yaml", b"anc: " + b"1" * 5000 + b"\n", "anc"),
    "json 1e40000000": ("p.json", b'{"anc": 1e40000000}', "anc"),
    "json 1e-1000000": ("p.json", b'{"anc": 1e-1000000}', "anc"),
    "yaml 1.0e+40000000": ("p.yaml", b"anc: 1.0e+40000000\n", "anc"),
    "json 999 kB of digits": ("p.json", b'{"anc": 1.' + b"1" * 999_000 + b"}", "anc"),
    "json over 1 MB": ("p.json", b'{"id": "' + b"x" * 1_000_000 + b'"}', None),
    "json deep nesting": ("p.json", _nested_json(DEEP), None),
    "yaml deep nesting": ("p.yaml", _nested_yaml(DEEP), None),
    "yaml recursive alias": ("p.yaml", b"anc: &a [*a]\n", None),
    "json duplicate key": ("p.json", b'{"anc": 400,\n "anc": 4000}', "anc"),
    "json symptoms [[fever]]": ("p.json", b'{"symptoms": [["fever"]]}', "symptoms"),
    "json true for a number": ("p.json", b'{"anc": true}', "anc"),
    "json not UTF-8": ("p.json", b'{"anc": "\xff"}', None),
    "yaml control characters in a name": ("p.yaml", b'"a\\e[31mnc": 800\n', "a\\x1b[31mnc"),
}


def run_case(name: str, workdir: Path) -> tuple[float, str]:
    """(seconds, outcome) for one case: read as the CLI reads it, then evaluated."""
    import neutropenia_kb
    from neutropenia_kb.core.problems import NkbError
    from neutropenia_kb.engine.patient_file import read_patient

    kb = neutropenia_kb.load(Path(__file__).resolve().parents[2] / "rules")
    if name in API_CASES:
        patient: Any = API_CASES[name]
        path = None
    else:
        filename, data, _ = FILE_CASES[name]
        path = workdir / filename
        path.write_bytes(data)
    evaluate(kb, {"anc": 800})  # warm: the first evaluation builds lazy tables
    best = float("inf")
    for _ in range(5):  # the best of five: the machine is shared
        start = time.perf_counter()
        try:
            evaluate(kb, read_patient(str(path)) if path is not None else patient)
            outcome = "accepted"
        except NkbError as exc:
            outcome = f"{type(exc).__name__}: {str(exc)[-70:]!r}"
        except BaseException as exc:  # what the table is for: anything else is a crash
            outcome = f"CRASH {type(exc).__name__}"
        best = min(best, time.perf_counter() - start)
    return best, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            seconds, outcome = run_case(args.one, Path(tmp))
        print(f"{seconds * 1000:10.1f} ms  {outcome}")
        return
    for name in [*API_CASES, *FILE_CASES]:
        try:
            done = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True,
                                  text=True, timeout=args.timeout)
            line = done.stdout.strip() or f"exit {done.returncode}: {done.stderr[-100:]!r}"
        except subprocess.TimeoutExpired:
            line = f"> {args.timeout:.0f} s (killed)"
        print(f"{name:36} {line}", flush=True)


if __name__ == "__main__":
    main()
