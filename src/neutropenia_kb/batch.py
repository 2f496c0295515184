"""Streaming batches: CSV or JSON Lines in, CSV or JSON Lines out, one row at a time.

Memory stays flat whatever the file size: rows are read, evaluated and written one by one.
A bad row does not stop the batch: it is written out with its `error` column filled in, and
counted (with the first few messages kept) in the summary.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, TextIO

from .evaluate import Evaluator, Result
from .problems import InputError

RESULT_COLUMNS = ("severity", "urgency", "urgency_certain", "settle_with", "anc_cells_per_ul",
                  "fever", "scope_warnings", "advice_ids", "error")
KEEP_ERRORS = 20  # messages kept for the summary; all bad rows are in the output anyway


@dataclass
class Summary:
    rows: int = 0
    errors: int = 0
    first_errors: list[str] = field(default_factory=list)


def format_of(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return None


def read_rows(stream: TextIO, fmt: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs; the line number is what an editor or spreadsheet shows."""
    if fmt == "csv":
        reader = csv.DictReader(stream)
        for row in reader:
            yield reader.line_num, {k: v for k, v in row.items() if k is not None}
        return
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            row = {"__error__": f"not valid JSON ({exc.msg} at column {exc.colno})"}
        if not isinstance(row, dict):
            row = {"__error__": "each line must be a JSON object such as {\"anc\": 800}"}
        yield number, row


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return str(value)


def result_fields(result: Result | None, error: str | None) -> dict[str, Any]:
    if result is None:
        return {name: None for name in RESULT_COLUMNS[:-1]} | {"error": error}
    return result.decision_json() | {"error": None}


class _Writer:
    def __init__(self, stream: TextIO, fmt: str) -> None:
        self.stream = stream
        self.fmt = fmt
        self.csv: Any = None

    def write(self, line: int, row: dict[str, Any], fields: dict[str, Any]) -> None:
        if self.fmt == "jsonl":
            out = {"line": line}
            if "id" in row:
                out["id"] = row["id"]
            out.update(fields)
            self.stream.write(json.dumps(out, ensure_ascii=False) + "\n")
            return
        if self.csv is None:
            # Input columns first (a bad row is carried through as it was), then the results.
            inputs = [k for k in row if k not in RESULT_COLUMNS and k != "__error__"]
            self.columns = ["line", *inputs, *RESULT_COLUMNS]
            self.csv = csv.DictWriter(self.stream, self.columns, extrasaction="ignore")
            self.csv.writeheader()
        cells = {k: _cell(v) for k, v in row.items()}
        cells.update({k: _cell(v) for k, v in fields.items()})
        cells["line"] = str(line)
        self.csv.writerow(cells)


def run(evaluator: Evaluator, rows: Iterable[tuple[int, dict[str, Any]]], out: TextIO,
        fmt: str, on_row: Callable[[], None] | None = None) -> Summary:
    """Evaluate every row and write it to ``out`` in ``fmt``; returns counts and first errors."""
    summary = Summary()
    writer = _Writer(out, fmt)
    evaluate = evaluator.evaluate
    for line, row in rows:
        summary.rows += 1
        error = row.get("__error__")
        result = None
        if error is None:
            try:
                result = evaluate(row)
            except InputError as exc:
                error = str(exc)
        if error is not None:
            summary.errors += 1
            if len(summary.first_errors) < KEEP_ERRORS:
                summary.first_errors.append(f"line {line}: {error}")
        writer.write(line, row, result_fields(result, error))
        if on_row is not None:
            on_row()
    return summary
