"""The nurse summary (`nkb evaluate P`, text): level, action and 'Tell the patient' first; inputs
to the precision given, never across a threshold; reasons in plain words; --verbose for audits."""

from __future__ import annotations

from pathlib import Path

import pytest

from neutropenia_kb import evaluate
from neutropenia_kb.cli import main
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.render.summary import summary_text, understood


@pytest.mark.parametrize("given, shown", [
    ("38.4 C", "38.4 °C (101.1 °F)"),  # not 101.12
    ("37 C", "37 °C (99 °F)"),
    ("38 C", "38 °C (100.4 °F)"),  # 100 °F would read as no fever: one more digit
    ("100.3 F", "100.3 °F (37.9 °C)"),  # 37.94…: below the line in both
    ("100.4 F", "100.4 °F (38 °C)"),  # exactly 38 °C: no trailing zeros claimed
    ("37.95 C", "37.95 °C (100.31 °F)"),
])
def test_temperature_to_the_precision_given(kb: KnowledgeBase, given: str, shown: str) -> None:
    entries = {e.id: e.text for e in understood(kb, evaluate(kb, {"temperature": given}))}
    assert entries["temperature"] == shown


def test_counts_in_both_units(kb: KnowledgeBase) -> None:
    assert understood(kb, evaluate(kb, {"anc": "0.8 x10^9/L"}))[0].text == \
        "0.8 ×10⁹/L (800 cells/µL)"
    assert understood(kb, evaluate(kb, {"anc": 499}))[0].text == "499 cells/µL (0.499 ×10⁹/L)"
    # a count at an edge keeps enough digits to stay on its side of it
    assert understood(kb, evaluate(kb, {"anc": "0.4999 x10^9/L"}))[0].text == \
        "0.4999 ×10⁹/L (499.9 cells/µL)"


def test_leads_with_level_action_and_what_to_tell_the_patient(kb: KnowledgeBase) -> None:
    text = summary_text(kb, evaluate(kb, {"anc": 300, "temperature": "38.4 C",
                                         "on_chemotherapy": True}))
    lines = text.splitlines()
    assert lines[0].startswith(kb.level("emergency").title.upper())
    assert lines[1] == "Tell the patient: \"Do not wait. Get medical help now.\""
    assert "  Temperature: 38.4 °C (101.1 °F)" in lines
    assert "Fever with a low neutrophil count. Sources: Causes and Treatment of Neutropenia" in text
    assert "when has_fever" not in text and "101.12" not in text


def test_only_the_advice_that_applies_grouped(kb: KnowledgeBase) -> None:
    result = evaluate(kb, {"anc": 3000, "temperature": "36.8 C", "symptoms": [],
                          "on_chemotherapy": False, "age_years": 40})
    text = summary_text(kb, result)
    assert "Advice that applies:" in text and "Complete blood count (CBC)" in text
    assert "Steroids" not in text and "Bone marrow biopsy" not in text
    assert "Looking after yourself at home" not in text  # no precaution for a normal count


def test_cli_prints_the_summary_and_verbose_adds_the_trace(
        tmp_path: Path, rules_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patient = tmp_path / "p.yaml"
    patient.write_text("anc: 800\ntemperature: 38.4 C\nname: Ann Lee\ntest_date: 2026-11-30\n",
                       encoding="utf-8")
    assert main(["evaluate", "--rules", str(rules_dir), str(patient)]) == 0
    plain = capsys.readouterr().out
    assert plain.startswith(kb_title := "GET MEDICAL HELP RIGHT AWAY") and "has_fever" not in plain
    assert main(["evaluate", "--rules", str(rules_dir), "--verbose", str(patient)]) == 0
    verbose = capsys.readouterr().out
    assert verbose.startswith(kb_title) and "Trace (rule language, for audits):" in verbose
    assert "when has_fever and neutropenia" in verbose


@pytest.mark.parametrize("field, value, allowed", [
    ("name", "5", "a name as text"), ("test_date", "30/11/2026", "a date written YYYY-MM-DD"),
    ("test_date", "2026-02-30", "a date written YYYY-MM-DD"),
])
def test_name_and_test_date_are_checked(tmp_path: Path, rules_dir: Path,
                                        capsys: pytest.CaptureFixture[str], field: str,
                                        value: str, allowed: str) -> None:
    patient = tmp_path / "p.yaml"
    patient.write_text(f"anc: 800\n{field}: {value}\n", encoding="utf-8")
    assert main(["evaluate", "--rules", str(rules_dir), str(patient)]) == 2
    err = capsys.readouterr().err
    assert f"{field}:" in err and allowed in err and "Traceback" not in err
