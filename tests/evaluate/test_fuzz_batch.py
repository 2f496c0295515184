"""Fuzzing batches (issue 12): whatever bytes a batch holds, every row is accounted for.

Each non-blank physical line after a CSV header (or each non-blank JSON Lines line) comes out as
exactly one output row, at its own line number and in order; a row that cannot be read or
evaluated carries its error; nothing but the project's own errors is raised, and no row is
counted as a bug in nkb.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neutropenia_kb
from neutropenia_kb.engine.batch import Rows, accepted_columns, run
from neutropenia_kb.engine.evaluate import Evaluator

REPO = Path(__file__).resolve().parents[2]
HEADER = ["id", "anc", "temperature", "symptoms", "on_chemotherapy", "age_years"]

CELLS = st.one_of(
    st.sampled_from(["", "800", "0.4 10^9/L", "38.2", "100.4 F", "fever;cough", "yes", "no",
                     "NaN", "inf", "1e10000000", "-5", "9" * 5000, "0,4 G/L", "2.5", "\"",
                     "\"open", "a\"b", "\x00", "\x1b[31m", "chills|shortness_of_breath", "0.5"]),
    st.text(max_size=12),
)


def _csv_line(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue().encode("utf-8")


CSV_LINE = st.one_of(
    st.lists(CELLS, min_size=0, max_size=9).map(_csv_line),
    st.lists(CELLS, min_size=len(HEADER), max_size=len(HEADER)).map(_csv_line),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
)
JSON_LINE = st.one_of(
    st.dictionaries(st.sampled_from(HEADER + ["wbc", "neutrophils_percent", "x"]),
                    st.one_of(CELLS, st.integers(), st.floats(), st.booleans(), st.none(),
                              st.lists(CELLS, max_size=3)), max_size=6)
    .map(lambda d: json.dumps(d).encode("utf-8")),
    st.sampled_from([b"[1, 2]", b"{\"anc\": NaN}", b"{\"anc\": 1, \"anc\": 2}", b"{" * 5000,
                     b"{\"anc\": 1e40000000}", b"not json", b"\xff\xfe"]),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
)


def _expected_lines(data: bytes, skip_header: bool) -> list[int]:
    """The physical lines that must come out as rows: every line that is not blank, after the
    header (the first non-blank line) for CSV."""
    numbers = []
    header_seen = not skip_header
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        if not header_seen:
            header_seen = True
            continue
        numbers.append(number)
    return numbers


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return neutropenia_kb.evaluator_for(neutropenia_kb.load(REPO / "rules"))


def _run(evaluator: Evaluator, data: bytes, fmt: str) -> tuple[list[dict[str, str]], int]:
    rows = Rows(io.BytesIO(data), fmt, accepted_columns(evaluator))
    out = io.StringIO()
    columns = rows.columns if fmt == "csv" else HEADER
    summary = run(evaluator, rows, out, "csv", columns)
    assert summary.bugs == 0, summary.first_errors
    return list(csv.DictReader(io.StringIO(out.getvalue()))), summary.rows


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(CSV_LINE, max_size=12))
def test_every_csv_row_is_accounted_for(evaluator: Evaluator, lines: list[bytes]) -> None:
    data = b"\n".join([",".join(HEADER).encode(), *lines]) + b"\n"
    written, counted = _run(evaluator, data, "csv")
    expected = _expected_lines(data, skip_header=True)
    assert [int(r["line"]) for r in written] == expected
    assert counted == len(expected)
    for row in written:
        assert row["error"] or row["severity"], row  # decided, or its error is written


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(JSON_LINE, max_size=12))
def test_every_json_line_is_accounted_for(evaluator: Evaluator, lines: list[bytes]) -> None:
    data = b"\n".join(lines) + b"\n"
    written, counted = _run(evaluator, data, "jsonl")
    expected = _expected_lines(data, skip_header=False)
    assert [int(r["line"]) for r in written] == expected
    assert counted == len(expected)
    for row in written:
        assert row["error"] or row["severity"], row
