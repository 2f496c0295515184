"""Proof of sameness: the DuckDB engine (the SQL backend) gives every row the Python engine's
severity, urgency, certainty, fever, advice, settle-with questions and error — on every rule
case, on a grid at every edge in every unit, and on 100,000 seeded patients with bad rows."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from tests.engine.sql_rows import COLUMNS, grid, patients, write_csv

from neutropenia_kb import evaluator_for, load
from neutropenia_kb.engine import batch, scale
from neutropenia_kb.engine.cases import load_cases

ROOT = Path(__file__).resolve().parents[2]



@pytest.fixture(scope="module")
def kb() -> Any:
    return load(ROOT / "rules")


def python_rows(kb: Any, path: Path) -> list[list[str]]:
    out = io.StringIO()
    with path.open("rb") as stream:
        rows = batch.Rows(stream, "csv", batch.accepted_columns(evaluator_for(kb)), path)
        batch.run(evaluator_for(kb), rows, out, "csv", rows.columns)
    return list(csv.reader(io.StringIO(out.getvalue())))


def duckdb_rows(kb: Any, path: Path, tmp_path: Path) -> list[list[str]]:
    target = tmp_path / (path.stem + ".out.csv")
    scale.run_duckdb(kb, path, target)
    with target.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def assert_same(python: list[list[str]], duck: list[list[str]]) -> None:
    assert python[0] == duck[0]
    assert len(python) == len(duck)
    wrong = [(p[0], h, a, b) for p, d in zip(python, duck) for h, a, b in zip(python[0], p, d)
             if a != b]
    assert not wrong, f"{len(wrong)} cells differ, first: {wrong[:5]}"


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return f"{value.get('value')} {value.get('unit', '')}".strip()
    return "" if value is None else str(value)


def case_rows() -> Iterator[dict[str, str]]:
    for path in sorted((ROOT / "tests" / "cases").glob("*.yaml")):
        cases, _problems = load_cases(path)
        for case in cases:
            if isinstance(case.inputs, dict) and set(case.inputs) <= set(COLUMNS):
                yield {k: _cell(v) for k, v in case.inputs.items()}


@pytest.fixture(params=["by region", "rules in SQL"])
def decide(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Both ways the DuckDB engine decides: once per region key through nkb_decide (the
    default), and by judging every rule in SQL (without pyarrow; as Spark and `nkb sql`)."""
    used: list[bool] = []
    real = scale.by_region

    def spy(kb: Any) -> bool:
        used.append(real(kb) and request.param == "by region")
        return used[-1]

    monkeypatch.setattr(scale, "by_region", spy)
    yield request.param
    assert used and all(u == (request.param == "by region") for u in used)


def test_every_rule_case(kb: Any, tmp_path: Path, decide: str) -> None:
    path = tmp_path / "cases.csv"
    write_csv(path, case_rows())
    python = python_rows(kb, path)
    assert len(python) > 50
    assert_same(python, duckdb_rows(kb, path, tmp_path))


def test_boundary_grid_in_every_unit(kb: Any, tmp_path: Path, decide: str) -> None:
    path = tmp_path / "grid.csv"
    write_csv(path, grid(evaluator_for(kb).program))
    python = python_rows(kb, path)
    assert len(python) > 500
    assert_same(python, duckdb_rows(kb, path, tmp_path))


def test_generated_patients_with_the_rules_in_sql(kb: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The 100,000 below go by region; 20,000 more judge every rule in SQL."""
    monkeypatch.setattr(scale, "by_region", lambda kb: False)
    path = tmp_path / "generated.csv"
    seed = int(time.time()) % 10_000 + 1
    write_csv(path, patients(seed, 20_000, evaluator_for(kb).program.symptoms))
    try:
        assert_same(python_rows(kb, path), duckdb_rows(kb, path, tmp_path))
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}: {exc}") from None


def test_100000_generated_patients(kb: Any, tmp_path: Path) -> None:
    path = tmp_path / "generated.csv"
    seed = int(time.time()) % 10_000  # a new sample each run; the seed is in the failure
    write_csv(path, patients(seed, 100_000, evaluator_for(kb).program.symptoms))
    python = python_rows(kb, path)
    errors = sum(1 for row in python[1:] if row[-1])
    assert 1_000 < errors < 50_000, f"seed {seed}: the sample should hold bad rows"
    duck = duckdb_rows(kb, path, tmp_path)
    try:
        assert_same(python, duck)
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}: {exc}") from None
