"""Reading grade of every patient-facing text, checked against the limits set in kb.yaml.

Publishers aim at grade 4–8 but nothing enforced it; here each text is measured as the patient
will read it (placeholders expanded, Markdown marks removed) and an over-limit text is a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from neutropenia_kb.checks.reading_grade import fk_grade, sentence_count, smog, words
from neutropenia_kb.core.problems import Problem
from neutropenia_kb.kb.loader import Doc, PathKey, format_path
from neutropenia_kb.kb.text import PlaceholderError, expand

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase

DEFAULT_LIMIT = 8.0
# SMOG was normed on 30-sentence samples; below 3 sentences textstat returns 0, which would read
# as "very easy". We show SMOG only from this many sentences and never apply the limit to it.
SMOG_MIN_SENTENCES = 3

_DECIMAL = re.compile(r"(\d)[.,](\d)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


@dataclass(frozen=True)
class Score:
    fk_grade: float  # Flesch-Kincaid grade
    smog: float | None  # None when the text is too short for SMOG
    words: int
    sentences: int


@dataclass(frozen=True)
class Measurement:
    """One patient-facing text of the knowledge base and its reading grade."""

    id: str  # item id; inputs are "input:anc"
    kind: str  # item kind ("symptom", "urgency_rule", "term", "input", ...)
    stem: str  # the file it is written in ("symptoms")
    where: str  # "symptoms[3].text"
    file: Path | None
    line: int | None
    column: int | None
    score: Score
    limit: float
    limit_key: str  # the kb.yaml readability key the limit came from ("urgency", "default")

    @property
    def over(self) -> bool:
        return self.score.fk_grade > self.limit


def plain(text: str) -> str:
    """The words as a patient reads them: no Markdown marks, list items as sentences."""
    lines = []
    for line in text.splitlines():
        stripped = _BULLET.sub("", line)
        if stripped != line and stripped.strip() and stripped.rstrip()[-1] not in ".!?:":
            # A bullet has no full stop; without one, a whole list counts as one long sentence.
            stripped = stripped.rstrip() + "."
        lines.append(stripped)
    out = _LINK.sub(r"\1", "\n".join(lines))
    out = _EMPHASIS.sub(r"\2", out)
    # "38.0 °C" would otherwise end a sentence at the decimal point (sentences split on '.').
    return _DECIMAL.sub(r"\1\2", out).strip()


@lru_cache(maxsize=4096)
def score(text: str) -> Score:
    """Scores of plain text; cached because the same text is measured by validate, the site
    build and `nkb readability` in one process."""
    sentences = sentence_count(text)
    smog_grade = smog(text) if sentences >= SMOG_MIN_SENTENCES else None
    return Score(fk_grade(text), smog_grade, len(words(text)), sentences)


def limit_for(limits: Mapping[str, Any], kind: str, stem: str) -> tuple[float, str]:
    """kb.yaml `readability:` keyed by item kind first ("urgency_rule"), then by file stem
    ("urgency"), then `default`; returns the limit and the key it came from."""
    for key in (kind, stem, "default"):
        if key in limits and limits[key] is not None:
            return float(limits[key]), key
    return DEFAULT_LIMIT, "default"


def item_paths(docs: Mapping[str, Doc]) -> dict[str, tuple[str, PathKey]]:
    """id → (file stem, path of the item) for every mapping with an id, in every file."""
    found: dict[str, tuple[str, PathKey]] = {}

    def walk(stem: str, node: Any, where: PathKey) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("id"), str):
                found.setdefault(node["id"], (stem, where))
            for key, value in node.items():
                walk(stem, value, where + (key,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(stem, value, where + (i,))

    for stem, doc in docs.items():
        if stem != "kb":  # source and section ids are a separate namespace
            walk(stem, doc.data, ())
    return found


def _joined(title: str, text: str) -> str:
    title = title.strip()
    if title and title[-1] not in ".!?:":
        title += "."
    return f"{title} {text}".strip()


def texts(kb: "KnowledgeBase", docs: Mapping[str, Doc]) -> Iterator[tuple[str, str, str, PathKey, str]]:
    """(id, kind, stem, path of the text field, text) for each patient-facing text.

    Items with only a title (thresholds, facts without text) are skipped: a heading of three
    words has no meaningful grade."""
    index = item_paths(docs)
    for item in kb.items():
        if not item.text:
            continue
        stem, where = index.get(item.id, (item.file.stem if item.file else "", ()))
        field = "definition" if item.kind == "term" else "text"
        try:
            words = expand(kb, item.text)
        except PlaceholderError:
            words = item.text  # reported by the validator; measure what we have
        yield item.id, item.kind, stem, where + (field,), _joined(item.title, words)
    for grouping in kb.cause_groupings:
        if grouping.text:
            stem, where = index.get(grouping.id, ("causes", ()))
            yield grouping.id, "grouping", stem, where + ("text",), _joined(grouping.title,
                                                                             grouping.text)
    for level in kb.levels:  # the action is read first, alone: measured on its own
        if level.action:
            stem, where = index.get(level.id, ("urgency", ()))
            yield f"action:{level.id}", level.kind, stem, where + ("action",), level.action
    for i, service in enumerate(kb.services):
        words = " ".join(w for w in (service.when, service.say) if w)
        yield f"service:{service.id}", "service", "kb", ("services", i, "when"), words
    for i, inp in enumerate(kb.inputs):
        words = _joined(inp.question, inp.help)
        if words:
            yield f"input:{inp.id}", "input", "inputs", ("inputs", i, "help"), words


def measure(kb: "KnowledgeBase", docs: Mapping[str, Doc]) -> list[Measurement]:
    limits = kb.meta.readability or {}
    out = []
    for ident, kind, stem, where, text in texts(kb, docs):
        doc = docs.get(stem)
        line, column = doc.mark(where) if doc else (None, None)
        limit, key = limit_for(limits, kind, stem)
        out.append(Measurement(ident, kind, stem, format_path(where), doc.path if doc else None,
                               line, column, score(plain(text)), limit, key))
    return out


def worst_first(measurements: list[Measurement]) -> list[Measurement]:
    return sorted(measurements, key=lambda m: (-(m.score.fk_grade - m.limit), -m.score.fk_grade,
                                               m.id))


def distribution(measurements: list[Measurement]) -> dict[str, int]:
    """How many texts read at grade 6 or below, 6–8, and above 8."""
    grades = [m.score.fk_grade for m in measurements]
    return {"<= 6": sum(g <= 6 for g in grades),
            "<= 8": sum(6 < g <= 8 for g in grades),
            "> 8": sum(g > 8 for g in grades)}


def check(kb: "KnowledgeBase", docs: Mapping[str, Doc]) -> list[Problem]:
    """A warning for each text over its limit, pointing at the text's line."""
    problems = []
    for m in measure(kb, docs):
        if m.over:
            problems.append(Problem(
                m.file, m.line, m.column, m.where,
                f"reading grade {m.score.fk_grade:.1f} (Flesch-Kincaid) is over the limit "
                f"{m.limit:g} for {m.stem} (readability.{m.limit_key} in kb.yaml); use shorter "
                "sentences and shorter words",
                "warning"))
    return problems
