"""Evaluating patients: exact arithmetic, explanations, JSON, batches, and the CLI's exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from neutropenia_kb import evaluate, evaluate_many, evaluator_for
from neutropenia_kb.cli import main
from neutropenia_kb.core.problems import InputError
from neutropenia_kb.engine.batch import RESULT_COLUMNS, Rows, accepted_columns, result_fields, run
from neutropenia_kb.engine.cases import load_cases


def test_threshold_arithmetic_is_exact(kb) -> None:  # type: ignore[no-untyped-def]
    derived = evaluate(kb, {"wbc": "2.5 ×10⁹/L", "neutrophils_percent": 35, "bands_percent": 5})
    assert derived.anc_cells_per_ul == Fraction(1000) and derived.severity == "mild"
    # float arithmetic would give 38.00000000000001 or 37.99999999999999
    with pytest.raises(InputError):  # a bare number is °C, and 100.4 °C is not plausible
        evaluate(kb, {"temperature": 100.4})
    assert evaluate(kb, {"temperature": "100.4 °F", "symptoms": []}).fever is True
    assert evaluate(kb, {"temperature": {"value": 100.4, "unit": "F"}}).fever is True
    assert evaluate(kb, {"temperature": "100.39 F", "symptoms": []}).fever is False


def test_because_names_the_condition_and_the_values(kb) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(kb, {"anc": "0.8 x10^9/L", "temperature": "100.4 F", "symptoms": [],
                          "on_chemotherapy": False, "age_years": 30})
    finding = next(f for f in result.findings if f.id == "fever_with_neutropenia")
    assert finding.kind == "urgency_rule" and finding.certain
    assert finding.because.startswith("when has_fever and neutropenia: has_fever is true "
                                      "(temperature 38.0 °C (100.4 °F) is at "
                                      "or above fever_temperature 38.0 °C (100.4 °F))")
    assert "anc 800 cells/µL (0.8 ×10⁹/L))" in finding.because  # both lab units, said once
    assert finding.sources and all(isinstance(s, str) for s, _ in finding.sources)
    assert "urgency = emergency" in result.trace


def test_because_shows_the_value_as_given_not_rounded(kb) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(kb, {"anc": 800, "temperature": "100.45 F", "symptoms": [],
                          "on_chemotherapy": False, "age_years": 30})
    finding = next(f for f in result.findings if f.id == "has_fever")
    assert "temperature 38.02 °C (100.45 °F) is at or above" in finding.because


def test_missing_temperature_gives_the_cautious_level_and_what_settles_it(kb) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(kb, {"anc": 400, "symptoms": [], "on_chemotherapy": False, "age_years": 40})
    assert (result.urgency, result.urgency_certain, result.settle_with) == \
        ("emergency", False, ("temperature",))
    data = result.to_json()
    assert data["fever"] is None and data["anc_cells_per_ul"] == 400
    assert {"id", "kind", "title", "because", "sources"} <= set(data["findings"][0])
    json.dumps(data)  # serialisable as it stands


def test_bad_input_names_field_value_and_allowed(kb) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        evaluate(kb, {"anc": "800 cells/mL"})
    assert str(info.value) == (
        "anc: '800 cells/mL' is not allowed: unknown unit 'cells/mL'; give a count from 0 to "
        "100,000 cells/µL (a bare number is in cells/µL; units: cells/uL, cells/µL, /uL, "
        "cells/mm3, /mm3, 10^9/L, x10^9/L, ×10⁹/L, G/L)")
    with pytest.raises(InputError) as info:
        evaluate(kb, {"symptom": ["cough"]})
    assert info.value.field == "symptom" and "did you mean 'symptoms'?" in str(info.value)


def test_batch_reports_bad_row_and_evaluates_the_others(kb) -> None:  # type: ignore[no-untyped-def]
    source = io.BytesIO(b"id,anc,temperature,symptoms\n"
                        b"a,400,38.5,\n"
                        b"b,-3,37,\n"
                        b"c,0.5 G/L,37,cough;rash\n")
    out = io.StringIO()
    rows = Rows(source, "csv", accepted_columns(evaluator_for(kb)))
    summary = run(evaluator_for(kb), rows, out, "csv", rows.columns)
    assert (summary.rows, summary.errors) == (3, 1)
    assert summary.first_errors[0].render().startswith("<input>:3: error: row 3: anc: '-3' is "
                                                       "not allowed")
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert [r["severity"] for r in rows] == ["severe", "", "moderate"]
    assert rows[1]["anc"] == "-3" and rows[1]["error"].startswith("anc: '-3'")
    assert rows[0]["urgency"] == "emergency" and rows[0]["error"] == ""
    assert rows[2]["anc_cells_per_ul"] == "500"


def test_jsonl_round_trip(kb, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "anc": 1499, "temperature": "100.3 F", "symptoms": []}\n'
                   'not json\n'
                   '{"id": 2, "wbc": "2.5 x10^9/L", "neutrophils_percent": 35, '
                   '"bands_percent": 5}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["evaluate", str(src), "-o", str(out)]) == 2  # one bad line
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(x["line"], x.get("id"), x["severity"]) for x in lines] == \
        [(1, 1, "mild"), (2, None, None), (3, 2, "mild")]
    assert lines[0]["fever"] is False and lines[2]["anc_cells_per_ul"] == 1000
    assert lines[1]["error"].startswith("not valid JSON")


def test_csv_batch_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "patients.csv"
    src.write_text("anc,temperature,on_chemotherapy\n1000,37,false\n", encoding="utf-8")
    out = tmp_path / "results.csv"
    assert main(["evaluate", str(src), "-o", str(out)]) == 0
    row = next(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    # A measured temperature settles fever even without a symptoms column (rules 1.2.0).
    assert (row["line"], row["severity"], row["fever"]) == ("2", "mild", "false")


def test_cli_single_patient_text_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patient = tmp_path / "p.yaml"
    patient.write_text("anc: 0.8 x10^9/L\ntemperature: 100.4 F\nsymptoms: []\n", encoding="utf-8")
    assert main(["evaluate", str(patient)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("GET MEDICAL HELP RIGHT AWAY: Call your 24-hour line")
    assert "Fever with a low neutrophil count" in text
    assert main(["evaluate", str(patient), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["severity"], data["urgency"], data["anc_cells_per_ul"], data["fever"]) == \
        ("moderate", "emergency", 800, True)


def test_cli_bad_patient_exits_2_naming_field_value_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patient = tmp_path / "p.json"
    patient.write_text('{"temperature": "50 C"}', encoding="utf-8")
    assert main(["evaluate", str(patient)]) == 2
    assert capsys.readouterr().err == (
        "nkb: error: temperature: '50 C' is not allowed: a temperature from 25 to 45 °C "
        "(a bare number is in °C; units: C, °C, F, °F)\n")


def test_stdin_form(repo: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "neutropenia_kb", "evaluate", "-", "--format",
                           "json"], input="anc: 450\ntemperature: 38.1\n", text=True,
                          capture_output=True, cwd=repo, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["urgency"] == "emergency"
    bad = subprocess.run([sys.executable, "-m", "neutropenia_kb", "evaluate", "-"],
                         input='{"anc": 500, "colour": "red"}', text=True, capture_output=True,
                         cwd=repo, check=False)
    assert bad.returncode == 2 and "colour: 'red' is not allowed: it is not an input" in bad.stderr


def test_nkb_test_coverage_finds_gaps(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "few.yaml"
    cases.write_text("cases:\n  - id: one\n    inputs: {anc: 500}\n    expect: {severity: moderate}\n"
                     "  - id: wrong\n    inputs: {anc: 499}\n    expect: {severity: moderate}\n",
                     encoding="utf-8")
    assert main(["test", str(cases), "--rules", str(repo / "rules"), "--coverage"]) == 1
    out = capsys.readouterr().out
    assert "case wrong failed\n  severity: expected 'moderate', actual 'severe'\n  trace:" in out
    assert "rule fever_with_neutropenia: no case made it true" in out
    assert "boundary anc = 1,500 cells/µL: no case exactly at the edge in cells/µL" in out
    assert "boundary anc = 0.5 ×10⁹/L: no case exactly at the edge in ×10⁹/L" in out
    assert "boundary anc = 500 cells/µL: no case" not in out.replace("just below", "")


def test_pytest_plugin_reports_a_failing_case(tmp_path: Path, repo: Path) -> None:
    (tmp_path / "tests" / "cases").mkdir(parents=True)
    (tmp_path / "tests" / "cases" / "c.yaml").write_text(
        "cases:\n  - id: off_by_one\n    inputs: {anc: 1499}\n    expect: {severity: normal}\n"
        "  - id: fine\n    inputs: {anc: 1500}\n    expect: {severity: normal}\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           f"--nkb-rules={repo / 'rules'}", "--rootdir", str(tmp_path),
                           "tests/cases"], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert "1 failed, 1 passed" in done.stdout, done.stdout
    assert "c.yaml::off_by_one" in done.stdout
    assert "case off_by_one failed\n  severity: expected 'normal', actual 'mild'\n  trace:" \
        in done.stdout
    assert "severity = mild: anc 1,499 cells/µL (1.499 ×10⁹/L) is in the mild band" in done.stdout


def test_a_mistake_in_a_case_file_is_placed_and_worded(tmp_path: Path) -> None:
    cases = tmp_path / "typo.yaml"
    cases.write_text("cases:\n  - id: a\n    inputs: {anc: 5}\n    expect: {severty: mild}\n",
                     encoding="utf-8")
    found, problems = load_cases(cases)
    assert found == []
    (problem,) = problems
    assert (problem.line, problem.column, problem.where) == (4, 14, "cases[0].expect")
    assert problem.message.startswith("unknown key 'severty'; did you mean 'severity'? (allowed: ")


def test_evaluate_many_is_lazy_and_stops_at_a_bad_row(kb) -> None:  # type: ignore[no-untyped-def]
    read: list[int] = []

    def rows():  # type: ignore[no-untyped-def]
        for i, row in enumerate([{"anc": 400}, {"anc": "1.2 G/L"}, {"anc": "lots"}, {"anc": 2000}]):
            read.append(i)
            yield row

    results = evaluate_many(kb, rows())
    assert read == []  # nothing evaluated before it is asked for
    assert [next(results).severity, next(results).severity] == ["severe", "mild"]
    with pytest.raises(InputError) as info:
        next(results)
    assert info.value.field == "anc" and read == [0, 1, 2]  # the row after it was not read
    assert list(result_fields(evaluate(kb, {"anc": 400}), None)) == list(RESULT_COLUMNS)


def test_displayed_values_never_land_on_the_other_side_of_a_threshold(kb) -> None:  # type: ignore[no-untyped-def]
    # Rounding would print '38.0 °C' for 37.95 °C and '1.5 ×10⁹/L' for 1,499 cells/µL.
    result = evaluate(kb, {"anc": 1499, "temperature": "37.95 C", "symptoms": [],
                          "on_chemotherapy": False, "age_years": 30})
    assert result.severity == "mild" and result.fever is False
    trace = "\n".join(result.trace)
    assert "temperature 37.95 °C (100.31 °F) is not at or above fever_temperature 38.0 °C" in trace
    band = next(f for f in result.findings if f.id == "mild")
    assert "1,499 cells/µL (1.499 ×10⁹/L)" in band.because
    below = evaluate(kb, {"anc": 1499, "temperature": "100.39 F", "symptoms": [],
                         "on_chemotherapy": False, "age_years": 30})
    assert "temperature 37.99 °C (100.39 °F) is not at or above" in "\n".join(below.trace)


def test_count_cells_are_json_numbers_written() -> None:
    """batch_write._decimal gives json_number's Decimal for every value whose decimal ends,
    and leaves the others (repeating, or longer than json_number looks) to json_number."""
    import random
    from fractions import Fraction

    from neutropenia_kb.core.units import json_number
    from neutropenia_kb.engine.batch_write import _MAX_PLACES, _decimal

    rnd = random.Random(3)
    values = [Fraction(rnd.randint(-10**12, 10**12), 2**rnd.randint(0, 40) * 5**rnd.randint(0, 40))
              for _ in range(3000)]
    values += [Fraction(1, 10**_MAX_PLACES), Fraction(3, 10**(_MAX_PLACES - 1)), Fraction(5, 100000)]
    for value in values:
        if value.denominator == 1:
            continue
        found = _decimal(value)
        expected = json_number(value)
        assert found is None or (found == expected and str(found) == str(expected)), value
        assert found is not None or value.denominator % 10**(_MAX_PLACES - 1) == 0, value
    assert _decimal(Fraction(683, 18)) is None
