"""Personal leaflets: the patient's result first, only the advice that applies; the CLI forms."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from leaflet_pdf import words
from pypdf import PdfReader

from neutropenia_kb import evaluate
from neutropenia_kb.cli import main
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.kb.text import expand
from neutropenia_kb.render.leaflet import render_personal
from neutropenia_kb.render.leaflet_content import PART_HEADINGS

DAY = dt.date(2026, 12, 1)


def _pages(pdf: bytes) -> list[str]:
    return [words(p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages]


def test_result_comes_first(kb: KnowledgeBase) -> None:
    result = evaluate(kb, {"anc": 800, "temperature": "38.5 C", "on_chemotherapy": True})
    pages = _pages(render_personal(kb, result, today=DAY))
    first = pages[0]
    assert "800 cells/µL (0.8 ×10⁹/L)" in first
    assert kb.band("moderate").title in first
    assert f"What to do now: {kb.level('emergency').action}" in first
    assert "1 December 2026" in first
    # the page's own headings, in reading order: the result, what to do, then the advice
    living = f"For you: {PART_HEADINGS['living']}"
    assert first.index("Your result") < first.index("What to do now") < first.index(living)
    box = first[first.index("What to do now"):first.index(living)]
    assert kb.by_id["fever_with_neutropenia"].title in box  # the reason, in its box
    routine = [r.title for r in kb.urgency_rules if r.level == "routine"]
    assert routine and not any(t in box for t in routine)  # a lower level's rule is no reason
    # no age given: listed as not given; since 1.2.0 an unknown age is no scope warning (the
    # baby of test_personal_patients.py gets the note, after what to do now)
    assert "Not given Symptoms, Age in years" in first
    assert kb.severity.out_of_scope[0].title not in first
    assert "If things change" not in first  # nothing is more urgent than an emergency


def test_only_the_advice_that_applies(kb: KnowledgeBase) -> None:
    result = evaluate(kb, {"anc": 2000, "temperature": "36.8 C", "on_chemotherapy": False,
                          "symptoms": [], "age_years": 40})
    text = " ".join(_pages(render_personal(kb, result, today=DAY)))
    advice = [*kb.tests, *kb.treatments, *kb.precautions]
    applies = [a for a in advice if a.id in result.advice_ids]
    left_out = [a for a in advice if a.id not in result.advice_ids]
    assert left_out, "this patient should not get every piece of advice"
    assert all(words(a.title) in text for a in applies)
    def shown(a: object) -> bool:  # title followed by its text: the item itself, not a mention
        return f"{words(a.title)} {words(expand(kb, a.text))[:30]}" in text  # type: ignore[attr-defined]

    assert applies and all(shown(a) for a in applies if "\n-" not in a.text)
    assert not [a.title for a in left_out if shown(a)]
    assert kb.band("normal").title in text


def test_unknown_count_says_so(kb: KnowledgeBase) -> None:
    result = evaluate(kb, {"temperature": "37 C"})
    first = _pages(render_personal(kb, result, today=DAY))[0]
    assert "No count was given" in first and "Not known" in first
    assert "Temperature 37 °C (99 °F)" in first


def test_same_patient_same_bytes(kb: KnowledgeBase) -> None:
    result = evaluate(kb, {"anc": "0.4 x10^9/L"})
    assert render_personal(kb, result, today=DAY) == render_personal(kb, result, today=DAY)


def test_cli_patient_file(tmp_path: Path, rules_dir: Path) -> None:
    patient = tmp_path / "patient.yaml"
    patient.write_text("anc: 800\ntemperature: 38.5 C\n", encoding="utf-8")
    out = tmp_path / "leaflet.pdf"
    assert main(["leaflet", "--rules", str(rules_dir), "--patient", str(patient),
                 "-o", str(out)]) == 0
    assert "800 cells/µL" in words(PdfReader(out).pages[0].extract_text() or "")


def test_cli_batch_reports_a_bad_row_and_renders_the_others(
        tmp_path: Path, rules_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = tmp_path / "patients.csv"
    rows.write_text("id,anc,temperature\nann,800,38.5 C\nbob,lots,37\n,1600,36.8 C\n",
                    encoding="utf-8")
    out = tmp_path / "out"
    assert main(["leaflet", "--rules", str(rules_dir), "--patients", str(rows),
                 "--out-dir", str(out)]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["ann.pdf", "row-4.pdf"]
    err = capsys.readouterr().err
    assert "patients.csv:3: error: row 3: anc: 'lots'" in err
    assert "2 leaflet(s) written" in err


def test_cli_usage_mistakes(tmp_path: Path, rules_dir: Path) -> None:
    assert main(["leaflet", "--rules", str(rules_dir), "--patient", "x.yaml"]) == 2  # no -o
    assert main(["leaflet", "--rules", str(rules_dir), "-o", str(tmp_path / "a.pdf")]) == 2
