"""The same decisions on Spark (local mode, one session for the module): 10,000 seeded patients
through `--engine spark` against the Python engine, and the view `nkb sql --dialect spark`
prints, parsed back by sqlglot and run on that session."""

from __future__ import annotations

import csv
import itertools
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlglot
from tests.engine.sql_rows import COLUMNS, nasty, patients, write_csv
from tests.engine.test_sql_sameness import assert_same, case_rows, python_rows

from neutropenia_kb import evaluator_for, load
from neutropenia_kb.cli import main
from neutropenia_kb.core.problems import InputError
from neutropenia_kb.engine import spark as spark_engine
from neutropenia_kb.engine.batch import RESULT_COLUMNS, _cell, result_fields

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = 10_000
NASTY = 1_500


@pytest.fixture(scope="module")
def kb() -> Any:
    return load(ROOT / "rules")


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = spark_engine.spark_session("local[2]")
    assert session.conf.get("spark.sql.ansi.enabled") == "true"  # set explicitly, not a default
    yield session
    session.stop()


def test_10000_generated_patients_on_spark(kb: Any, spark: Any, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Through `nkb evaluate --engine spark` (the module's session: getOrCreate finds it), as a
    user runs it: the same rows as the Python engine and the same report on stderr. On this
    local master the rows are decided once per region key in Spark's Python workers. After
    the generated patients come 1,500 of test_sql_bad_files' nasty cells (odd spaces, other
    scripts' digits, 20-40 digit numbers in every unit, junk) in the same file: each Spark
    run costs about a minute of planning, whatever its rows."""
    used: list[bool] = []
    real = spark_engine._spark_by_region
    monkeypatch.setattr(spark_engine, "_spark_by_region", lambda *a: used.append(real(*a)) or used[-1])
    path = tmp_path / "generated.csv"
    seed = int(time.time()) % 10_000
    symptoms = evaluator_for(kb).program.symptoms
    # a NUL sends a file to the Python engine (the test below): one in a cell becomes \x01
    odd = ({k: v.replace("\x00", "\x01") for k, v in row.items()}
           for row in nasty(seed, NASTY, symptoms))
    write_csv(path, itertools.chain(patients(seed, SAMPLE, symptoms), odd))
    python = python_rows(kb, path)
    reports = {}
    for engine in ("python", "spark"):
        assert main(["evaluate", str(path), "-o", str(tmp_path / f"{engine}.csv"), "--engine",
                     engine, "--master", "local[2]", "--rules", str(ROOT / "rules")]) == 2
        reports[engine] = capsys.readouterr().err
    with (tmp_path / "spark.csv").open(newline="", encoding="utf-8") as f:
        got = list(csv.reader(f))
    # the first bad rows by line, with their errors, then 'N of M rows', as the other engines
    assert reports["spark"] == reports["python"], f"seed {seed}"
    lines = reports["spark"].rstrip("\n").split("\n")  # not splitlines: a cell may hold U+2028
    bad = sum(1 for row in python[1:] if row[-1])
    assert len(lines) == 21 and f"{bad} of {SAMPLE + NASTY} rows had bad input" in lines[-1]
    assert bad > 100
    try:
        assert_same(python, got)
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}: {exc}") from None
    assert used == [True]


def test_generated_patients_on_spark_with_the_rules_in_sql(kb: Any, spark: Any, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """As on a cluster (no Python packages on the executors): every rule judged in Spark SQL,
    the rows SQL cannot answer exactly on the driver."""
    monkeypatch.setattr(spark_engine, "_spark_by_region", lambda *a: False)
    path = tmp_path / "generated.csv"
    seed = int(time.time()) % 10_000 + 1
    write_csv(path, patients(seed, 2_000, evaluator_for(kb).program.symptoms))
    target = tmp_path / "spark.csv"
    spark_engine.run_spark(kb, path, target, spark)
    with target.open(newline="", encoding="utf-8") as f:
        got = list(csv.reader(f))
    try:
        assert_same(python_rows(kb, path), got)
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}: {exc}") from None


def test_spark_view_parsed_back_runs_on_spark(kb: Any, spark: Any,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--dialect", "spark", "--table", "labs", "--rules",
                 str(ROOT / "rules")]) == 0
    view = sqlglot.parse_one(capsys.readouterr().out, read="spark")
    assert isinstance(view, sqlglot.exp.Create)
    rows = [dict(row) for row in case_rows()]
    inputs = [c for c in COLUMNS if c != "id"]
    frame = spark.createDataFrame([tuple(row.get(c) or None for c in inputs) for row in rows],
                                  ", ".join(f"{c} STRING" for c in inputs))
    frame.createOrReplaceTempView("labs")
    # A permanent view may not read a temporary one: run the view's SELECT itself.
    select = view.expression.sql(dialect="spark")
    got = {r["line"]: r for r in spark.sql(select).collect()}
    evaluator = evaluator_for(kb)
    assert len(got) == len(rows) > 50
    for line, row in enumerate(rows, start=1):
        try:
            fields = result_fields(evaluator.evaluate(row), None)
        except InputError as exc:
            fields = result_fields(None, str(exc))
        answer = got[line]
        if not answer["exact_in_sql"]:
            continue  # the Python engine's words (accepted_divergences.yaml): --engine spark asks it
        want = {k: _cell(fields[k]) or None for k in RESULT_COLUMNS}
        assert {k: answer[k] for k in RESULT_COLUMNS} == want, row
        assert answer["kb_fingerprint"] == evaluator.program.fingerprint


def test_a_file_spark_would_read_otherwise_is_the_python_engines(
        kb: Any, spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What DuckDB refuses or reads otherwise, Spark reads its own way: FAILFAST fails the job
    on some lines, a blank line moves every line number after it, a NUL is dropped. Such a
    file goes to the Python engine before Spark starts, with a note."""
    from tests.engine.test_sql_bad_files import HEADER, OTHER_ROWS

    cases = {**OTHER_ROWS, "NUL inside a cell": b"1,400,,\n2,3\x0000,,\n3,500,,\n"}
    for case, body in cases.items():
        src = tmp_path / "in.csv"
        src.write_bytes(HEADER + body)
        files, reports = {}, {}
        for engine in ("python", "spark"):
            out = tmp_path / f"{engine}.csv"
            main(["evaluate", str(src), "-o", str(out), "--engine", engine, "--master",
                  "local[2]", "--rules", str(ROOT / "rules")])
            files[engine], reports[engine] = out.read_bytes(), capsys.readouterr().err
        assert files["spark"] == files["python"], case
        note, _, rest = reports["spark"].partition("\n")
        assert note.endswith("which Spark would read otherwise than the python engine; the "
                             "python engine evaluates it instead"), (case, note)
        assert rest == reports["python"], case

