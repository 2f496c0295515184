"""One patient, one answer, whatever the file format: every rule case of tests/cases is written
again as a JSON patient, a CSV row and a JSON Lines row, read by the real readers, and must get
the same decision (or the same refusal) as from YAML. A missing key, null and an empty cell all
mean "not given"; [] and "none" mean no symptoms (DESIGN.md, "Missing and empty")."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from neutropenia_kb import evaluator_for
from neutropenia_kb.core.problems import InputError
from neutropenia_kb.engine.batch import Rows, accepted_columns, run
from neutropenia_kb.engine.cases import case_files, load_cases
from neutropenia_kb.engine.evaluate import Evaluator
from neutropenia_kb.engine.patient import read_json

CASES = Path(__file__).resolve().parents[1] / "cases"
KEYS = ("severity", "urgency", "urgency_certain", "settle_with", "anc_cells_per_ul", "fever",
        "scope_warnings", "advice_ids")


def _flat(value: Any) -> bool:
    """Cases a CSV cell can hold: scalars and symptom lists (a {value, unit} mapping cannot)."""
    return not isinstance(value, dict) and not (
        isinstance(value, list) and not all(isinstance(v, str) for v in value))


def _json_text(value: Any) -> str:
    """JSON with decimals written digit for digit (as a lab feed would), never via a float."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value) if value else "none"
    return str(value)


def _all_cases() -> list[Any]:
    out = []
    for path in case_files([CASES]):
        cases, problems = load_cases(path)
        assert not problems
        out += cases
    return out


@pytest.fixture(scope="module")
def evaluator(kb: Any) -> Evaluator:
    return evaluator_for(kb)  # type: ignore[no-any-return]


def _answer(evaluator: Evaluator, patient: Any) -> dict[str, Any]:
    try:
        return evaluator.evaluate(patient).decision_json()
    except InputError as exc:
        return {"error": exc.field}


def test_every_case_gets_one_answer_in_every_format(evaluator: Evaluator) -> None:
    cases = [c for c in _all_cases() if isinstance(c.inputs, dict)]
    assert len(cases) > 150
    known = set(accepted_columns(evaluator))  # a CSV header refuses any other column
    flat = [c for c in cases if all(_flat(v) for v in c.inputs.values()) and known >= set(c.inputs)]
    assert len(flat) > 120
    columns = sorted({k for c in flat for k in c.inputs})
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(columns)
    for case in flat:
        writer.writerow([_cell(case.inputs.get(k)) for k in columns])
    jsonl = "".join(_json_text(dict(c.inputs)) + "\n" for c in flat)

    batch: dict[str, list[dict[str, Any]]] = {}
    for fmt, text in (("csv", table.getvalue()), ("jsonl", jsonl)):
        out = io.StringIO()
        rows = Rows(io.BytesIO(text.encode("utf-8")), fmt)
        run(evaluator, rows, out, "jsonl", rows.columns)
        batch[fmt] = [json.loads(line, parse_float=Decimal) for line in out.getvalue().splitlines()]
        assert len(batch[fmt]) == len(flat)

    for i, case in enumerate(flat):
        yaml_answer = _answer(evaluator, case.inputs)
        json_answer = _answer(evaluator, read_json(_json_text(dict(case.inputs))))
        assert json_answer == yaml_answer, case.id
        for fmt, rows_out in batch.items():
            row = rows_out[i]
            if "error" in yaml_answer:
                assert row["error"] and row["error"].startswith(f"{yaml_answer['error']}:"), \
                    (case.id, fmt, row["error"])
            else:
                assert row["error"] is None, (case.id, fmt, row["error"])
                assert {k: row[k] for k in KEYS} == yaml_answer, (case.id, fmt)


@pytest.mark.parametrize("text", ["", "null", '""'])
def test_missing_key_null_and_empty_cell_mean_the_same(evaluator: Evaluator, text: str) -> None:
    base = {"anc": 800, "temperature": Decimal("37"), "on_chemotherapy": False}
    given = read_json(_json_text(base)[:-1] + (f', "symptoms": {text}' if text else "") + "}")
    assert evaluator.evaluate(given).decision_json() == evaluator.evaluate(base).decision_json()
    out = io.StringIO()
    rows = Rows(io.BytesIO(b"anc,temperature,on_chemotherapy,symptoms\n800,37,false,\n"), "csv")
    run(evaluator, rows, out, "jsonl", rows.columns)
    row = json.loads(out.getvalue())
    assert row["settle_with"] == ["symptoms"] and row["urgency_certain"] is False


def test_column_unit_from_header_and_option(evaluator: Evaluator) -> None:
    from neutropenia_kb.core.problems import UsageError
    from neutropenia_kb.engine.batch import column_units

    rows = Rows(io.BytesIO(b"id,anc [10^9/L],temperature\n1,0.3,38.2\n2,1.5,37\n3,99,37\n"
                           b"4,101,37\n5,300 cells/uL,37\n"), "csv")
    assert rows.columns == ["id", "anc", "temperature"] and rows.units == {"anc": "10^9/L"}
    units = column_units(evaluator, rows.units, {})
    out = io.StringIO()
    run(evaluator, rows, out, "csv", rows.columns, units=units)
    got = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert "anc [10^9/L]" in got[0]  # the output says how the bare numbers were read
    assert [r["anc_cells_per_ul"] for r in got] == ["300", "1500", "99000", "", "300"]
    assert "this column's bare numbers are in ×10⁹/L" in got[3]["error"]
    with pytest.raises(UsageError, match="disagrees with the header"):
        column_units(evaluator, {"anc": "10^9/L"}, {"anc": "cells/uL"})
    with pytest.raises(UsageError, match="'C' is not one of its units"):
        column_units(evaluator, {}, {"anc": "C"})
    with pytest.raises(UsageError, match="only these inputs take a unit"):
        column_units(evaluator, {}, {"symptoms": "C"})
