"""A patient file (YAML or JSON, or stdin) → the mapping the evaluator reads.

YAML goes through the knowledge base's safe loader, JSON through patient.read_json (exact
numbers, duplicate keys refused); every fault is a UsageError pointing at the file and line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from neutropenia_kb.core.problems import Problem, UsageError, render_all, show_value
from neutropenia_kb.engine.patient import read_json
from neutropenia_kb.kb.loader import load_text, not_utf8

MAX_PATIENT_BYTES = 1_000_000  # a patient is a few lines; read no more than this from a file


def read_patient(name: str) -> Any:
    """A patient mapping from a file or stdin; YAML goes through our safe loader, JSON through
    patient.read_json (exact numbers, duplicate keys refused). Every fault, whatever the bytes,
    is a UsageError (exit 2) pointing at the file, with its line when one is known."""
    shown = show_value(name)
    if name == "-":
        raw = sys.stdin.buffer.read(MAX_PATIENT_BYTES + 1)
        path = Path("<stdin>")
    else:
        path = Path(name)
        if path.suffix.lower() not in (".yaml", ".yml", ".json"):
            raise UsageError(f"'{shown}': give a .yaml, .yml or .json patient, a .csv or .jsonl "
                             "batch, or - for stdin")
        try:
            with path.open("rb") as stream:
                raw = stream.read(MAX_PATIENT_BYTES + 1)
        except OSError as exc:
            raise UsageError(f"cannot read '{shown}': {exc.strerror}") from None
    if len(raw) > MAX_PATIENT_BYTES:
        raise UsageError(f"'{shown}' is over {MAX_PATIENT_BYTES:,} bytes; a patient file is a "
                         "few lines (for many patients, give a .csv or .jsonl batch)")
    if path.suffix.lower() == ".json" or raw.lstrip().startswith(b"{"):
        try:
            return read_json(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            problems = [not_utf8(path, raw, exc)]
        except json.JSONDecodeError as exc:
            problems = [Problem(path, exc.lineno, exc.colno, "", exc.msg)]
        raise UsageError("the patient file cannot be read:\n" + render_all(problems))
    try:
        doc, problems = load_text(path, raw)
    except RecursionError:  # the loader recurses per level, and forever on `a: &x [*x]`
        problems = [Problem(path, None, None, "", "nested too deeply, or an alias ('*name') "
                            "refers to itself; a patient needs three levels at most")]
        doc = None
    if doc is None or problems:
        raise UsageError("the patient file cannot be read:\n" + render_all(problems))
    return doc.data
