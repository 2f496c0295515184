"""Our reading-grade formulas give textstat 0.7.3's numbers on every real patient text."""

from __future__ import annotations

import pytest

from neutropenia_kb.checks import reading_grade
from neutropenia_kb.checks.readability import plain
from neutropenia_kb.checks.readability import texts as readability_texts


def test_known_values() -> None:
    # Hand-counted: 8 words, 1 sentence; 10 syllables → 0.39×8 + 11.8×1.3 − 15.59 = 2.9
    assert reading_grade.fk_grade("Wash your hands often with soap and water.") == 2.9
    assert reading_grade.sentence_count("Yes. No. Get help now. Call your nurse today.") == 2
    assert reading_grade.smog("Short text. Only two.") == 0.0
    assert reading_grade.fk_grade("") == 0.0


def test_same_numbers_as_textstat_0_7_3(kb, rules_dir) -> None:  # type: ignore[no-untyped-def]
    try:
        import textstat  # type: ignore[import-untyped]
    except ImportError as exc:  # e.g. no pkg_resources (setuptools 82, Python 3.12+ venvs)
        pytest.skip(f"textstat 0.7.3 is not importable here ({exc}); nothing to compare with")
    from importlib.metadata import version

    if version("textstat") != "0.7.3":
        pytest.skip(f"textstat {version('textstat')} is not the 0.7.3 we replicate")
    from neutropenia_kb.kb.loader import load_dir

    docs, _ = load_dir(rules_dir)
    texts = [plain(text) for *_, text in readability_texts(kb, docs)]
    assert len(texts) > 100
    for text in texts:
        assert reading_grade.fk_grade(text) == textstat.flesch_kincaid_grade(text), text
        assert reading_grade.smog(text) == textstat.smog_index(text), text
        assert reading_grade.sentence_count(text) == textstat.sentence_count(text), text
        assert len(reading_grade.words(text)) == textstat.lexicon_count(text), text

