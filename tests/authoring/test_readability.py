"""Reading grades: what is measured, the limits from kb.yaml, warnings at the text's line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from neutropenia_kb.checks import readability
from neutropenia_kb.cli import main

from .conftest import build, edit

HARD = ("Granulocyte colony-stimulating factor administration necessitates meticulous "
        "haematological surveillance, notwithstanding considerable interindividual variability.")


def test_plain_text_is_what_the_patient_reads() -> None:
    assert readability.plain("Take **all** your _tablets_:\n\n- every day\n- with food.") == (
        "Take all your tablets:\n\nevery day.\nwith food.")
    # A decimal point is not the end of a sentence.
    assert readability.plain("A temperature of 38.0 °C (100.4 °F).") == (
        "A temperature of 380 °C (1004 °F).")
    assert readability.plain("See [the leaflet](leaflet.pdf).") == "See the leaflet."


def test_scores_and_smog_only_from_three_sentences() -> None:
    short = readability.score("You have a fever. Get help now.")
    assert short.smog is None and short.sentences == 2 and short.words == 7
    assert short.fk_grade < 3
    long = readability.score("You have a fever. Get help now. Call your nurse today.")
    assert long.smog is not None
    assert readability.score(HARD).fk_grade > 20


def test_limits_by_kind_then_file_then_default() -> None:
    limits = {"default": 8, "urgency": 6, "term": 7}
    assert readability.limit_for(limits, "term", "glossary") == (7.0, "term")
    assert readability.limit_for(limits, "urgency_rule", "urgency") == (6.0, "urgency")
    assert readability.limit_for(limits, "cause", "causes") == (8.0, "default")
    assert readability.limit_for({}, "cause", "causes") == (8.0, "default")


def test_over_limit_is_a_warning_at_the_text(kb_copy: Path) -> None:
    edit(kb_copy / "symptoms.yaml", "      Your throat hurts.\n", f"      {HARD}\n")
    kb, docs = build(kb_copy)
    problems = readability.check(kb, docs)
    [problem] = [p for p in problems if p.where.startswith("symptoms[")]
    line = (kb_copy / "symptoms.yaml").read_text(encoding="utf-8").splitlines().index(
        f"      {HARD}") + 1
    grade = readability.score(readability.plain(f"Sore throat. {HARD}")).fk_grade
    assert problem.render(kb_copy) == (
        f"symptoms.yaml:{line - 1}:11: warning: symptoms[2].text: reading grade {grade:.1f} "
        "(Flesch-Kincaid) is over the limit 8 for symptoms (readability.default in kb.yaml); "
        "use shorter sentences and shorter words")


def test_urgency_texts_use_the_urgency_limit(kb_copy: Path) -> None:
    kb, docs = build(kb_copy)
    by_kind = {(m.kind, m.limit) for m in readability.measure(kb, docs)}
    assert ("urgency_rule", 6.0) in by_kind and ("level", 6.0) in by_kind
    assert ("cause", 8.0) in by_kind and ("input", 8.0) in by_kind and ("term", 8.0) in by_kind


def test_real_knowledge_base_is_measured_fast(rules_dir: Path) -> None:
    kb, docs = build(rules_dir)
    readability.score.cache_clear()
    start = time.perf_counter()
    measured = readability.measure(kb, docs)
    cold = time.perf_counter() - start
    # Every item with text, every input, the cause groupings, each level's action and each
    # service are measured.
    assert len(measured) == (sum(bool(i.text) for i in kb.items()) + len(kb.inputs)
                             + sum(bool(g.text) for g in kb.cause_groupings)
                             + sum(bool(lv.action) for lv in kb.levels) + len(kb.services))
    assert cold < 0.5, cold
    assert sum(readability.distribution(measured).values()) == len(measured)


def test_nkb_readability_table(rules_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["readability", "--rules", str(rules_dir), "--limit", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["id", "kind", "FK", "grade", "SMOG", "limit", "words"]
    grades = [float(line.split()[2].rstrip("!")) for line in out[1:4]]
    assert grades == sorted(grades, reverse=True)
    assert out[-1].endswith("over their limit (marked !)")


def test_load_reports_reading_grades_to_whoever_sees_warnings(kb_copy: Path) -> None:
    """load() works reading grades out only for a caller that sees warnings (on_warning, as
    nkb build and the site plugin pass, or strict, which makes them errors); evaluating a
    patient skips them. An error is found either way."""
    import neutropenia_kb
    from neutropenia_kb.core.problems import KbError

    edit(kb_copy / "symptoms.yaml", "      Your throat hurts.\n", f"      {HARD}\n")
    seen: list[str] = []
    neutropenia_kb.load(kb_copy, on_warning=lambda p: seen.append(p.message))
    assert any("reading grade" in m for m in seen)
    with pytest.raises(KbError) as strict:
        neutropenia_kb.load(kb_copy, strict=True)
    assert any("reading grade" in p.message for p in strict.value.problems)
    assert neutropenia_kb.load(kb_copy).meta  # loads: a reading grade only warns
    edit(kb_copy / "symptoms.yaml", "  - id: sore_throat\n", "  - id: sore throat\n")
    with pytest.raises(KbError):
        neutropenia_kb.load(kb_copy)
