"""The SQL backend's parts: its regex classes are Python's, its constants exact, and the view
`nkb sql` prints parses back through sqlglot and, installed in DuckDB, decides as Python does."""

from __future__ import annotations

import re
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot

from neutropenia_kb import evaluator_for, load
from neutropenia_kb.cli import main
from neutropenia_kb.core.problems import InputError
from neutropenia_kb.engine import sql_backend, sql_cells
from neutropenia_kb.engine.batch import RESULT_COLUMNS, _cell, result_fields
from neutropenia_kb.engine.compile import CompileError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kb() -> Any:
    return load(ROOT / "rules")


def test_character_classes_are_pythons() -> None:
    ws = re.compile(f"[{sql_backend._ws()}]")
    dig = re.compile(f"[{sql_backend._dig()}]")
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        assert bool(ws.match(char)) == bool(re.match(r"\s", char)), hex(code)
        assert bool(dig.match(char)) == bool(re.match(r"\d", char)), hex(code)


def test_known_character_runs_are_the_ones_worked_out() -> None:
    """The runs kept for a Unicode version (so `nkb evaluate` does not work them out at every
    start) are those _find_runs gives on this Python, when its version is kept."""
    import unicodedata

    from neutropenia_kb.engine import sql_expr

    for (version, pattern), runs in sql_expr._KNOWN_RUNS.items():
        if version == unicodedata.unidata_version:
            assert runs == sql_expr._find_runs(pattern), pattern


def test_constants_with_more_decimals_than_kept_are_refused() -> None:
    assert sql_backend.decimal(Fraction(1004, 10)).sql() == "CAST('100.400000000000' AS " \
        "DECIMAL(34, 12))"
    with pytest.raises(CompileError, match="more than 12 decimals"):
        sql_backend.decimal(Fraction(1, 3))


@pytest.mark.parametrize("dialect", sql_backend.DIALECTS)
def test_view_parses_back(dialect: str, capsys: pytest.CaptureFixture[str], kb: Any) -> None:
    assert main(["sql", "--dialect", dialect, "--table", "labs", "--rules",
                 str(ROOT / "rules")]) == 0
    text = capsys.readouterr().out
    assert f"decisions fingerprint {evaluator_for(kb).program.fingerprint}" in text.splitlines()[0]
    parsed = sqlglot.parse_one(text, read=dialect)
    assert isinstance(parsed, sqlglot.exp.Create)
    assert "kb_fingerprint" in parsed.expression.named_selects


def test_bad_table_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--table", "x; drop table y", "--rules", str(ROOT / "rules")]) == 2
    assert "--table" in capsys.readouterr().err



def test_view_installed_in_duckdb_decides_as_python(kb: Any) -> None:
    evaluator = evaluator_for(kb)
    text = sql_backend.view_sql(evaluator.program, sql_cells.Wording.of(evaluator.parser),
                                "duckdb", "labs")
    rows = [
        {"anc": "499.999999999", "temperature": "37.99999999999999999999", "symptoms": "cough",
         "on_chemotherapy": "yes", "age_years": "40"},
        {"wbc": "2.5 G/L", "neutrophils_percent": "40", "temperature": "35.9"},
        {"anc": "0.8 x10^9/L", "temperature": "38 K"},
        {"anc": "", "symptoms": "", "on_chemotherapy": "maybe"},
        {"neutrophils_percent": "70", "bands_percent": "40"},
    ]
    columns = [i.id for i in evaluator.program.inputs]
    con = duckdb.connect()
    con.execute("CREATE TABLE labs (" + ", ".join(f"{c} VARCHAR" for c in columns) + ")")
    for row in rows:
        con.execute("INSERT INTO labs VALUES (" + ", ".join("?" for _ in columns) + ")",
                    [row.get(c) for c in columns])
    con.execute(text)
    got = con.execute(f"SELECT {', '.join(RESULT_COLUMNS)}, kb_version FROM "
                      "labs_neutropenia_kb_decisions ORDER BY line").fetchall()
    for row, answer in zip(rows, got):
        try:
            fields = result_fields(evaluator.evaluate({k: v for k, v in row.items()}), None)
        except InputError as exc:
            fields = result_fields(None, str(exc))
        want = tuple(_cell(fields[k]) or None for k in RESULT_COLUMNS)
        assert answer[:-1] == want
        assert answer[-1] == kb.meta.version
    # More decimals than the view keeps: flagged, as accepted_divergences.yaml says.
    con.execute("INSERT INTO labs (anc) VALUES ('499.99999999999999999')")
    flags = con.execute("SELECT exact_in_sql FROM labs_neutropenia_kb_decisions WHERE anc = "
                        "'499.99999999999999999'").fetchall()
    assert flags == [(False,)]


def test_auto_engine_runs_big_plain_csv_on_duckdb(kb: Any, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`nkb evaluate FILE -o OUT` without --engine: DuckDB for a CSV to CSV of DUCKDB_FROM_BYTES
    or more with a header it can use; the Python engine for anything else, and for a file
    DuckDB finds it would read otherwise (here a blank line), without a note."""
    from tests.engine.sql_rows import lab_feed, write_csv

    from neutropenia_kb.engine.scale import DUCKDB_FROM_BYTES, auto_engine

    big, small = tmp_path / "big.csv", tmp_path / "small.csv"
    write_csv(big, lab_feed(3, 70_000, evaluator_for(kb).program.symptoms))
    write_csv(small, lab_feed(3, 50, evaluator_for(kb).program.symptoms))
    assert big.stat().st_size >= DUCKDB_FROM_BYTES > small.stat().st_size
    out = tmp_path / "out.csv"
    assert auto_engine(kb, big, out, False) == "duckdb"
    assert auto_engine(kb, small, out, False) == "python"
    assert auto_engine(kb, big, out, True) == "python"  # --unit
    assert auto_engine(kb, big, tmp_path / "out.jsonl", False) == "python"
    text = big.read_text(encoding="utf-8")
    units = tmp_path / "units.csv"
    units.write_text(text.replace("anc,", "anc [10^9/L],", 1), encoding="utf-8")
    assert auto_engine(kb, units, out, False) == "python"
    assert main(["evaluate", str(big), "-o", str(out), "--rules", str(ROOT / "rules")]) == 2
    with out.open(encoding="utf-8") as f:
        assert sum(1 for _ in f) == 70_001
    blank = tmp_path / "blank.csv"
    blank.write_text(text.replace("\n", "\n\n", 5), encoding="utf-8")
    assert auto_engine(kb, blank, out, False) == "duckdb"
    capsys.readouterr()
    reports = []
    for engine in ("auto", "python"):
        target = tmp_path / f"{engine}.csv"
        assert main(["evaluate", str(blank), "-o", str(target), "--engine", engine,
                     "--rules", str(ROOT / "rules")]) == 2
        reports.append(capsys.readouterr().err)
    assert reports[0] == reports[1]  # no note: auto chose DuckDB, not the user
    assert (tmp_path / "auto.csv").read_bytes() == (tmp_path / "python.csv").read_bytes()


@pytest.mark.parametrize("data", ["lab_feed", "patients"])
def test_duckdb_and_python_write_the_same_file_and_report(kb: Any, tmp_path: Path, data: str,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    """Whichever engine `--engine auto` picks, the user gets the same bytes (CRLF lines as the
    csv module writes them) and the same stderr: the first bad rows by line and 'N of M rows'."""
    from tests.engine import sql_rows

    src = tmp_path / "in.csv"
    sql_rows.write_csv(src, getattr(sql_rows, data)(5, 3_000, evaluator_for(kb).program.symptoms))
    outputs, reports = {}, {}
    for engine in ("python", "duckdb"):
        out = tmp_path / f"{engine}.csv"
        assert main(["evaluate", str(src), "-o", str(out), "--engine", engine,
                     "--rules", str(ROOT / "rules")]) == 2
        outputs[engine], reports[engine] = out.read_bytes(), capsys.readouterr().err
    assert outputs["duckdb"] == outputs["python"]
    assert reports["duckdb"] == reports["python"]
    lines = reports["python"].splitlines()
    assert len(lines) == 21 and lines[-1].startswith("nkb: ") and " of 3000 rows had bad" in lines[-1]
    assert [int(line.split(":")[1]) for line in lines[:-1]] == sorted(
        int(line.split(":")[1]) for line in lines[:-1])


def test_duckdb_keeps_the_rows_order_on_every_thread(kb: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The query runs on every thread, each reading row groups of the line-numbered file; the
    output still has the input's rows in order, CSV (byte for byte as the Python engine writes
    it) and Parquet alike. Small row groups so that the two threads interleave many."""
    from tests.engine.sql_rows import lab_feed, write_csv

    from neutropenia_kb.engine import scale

    monkeypatch.setattr(scale, "ROW_GROUP", 2048)
    src = tmp_path / "in.csv"
    write_csv(src, lab_feed(11, 40_000, evaluator_for(kb).program.symptoms))
    python = tmp_path / "python.csv"
    assert main(["evaluate", str(src), "-o", str(python), "--engine", "python",
                 "--rules", str(ROOT / "rules")]) == 2
    duck, parquet = tmp_path / "duck.csv", tmp_path / "duck.parquet"
    probed: list[bool] = []
    real = scale.ordered_copy
    monkeypatch.setattr(scale, "ordered_copy", lambda con, copy: probed.append(
        real(con, copy)) or probed[-1])
    scale.run_duckdb(kb, src, duck, threads=2)
    assert probed == [True]  # this DuckDB writes the CSV straight from the query
    assert duck.read_bytes() == python.read_bytes()
    # a DuckDB whose CSV copy does not keep the order: through Parquet and copy_out's parts
    asked: list[str] = []
    monkeypatch.setattr(scale, "ordered_copy", lambda con, copy: asked.append(copy) or False)
    scale.run_duckdb(kb, src, duck, threads=2)
    assert asked and duck.read_bytes() == python.read_bytes()
    monkeypatch.undo()
    monkeypatch.setattr(scale, "ROW_GROUP", 2048)
    scale.run_duckdb(kb, src, parquet, threads=2)
    con = duckdb.connect()
    lines = con.execute(f"SELECT line FROM read_parquet('{parquet}')").fetchall()
    assert [line for (line,) in lines] == list(range(2, 40_002))
    # Parquet in: each row's line is its row number in the file, from 1
    cells, again = tmp_path / "in.parquet", tmp_path / "again.parquet"
    con.execute(f"COPY (SELECT * FROM read_csv('{src}', all_varchar = true)) TO '{cells}'")
    scale.run_duckdb(kb, cells, again, threads=2)
    got = con.execute(f"SELECT line, id FROM read_parquet('{again}')").fetchall()
    assert [(line, int(i)) for line, i in got] == [(i + 1, i) for i in range(40_000)]


def test_duckdb_plan_keeps_the_order(kb: Any, tmp_path: Path) -> None:
    """DuckDB keeps the rows' order through scans and projections, not through joins (its
    optimizer makes an IN list of constants a join unless told not to): the plan of the query
    run_duckdb runs has scans and projections only."""
    from neutropenia_kb.engine import scale

    con = scale.connect(kb)
    names = [i.id for i in evaluator_for(kb).program.inputs]
    con.execute("CREATE TABLE src (line BIGINT, " + ", ".join(f"{n} VARCHAR" for n in names)
                + ")")
    plan = con.execute("EXPLAIN " + scale.duckdb_query(kb, "src", names, [])).fetchall()[0][1]
    operators = set(re.findall(r"─ ([A-Z][A-Za-z_ ]*[a-z]) ─", plan))
    assert operators == {"Projection", "Seq Scan"}, plan


def test_duckdb_progress_bar_only_when_asked(kb: Any, tmp_path: Path,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    """DuckDB draws its progress bar on standard output, on by default: a library run (and
    `nkb evaluate` into a pipe) must not write it into what the caller reads. With the bar's
    delay at 0 ms, a run prints nothing unless asked, and the bar when asked."""
    from tests.engine.sql_rows import lab_feed, write_csv

    from neutropenia_kb.engine import scale

    src = tmp_path / "in.csv"
    write_csv(src, lab_feed(5, 20_000, evaluator_for(kb).program.symptoms))
    real = scale.connect

    def eager(*args: Any, **kwargs: Any) -> Any:
        con = real(*args, **kwargs)
        con.execute("SET progress_bar_time = 0")  # (which also turns the bar itself on)
        return con

    for progress in (False, True):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(scale, "connect", eager)
            scale.run_duckdb(kb, src, tmp_path / "out.csv", progress=progress)
        out = capfd.readouterr().out
        assert (out != "") is progress, out[:200]


def test_a_file_of_no_rows_gives_its_header_on_every_engine(tmp_path: Path) -> None:
    """A CSV with a header and no rows: each engine writes the header of the output columns
    (the Python engine used to write an empty file, DuckDB the header)."""
    src = tmp_path / "empty.csv"
    src.write_text("id,anc,temperature\n", encoding="utf-8")
    outputs = {}
    for engine in ("python", "duckdb"):
        out = tmp_path / f"{engine}.csv"
        assert main(["evaluate", str(src), "-o", str(out), "--engine", engine,
                     "--rules", str(ROOT / "rules")]) == 0
        outputs[engine] = out.read_bytes()
    assert outputs["python"] == outputs["duckdb"] == (
        b"line,id,anc,temperature,severity,urgency,urgency_certain,settle_with,"
        b"anc_cells_per_ul,fever,scope_warnings,advice_ids,error\r\n")
