"""The items of a knowledge base as frozen dataclasses: one class per kind of item, plus the
records that hold them together (sources, inputs, groups, metadata).

``kb/kinds.py`` names which class each kind of item is built into; ``kb/model.py`` holds them
all. Field names follow the YAML keys; ``from`` is ``lower`` because ``from`` is a keyword.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Mapping

from neutropenia_kb.core.units import Unit, find_unit


@dataclass(frozen=True)
class SourceRef:
    source: str
    section: str | None = None


@dataclass(frozen=True)
class Review:
    last_reviewed: str | None = None
    next_review: str | None = None
    reviewed_by: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Item:
    """Anything with an id, a patient-facing title and its sources."""

    id: str
    kind: str  # "topic", "band", "symptom", "cause", "test", "treatment", "precaution", ...
    title: str
    text: str = ""
    sources: tuple[SourceRef, ...] = ()
    note: str | None = None
    see_also: tuple[str, ...] = ()
    applies_when: str | None = None
    review: Review | None = None
    file: Path | None = None
    line: int | None = None


@dataclass(frozen=True, kw_only=True)
class Topic(Item):
    section: str


@dataclass(frozen=True, kw_only=True)
class Band(Item):
    lower: Fraction | None  # inclusive: value >= lower
    below: Fraction | None  # exclusive: value < below


@dataclass(frozen=True, kw_only=True)
class ScopeLimit(Item):
    when: str


@dataclass(frozen=True, kw_only=True)
class Cause(Item):
    groups: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Advice(Item):
    """A diagnostic test, treatment or precaution; ``group`` is empty for tests."""

    group: str | None = None


@dataclass(frozen=True, kw_only=True)
class Level(Item):
    rank: int  # 0 = most urgent
    action: str = ""  # what to do, in words no other level uses ("No need to call now.")
    service: str | None = None  # id of the Service to call; None: no one to call now


@dataclass(frozen=True, kw_only=True)
class UrgencyRule(Item):
    level: str
    when: str


@dataclass(frozen=True, kw_only=True)
class Fact(Item):
    when: str


@dataclass(frozen=True, kw_only=True)
class Threshold(Item):
    value: Fraction  # in ``unit``
    unit: str

    @property
    def base_value(self) -> Fraction:
        unit = find_unit(self.unit)
        return unit.to_base(self.value) if unit else self.value


@dataclass(frozen=True, kw_only=True)
class Term(Item):
    """A glossary entry: ``title`` is the word, ``text`` its definition."""


@dataclass(frozen=True)
class Group:
    id: str
    title: str
    text: str = ""


@dataclass(frozen=True)
class Grouping:
    id: str
    title: str
    text: str
    groups: tuple[Group, ...]


@dataclass(frozen=True)
class Section:
    id: str
    title: str


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    kind: str
    publisher: str | None = None
    authors: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    updated: str | None = None
    url: str | None = None
    note: str | None = None
    sections: tuple[Section, ...] = ()

    def section(self, section_id: str | None) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)


@dataclass(frozen=True)
class Service:
    """Where to get help (kb.yaml ``services``). ``phone`` is None until the publisher fills it
    in: outputs then print a blank to write it in (kb.text.service_line), never a guess."""

    id: str  # its own namespace: "emergency" is both a service and an urgency level
    name: str
    when: str
    phone: str | None = None
    say: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Input:
    id: str
    type: str  # quantity | percent | number | boolean | symptoms
    title: str
    question: str
    help: str
    dimension: str | None = None
    unit: str | None = None
    accepted_units: tuple[str, ...] = ()
    display_units: tuple[str, ...] = ()
    min: Fraction | None = None
    max: Fraction | None = None
    # A bare number above 0 and below this (default unit) is refused as ambiguous when it is
    # also plausible in another accepted unit (inputs.yaml `bare_number`); None: never.
    ambiguous_below: Fraction | None = None
    phrase: str = ""  # how a sentence names the input ("your temperature"); see the schema

    @property
    def base_unit(self) -> Unit | None:
        return find_unit(self.unit) if self.unit else None


@dataclass(frozen=True)
class Derived:
    """An input worked out from others when it is not given (inputs.yaml, ``derived``).

    ``formula`` is rule-language arithmetic over inputs in their base units (parse it with
    ``rules.parse.parse``); the checker has made sure it reads only the inputs listed here and
    gives the kind of value ``id`` holds."""

    id: str  # the input it fills in, e.g. "anc"
    formula: str  # e.g. "wbc * (neutrophils_percent + bands_percent) / 100"
    when_given: tuple[str, ...]  # worked out only when every one of these is given
    zero_when_missing: tuple[str, ...] = ()  # also read; each counts as 0 when not given
    add_up_to_100: tuple[str, ...] = ()  # percents of one whole: more than 100 in all is refused
    note: str | None = None

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every input the formula reads."""
        return self.when_given + self.zero_when_missing


@dataclass(frozen=True)
class Change:
    version: str
    date: str
    changes: tuple[str, ...]


@dataclass(frozen=True)
class Meta:
    id: str
    title: str
    version: str
    language: str
    written_by: tuple[str, ...]
    reviewed_by: tuple[str, ...]
    last_reviewed: str
    next_review: str
    readability: Mapping[str, float]


@dataclass(frozen=True)
class SeverityTable:
    """severity.yaml: the bands of one input, and the groups of patients they do not cover."""

    input: str
    unit: str
    bands: tuple[Band, ...]
    out_of_scope: tuple[ScopeLimit, ...]
