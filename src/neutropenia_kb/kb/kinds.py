"""The one table of what a knowledge base holds: its files, the kinds of item in them and the
parts (site pages, leaflet parts) that show them.

Loading, schema validation, cross-references, the model, condition checking, `nkb diff`, the
website's pages and the leaflets' headings all read these tables when they run (never a copy
made at import), so a new kind of item is one ``ItemKind`` entry here, plus its schema
(schema/<file>.schema.json) and the templates that show it. The dicts are ordered: reading
order of the files, and of the items in ``KnowledgeBase.items()``. The library never changes
them; a test may add an entry for its duration (tests/validate/test_kinds.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping

from neutropenia_kb.core.units import exact
from neutropenia_kb.kb.items import (
    Advice,
    Band,
    Cause,
    Fact,
    Item,
    Level,
    ScopeLimit,
    Term,
    Threshold,
    Topic,
    UrgencyRule,
)
from neutropenia_kb.kb.loader import PathKey


@dataclass(frozen=True)
class FileKind:
    """One file of rules/: ``<stem>.yaml``, checked by ``schema/<schema>.schema.json``."""

    stem: str
    # What the file holds, said when it is missing; None: optional (content may grow into it).
    required: str | None = None
    # Lists of entries with ids that are not clinical items (sources, inputs, groups).
    lists: tuple[PathKey, ...] = ()
    schema: str = ""  # the schema's name when it is not the stem

    @property
    def schema_name(self) -> str:
        return self.schema or self.stem


@dataclass(frozen=True)
class Part:
    """A part of the patient information: one heading of a leaflet, on one page of the site."""

    id: str
    heading: str  # the leaflet's heading: page structure, not clinical wording
    page: str  # the website page that holds it
    topics: bool = True  # overview.yaml topics may be placed in it (their `section`)


def _none(raw: Mapping[str, Any], index: int) -> dict[str, Any]:
    return {}


def _fraction(value: Any) -> Fraction | None:
    return None if value is None else exact(value)


@dataclass(frozen=True)
class ItemKind:
    """One kind of clinical item: where it is written, what it is built into, where it shows."""

    name: str  # Item.kind: "cause"
    label: str  # how `nkb diff` names it: "Cause"
    file: str  # the FileKind stem it is written in
    path: PathKey  # where its list sits in that file: ("causes",)
    cls: type[Item]  # the dataclass it is built into
    part: str | None  # the Part that shows it; None: no page (a fact only feeds the rules)
    # The fields its class adds to Item's, from the validated YAML mapping and its list index.
    fields: Callable[[Mapping[str, Any], int], dict[str, Any]] = _none
    condition: str | None = None  # the key holding a rule-language condition, checked as one
    decides: bool = False  # changes what the evaluator decides: `nkb diff` reports it first
    by_section: bool = False  # placed by its own `section` key instead (topics)


FILES: dict[str, FileKind] = {f.stem: f for f in (
    FileKind("kb", "the knowledge base's name, version and bibliography", (("sources",),)),
    FileKind("inputs", "the patient inputs, thresholds and facts the rules read", (("inputs",),)),
    FileKind("overview"),
    FileKind("severity", "the severity bands of the neutrophil count"),
    FileKind("symptoms"),
    FileKind("causes", lists=(("groupings",),)),  # each grouping's `groups` are nested in it
    FileKind("tests"),
    FileKind("treatments", lists=(("groups",),)),
    FileKind("precautions", lists=(("groups",),)),
    FileKind("urgency", "the urgency levels and the rules that decide when to get help"),
    FileKind("glossary"),
)}

PARTS: dict[str, Part] = {p.id: p for p in (
    Part("about", "About neutropenia", "overview.md"),
    Part("severity", "How low is the count?", "overview.md"),
    Part("symptoms", "Symptoms", "symptoms.md"),
    Part("causes", "Causes", "causes.md"),
    Part("diagnosis", "Tests", "diagnosis.md"),
    Part("treatment", "Treatment", "treatment.md"),
    Part("living", "Looking after yourself at home", "living.md"),
    Part("help", "When to get help", "help.md"),
    Part("glossary", "Words explained", "glossary.md", topics=False),
    Part("sources", "Where this information comes from", "sources.md", topics=False),
)}

ITEM_KINDS: dict[str, ItemKind] = {k.name: k for k in (
    ItemKind("threshold", "Threshold", "inputs", ("thresholds",), Threshold, "sources",
             lambda r, i: {"value": exact(r["value"]), "unit": r["unit"]}, decides=True),
    ItemKind("fact", "Fact", "inputs", ("facts",), Fact, None,
             lambda r, i: {"when": r["when"]}, condition="when", decides=True),
    ItemKind("topic", "Topic", "overview", ("topics",), Topic, "about",
             lambda r, i: {"section": r["section"]}, by_section=True),
    ItemKind("band", "Severity band", "severity", ("severity", "bands"), Band, "severity",
             lambda r, i: {"lower": _fraction(r.get("from")), "below": _fraction(r.get("below"))},
             decides=True),
    # out_of_scope is a top-level key of severity.yaml (DESIGN.md, schema/severity.schema.json).
    ItemKind("scope", "Out-of-scope group", "severity", ("out_of_scope",), ScopeLimit, "severity",
             lambda r, i: {"when": r["when"]}, condition="when", decides=True),
    ItemKind("symptom", "Symptom", "symptoms", ("symptoms",), Item, "symptoms"),
    ItemKind("cause", "Cause", "causes", ("causes",), Cause, "causes",
             lambda r, i: {"groups": tuple(r.get("groups") or ()),
                           "examples": tuple(r.get("examples") or ())}),
    ItemKind("test", "Test", "tests", ("tests",), Advice, "diagnosis",
             condition="applies_when"),
    ItemKind("treatment", "Treatment", "treatments", ("treatments",), Advice, "treatment",
             lambda r, i: {"group": r.get("group")}, condition="applies_when"),
    ItemKind("precaution", "Precaution", "precautions", ("precautions",), Advice, "living",
             lambda r, i: {"group": r.get("group")}, condition="applies_when"),
    ItemKind("level", "Urgency level", "urgency", ("levels",), Level, "help",
             lambda r, i: {"rank": i, "action": r.get("action", ""),
                           "service": r.get("service")}),
    ItemKind("urgency_rule", "Urgency rule", "urgency", ("rules",), UrgencyRule, "help",
             lambda r, i: {"level": r["level"], "when": r["when"]}, condition="when",
             decides=True),
    ItemKind("term", "Glossary term", "glossary", ("terms",), Term, "glossary"),
)}


def item_lists(stem: str) -> tuple[PathKey, ...]:
    """Every list of id-bearing entries in one file: its other lists, then its items'."""
    file = FILES.get(stem)
    return (file.lists if file else ()) + statement_lists(stem)


def statement_lists(stem: str) -> tuple[PathKey, ...]:
    """The lists of clinical items in one file: they cite sources and may link to others."""
    return tuple(k.path for k in ITEM_KINDS.values() if k.file == stem)


def section_pages() -> dict[str, str]:
    """Topic section → its page on the website."""
    return {p.id: p.page for p in PARTS.values() if p.topics}


def part_headings() -> dict[str, str]:
    """Every part a leaflet can show, in reading order, with its heading."""
    return {p.id: p.heading for p in PARTS.values()}


def page_of(item: Item) -> str | None:
    """The website page that holds an item's anchor, or None when no page shows it."""
    kind = ITEM_KINDS.get(item.kind)
    if kind is None or kind.part is None:
        return None
    if kind.by_section:
        return section_pages().get(getattr(item, "section", ""), PARTS[kind.part].page)
    return PARTS[kind.part].page
