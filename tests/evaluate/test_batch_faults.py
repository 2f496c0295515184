"""Batches lose nothing: real files with real faults, through the CLI and the library.

Each test checks that every row is in the output at its physical line, that the faulty rows carry
their own error, the exit status, that no traceback is shown, and that the inputs are unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from neutropenia_kb import evaluator_for
from neutropenia_kb.core.output_files import atomic_output
from neutropenia_kb.core.problems import UsageError
from neutropenia_kb.engine.batch import MAX_CELL_CHARS, Rows, accepted_columns, jsonl_columns, run


def nkb(repo: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "neutropenia_kb", *args, "--rules",
                           str(repo / "rules")], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=300)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    return done


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


# line -> the fault's bytes; every other line 2..15 is a good row.
CSV_FAULTS: dict[int, tuple[bytes, str]] = {
    4: (b'p4,"500,37,', "the quote opened at column 4 is not closed on this line"),
    6: (b"p6,5\xff00,37,", "not valid UTF-8: byte 0xff at column 5"),
    8: (b"p8,700,37,,x,y,z", "3 cells more than the header (4 columns)"),
    9: (b"p9,700", "2 cells fewer than the header (4 columns)"),
    10: (b"p10," + b"9" * (MAX_CELL_CHARS + 1) + b",37,",
         f"anc: the cell holds {MAX_CELL_CHARS + 1:,} characters"),
    12: (b"p12,nan,37,", "anc: 'nan'"),
    13: (b'p13,"1"2,37,', "goes on after its closing quote"),
}


def faulty_csv(path: Path) -> set[int]:
    """Lines 2-15 with the faults above, a blank line 11 and CRLF endings; the good lines."""
    lines = [b"id,anc,temperature,symptoms"]
    for number in range(2, 16):
        fault = CSV_FAULTS.get(number)
        lines.append(b"" if number == 11 else fault[0] if fault else
                     f'p{number},{400 + number},"37",cough'.encode())
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    return set(range(2, 16)) - set(CSV_FAULTS) - {11}


def test_each_csv_fault_is_its_rows_error_at_its_line(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "faults.csv"
    good = faulty_csv(source)
    before = digest(source)
    done = nkb(repo, "evaluate", "faults.csv", "-o", "out.csv", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    rows = read_csv(tmp_path / "out.csv")
    # every non-blank line is one row, in order, at its physical line (an open quote does not
    # swallow the rows after it)
    assert [int(r["line"]) for r in rows] == sorted(good | set(CSV_FAULTS))
    for row in rows:
        line = int(row["line"])
        if line in good:
            assert row["error"] == "" and row["id"] == f"p{line}"
            assert row["severity"] == "severe" and row["anc_cells_per_ul"] == str(400 + line)
        else:
            assert CSV_FAULTS[line][1] in row["error"] and row["severity"] == ""
            assert f"faults.csv:{line}: error: row {line}: " in done.stderr
    assert f"{len(CSV_FAULTS)} of {len(rows)} rows had bad input" in done.stderr
    assert digest(source) == before


def test_the_library_accounts_for_every_row_too(kb: Any, tmp_path: Path) -> None:
    source = tmp_path / "faults.csv"
    good = faulty_csv(source)
    out = io.StringIO()
    with source.open("rb") as stream:
        rows = Rows(stream, "csv", accepted_columns(evaluator_for(kb)), source)
        summary = run(evaluator_for(kb), rows, out, "csv", rows.columns, source=source)
    assert (summary.rows, summary.errors, summary.bugs) == (len(good) + len(CSV_FAULTS),
                                                            len(CSV_FAULTS), 0)
    assert [p.line for p in summary.first_errors] == sorted(CSV_FAULTS)
    written = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(written) == summary.rows


JSONL_FAULTS = {
    2: ('{"id": 2, "anc": NaN}', "NaN is not a number"),
    3: ('{"id": 3, "anc": -Infinity}', "-Infinity is not a number"),
    4: ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    5: ('{"id": 5, "anc": 400, "anc": 900}', "the key 'anc' is given twice"),
    6: ('{"id": 6, "anc": ' + "9" * 5000 + "}", "a number with 5,000 digits"),
    7: ("[1, 2]", "each line must be a JSON object"),
    8: ('{"id": 8, "anc": 4', "not valid JSON"),
    9: ('{"id": 9, "temperature": {"value": 37, "unit": "C"}, "anc": "lots"}', "anc: 'lots'"),
}


def test_each_json_lines_fault_is_its_rows_error_and_csv_keeps_every_key(
        repo: Path, tmp_path: Path) -> None:
    lines = ['{"id": 1, "anc": 800}', *JSONL_FAULTS.values()]
    text = "\n".join(line if isinstance(line, str) else line[0] for line in lines)
    text += '\n{"id": "x\\u00e9", "wbc": "2.5 G/L", "neutrophils_percent": 40}\n'
    text += '{"id": 11, "age_years": 40, "anc": 1.5e3}\n'
    source = tmp_path / "in.jsonl"
    source.write_bytes(text.encode() + b'{"id": 12, "anc": "8\xe900"}\n')
    before = digest(source)
    done = nkb(repo, "evaluate", "in.jsonl", "-o", "out.csv", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    rows = read_csv(tmp_path / "out.csv")
    assert [int(r["line"]) for r in rows] == list(range(1, 13))
    # the columns of every row, in first-seen order, even those only a late row has
    assert list(rows[0])[:7] == ["line", "id", "anc", "temperature", "wbc",
                                 "neutrophils_percent", "age_years"]
    for row in rows:
        line = int(row["line"])
        if line in JSONL_FAULTS:
            assert JSONL_FAULTS[line][1] in row["error"] and row["severity"] == "", row
        elif line == 12:
            assert "not valid UTF-8: byte 0xe9" in row["error"]
        else:
            assert row["error"] == "" and row["severity"], row
    assert rows[8]["temperature"] == '{"value": 37, "unit": "C"}'  # an object cell is JSON
    assert rows[10]["anc"] == "1.5E+3" and rows[10]["severity"] == "normal"  # read exactly
    assert (rows[9]["severity"], rows[9]["anc_cells_per_ul"]) == ("mild", "1000")  # late keys
    assert digest(source) == before


def test_json_lines_from_a_pipe_are_spooled_for_their_columns(repo: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    text = '{"anc": 800}\n{"id": "b", "temperature": 38.5, "anc": 300}\n'
    writer = threading.Thread(target=fifo.write_text, args=(text,))
    writer.start()
    done = nkb(repo, "evaluate", "pipe.jsonl", "-o", "out.csv", cwd=tmp_path)
    writer.join()
    assert done.returncode == 0, done.stderr
    rows = read_csv(tmp_path / "out.csv")
    assert [(r["line"], r["id"], r["temperature"], r["urgency"]) for r in rows] == \
        [("1", "", "", "emergency"), ("2", "b", "38.5", "emergency")]


@pytest.mark.parametrize(("header", "message"), [
    ("id,anc,anc,temperature", "column 3: 'anc' repeats column 2; give each input once"),
    ("id,anc,tempreature", "column 3: 'tempreature' is not an input; did you mean "
     "'temperature'? The columns allowed are: id, name, test_date, anc, wbc,"),
    ("id,anc,", "column 3: the column has no name"),
])
def test_a_bad_header_stops_the_file_before_any_row(repo: Path, tmp_path: Path, header: str,
                                                     message: str) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"{header}\n1,800,37\n", encoding="utf-8")
    done = nkb(repo, "evaluate", "in.csv", "-o", "out.csv", cwd=tmp_path)
    assert done.returncode == 2
    assert f"in.csv:1: error: {message}" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # nothing written, no temp


def test_output_never_overwrites_an_input(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,anc\n1,800\n", encoding="utf-8")
    (tmp_path / "link.csv").symlink_to(source)
    os.link(source, tmp_path / "hard.csv")
    patient = tmp_path / "p.yaml"
    patient.write_text("anc: 800\n", encoding="utf-8")
    before = digest(source), digest(patient)
    for args in (["evaluate", "in.csv", "-o", "in.csv"], ["evaluate", "in.csv", "-o", "link.csv"],
                 ["evaluate", "in.csv", "-o", "hard.csv"],
                 ["evaluate", "in.csv", "-o", str(source)],
                 ["evaluate", "p.yaml", "-o", "p.yaml"],
                 ["leaflet", "--patient", "p.yaml", "-o", "p.yaml"]):
        done = nkb(repo, *args, cwd=tmp_path)
        assert done.returncode == 2, args
        assert "writing there would destroy it" in done.stderr, done.stderr
    assert (digest(source), digest(patient)) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.csv", "in.csv", "link.csv",
                                                          "p.yaml"]


def test_a_missing_output_folder_is_a_usage_error(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("anc\n800\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text("anc: 800\n", encoding="utf-8")
    for args in (["evaluate", "in.csv", "-o", "no/out.csv"],
                 ["evaluate", "p.yaml", "-o", "no/out.txt"]):
        done = nkb(repo, *args, cwd=tmp_path)
        assert done.returncode == 2
        assert "the folder 'no' does not exist; create it first" in done.stderr
    assert not (tmp_path / "no").exists()


def test_a_failed_write_leaves_the_old_file_and_no_part_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o600)
    with pytest.raises(RuntimeError):
        with atomic_output(target) as out:
            out.write("half a file")
            raise RuntimeError("the run failed here")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    with atomic_output(target) as out:
        out.write("new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert target.stat().st_mode & 0o777 == 0o600  # private results stay private
    with pytest.raises(UsageError, match="cannot write in"):
        with atomic_output(tmp_path / "missing" / "x.csv"):
            pass


def test_a_symlink_at_the_output_is_replaced_not_written_through(repo: Path,
                                                                 tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"anc": 800}\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me\n", encoding="utf-8")
    (tmp_path / "out.jsonl").symlink_to(elsewhere)
    done = nkb(repo, "evaluate", "in.jsonl", "-o", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert elsewhere.read_text(encoding="utf-8") == "keep me\n"
    out = tmp_path / "out.jsonl"
    assert not out.is_symlink() and json.loads(out.read_text(encoding="utf-8"))["line"] == 1


def test_jsonl_columns_first_seen_order() -> None:
    stream = io.BytesIO(b'{"b": 1}\nbroken\n{"a": 2, "b": 3}\n\n{"c": [1]}\n')
    assert jsonl_columns(stream) == ["b", "a", "c"]
