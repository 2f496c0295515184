"""Flesch-Kincaid grade and SMOG, counted over pyphen's hyphenation dictionary.

These are textstat 0.7.3's definitions, written out here because textstat cannot be used as a
runtime dependency: 0.7.3 imports pkg_resources, which setuptools 82 no longer ships and Python
3.12+ virtual environments lack, and 0.7.4+ downloads NLTK data on first use, which fails on
offline hospital machines. A test checks that both give the same numbers on every real text.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

_PUNCTUATION = re.compile(r"[^\w\s]")
_SENTENCE = re.compile(r"\b[^.!?]+[.!?]*")


@lru_cache(maxsize=1)
def _dictionary() -> Any:
    """pyphen's en_US dictionary, read at the first word counted (~0.3 s), not at import: every
    `nkb` command imports this module through the validator, and most never count a word."""
    from pyphen import Pyphen  # type: ignore[import-untyped]

    return Pyphen(lang="en_US")


def _round(number: float, places: int = 1) -> float:
    """Half away from zero, as textstat rounds (Python's round() rounds half to even)."""
    scale = 10**places
    return float(math.floor(number * scale + math.copysign(0.5, number)) / scale)


def words(text: str) -> list[str]:
    """Words with punctuation removed; 'singer-songwriter' and "don't" count as one."""
    return _PUNCTUATION.sub("", text).split()


@lru_cache(maxsize=8192)
def syllables(word: str) -> int:
    return len(_dictionary().positions(word.lower())) + 1


def sentence_count(text: str) -> int:
    """Sentences of three words or more (shorter fragments are headings or list stubs)."""
    found = _SENTENCE.findall(text)
    ignored = sum(1 for sentence in found if len(words(sentence)) <= 2)
    return max(1, len(found) - ignored)


def fk_grade(text: str) -> float:
    """0.39 × words per sentence + 11.8 × syllables per word − 15.59, each ratio rounded to
    one decimal first, as textstat does."""
    found = words(text)
    if not found:
        return 0.0
    per_sentence = _round(len(found) / sentence_count(text))
    per_word = _round(sum(syllables(w) for w in found) / len(found))
    return _round(0.39 * per_sentence + 11.8 * per_word - 15.59)


def smog(text: str) -> float:
    """1.043 × √(30 × words of 3+ syllables / sentences) + 3.1291; 0 under three sentences."""
    sentences = sentence_count(text)
    if sentences < 3:
        return 0.0
    polysyllables = sum(1 for raw in text.split() if sum(syllables(w) for w in words(raw)) >= 3)
    return _round(1.043 * math.sqrt(30 * polysyllables / sentences) + 3.1291)
