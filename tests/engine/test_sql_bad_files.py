"""Files and cells that break an SQL engine's reading, through DuckDB as a user runs it: the
same rows, errors and report as the Python engine, or the file handed to the Python engine
before anything is written, and never a failed batch or half a file."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from tests.engine.sql_rows import COLUMNS, nasty, write_csv
from tests.engine.test_sql_sameness import assert_same, duckdb_rows, python_rows

from neutropenia_kb import evaluator_for, load
from neutropenia_kb.cli import main
from neutropenia_kb.engine import scale

ROOT = Path(__file__).resolve().parents[2]
RULES = ["--rules", str(ROOT / "rules")]
HEADER = b"id,anc,wbc,neutrophils_percent\n"

# Each: a file batch.py reads line by line, but DuckDB's CSV reader would not (it refuses the
# line, or reads a row over two lines, or skips a line and moves every line number after it)
OTHER_ROWS = {
    "more cells": b"1,400,,\n2,300,,,9\n3,500,,\n",
    "fewer cells": b"1,400,,\n2,300\n3,500,,\n",
    "blank line": b"1,400,,\n\n3,500,,\n",
    "spaces only": b"1,400,,\n   \n3,500,,\n",
    "carriage return inside": b"1,400,,\n2,3\r00,,\n3,500,,\n",
    "not UTF-8": b"1,400,,\n2,\xff300,,\n3,500,,\n",
    "cell over two lines": b'1,400,,\n2,"3\n00",,\n3,500,,\n',
}


@pytest.fixture(scope="module")
def kb() -> Any:
    return load(ROOT / "rules")


@pytest.mark.parametrize("case", sorted(OTHER_ROWS))
def test_a_file_duckdb_would_read_otherwise_is_the_python_engines(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--engine duckdb on such a file used to fail the whole batch with a traceback (a row of
    more or fewer cells, bytes that are not UTF-8, a stray carriage return) or number every
    line after a blank one wrongly. Now the Python engine reads it, after a note saying why,
    and the user gets exactly the Python engine's file and report."""
    src = tmp_path / "in.csv"
    src.write_bytes(HEADER + OTHER_ROWS[case])
    codes, files, reports = {}, {}, {}
    for engine in ("python", "duckdb"):
        out = tmp_path / f"{engine}.csv"
        codes[engine] = main(["evaluate", str(src), "-o", str(out), "--engine", engine, *RULES])
        files[engine], reports[engine] = out.read_bytes(), capsys.readouterr().err
    assert codes["duckdb"] == codes["python"]
    assert files["duckdb"] == files["python"]
    note, _, rest = reports["duckdb"].partition("\n")
    assert note.startswith(f"nkb: {src}: ") and note.endswith(
        "; the python engine evaluates it instead"), note
    assert rest == reports["python"]


def test_such_a_file_to_parquet_is_refused_with_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The Python engine does not write Parquet: the user is told why and what to give."""
    src, target = tmp_path / "in.csv", tmp_path / "out.parquet"
    src.write_bytes(HEADER + OTHER_ROWS["blank line"])
    assert main(["evaluate", str(src), "-o", str(target), "--engine", "duckdb", *RULES]) == 2
    err = capsys.readouterr().err
    assert "reads 2 rows from its 3 lines" in err and "give -o a .csv or .jsonl name" in err
    assert err.count("\n") == 1 and not target.exists()


def test_run_duckdb_refuses_such_a_file_before_writing(kb: Any, tmp_path: Path) -> None:
    """The library call raises NotRowForRow (a usage error: exit 2, no traceback) and leaves
    an existing target as it was."""
    src, target = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(HEADER + OTHER_ROWS["blank line"])
    target.write_text("yesterday's results\n")
    with pytest.raises(scale.NotRowForRow, match=r"reads 2 rows from its 3 lines") as raised:
        scale.run_duckdb(kb, src, target)
    assert raised.value.exit_code == 2
    assert target.read_text() == "yesterday's results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]  # no leftovers


def test_what_both_engines_read_alike_stays_with_duckdb(
        kb: Any, tmp_path: Path) -> None:
    """What both engines read alike stays with DuckDB: blank lines after the last row (neither
    reads them), a UTF-8 byte-order mark (both skip it), a last line without its newline, a
    quote inside an unquoted cell (a character of it)."""
    for name, data in [("tail.csv", HEADER + b"1,400,,\n2,abc,,\n\n\n"),
                       ("quote.csv", HEADER + b'1,400,,\n2,3"00,,\n'),
                       ("bom.csv", b"\xef\xbb\xbf" + HEADER + b"1,400,,\n2,abc,,\n"),
                       ("open.csv", HEADER + b"1,400,,\n2,abc,,")]:
        src = tmp_path / name
        src.write_bytes(data)
        assert scale.count_lines(src) == 3, name
        assert_same(python_rows(kb, src), duckdb_rows(kb, src, tmp_path))


def test_duckdb_writes_the_target_whole_and_never_through_a_symlink(kb: Any,
                                                                   tmp_path: Path) -> None:
    """DuckDB writes a temporary file renamed onto the target when complete, as the Python
    engine's writer does: a symlink standing at the target is replaced, not written through,
    and an existing file's permissions are kept."""
    src, victim, target = tmp_path / "in.csv", tmp_path / "victim.txt", tmp_path / "out.csv"
    src.write_bytes(HEADER + b"1,400,,\n")
    victim.write_text("not yours\n")
    target.symlink_to(victim)
    scale.run_duckdb(kb, src, target)
    assert victim.read_text() == "not yours\n"
    assert not target.is_symlink() and target.read_text().startswith("line,id,anc")
    os.chmod(target, 0o600)
    scale.run_duckdb(kb, src, target)
    assert target.stat().st_mode & 0o777 == 0o600


def test_huge_numbers_in_a_unit_that_multiplies_are_bad_rows_not_a_failed_batch(
        kb: Any, tmp_path: Path) -> None:
    """A count of 4e19 ×10⁹/L is an out-of-range cell. DuckDB multiplied it into the base unit
    as DECIMAL(34, 12) × DECIMAL(34, 12), whose 128 bits overflowed from ~1.7e11, and the whole
    batch failed; the unit's factor is now typed as it is written. Both the count and the
    white cells of a derived count, next to cells at every decimal the SQL keeps."""
    src = tmp_path / "in.csv"
    cells = ["39609624613195515188.22 x10^9/L", "999999999999999999999 G/L", "1.7e11 G/L",
             "170000000000 10^9/L", "0.1234567891 10^9/L", "0.123456789012 ×10⁹/L", "1.5 G/L",
             "0.000000000001 G/L", "99999999999999999999 G/L"]
    rows = [{"id": str(i), "anc": cell} for i, cell in enumerate(cells)]
    rows += [{"id": f"w{i}", "wbc": cell, "neutrophils_percent": "40"}
             for i, cell in enumerate(cells)]
    write_csv(src, iter(rows))
    assert_same(python_rows(kb, src), duckdb_rows(kb, src, tmp_path))


def test_nasty_cells_give_the_same_rows_in_duckdb(kb: Any, tmp_path: Path) -> None:
    """Seeded cells no lab sends but spreadsheets and broken exports do (odd spaces and
    controls, other scripts' digits, signs and decimal marks, 20-40 digit numbers in every unit
    spelling, odd yes/no words and symptom separators, junk): every cell of every row as the
    Python engine writes it. A new seed each run, printed to reproduce a failure."""
    seed = int(time.time()) % 100_000
    print(f"seed {seed}")
    src = tmp_path / "nasty.csv"
    write_csv(src, nasty(seed, 4_000, evaluator_for(kb).program.symptoms), COLUMNS)
    assert_same(python_rows(kb, src), duckdb_rows(kb, src, tmp_path))
