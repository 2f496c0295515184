"""The knowledge base as frozen dataclasses, built only from validated data.

Renderers and the evaluator read this, never the raw YAML. Field names follow the YAML keys
(see DESIGN.md); ``from`` is ``lower`` here because ``from`` is a Python keyword.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from neutropenia_kb.core.units import Unit, exact, find_unit
from neutropenia_kb.kb.loader import Doc


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
class Severity:
    input: str
    unit: str
    bands: tuple[Band, ...]
    out_of_scope: tuple[ScopeLimit, ...]


@dataclass(frozen=True)
class KnowledgeBase:
    root: Path
    meta: Meta
    sources: tuple[Source, ...]
    changelog: tuple[Change, ...]
    inputs: tuple[Input, ...]
    derived: tuple[Derived, ...]
    thresholds: tuple[Threshold, ...]
    facts: tuple[Fact, ...]
    topics: tuple[Topic, ...]
    severity: Severity
    symptoms: tuple[Item, ...]
    cause_groupings: tuple[Grouping, ...]
    causes: tuple[Cause, ...]
    tests: tuple[Advice, ...]
    treatment_groups: tuple[Group, ...]
    treatments: tuple[Advice, ...]
    precaution_groups: tuple[Group, ...]
    precautions: tuple[Advice, ...]
    levels: tuple[Level, ...]
    urgency_rules: tuple[UrgencyRule, ...]
    terms: tuple[Term, ...]
    services: tuple[Service, ...] = ()

    def items(self) -> Iterator[Item]:
        """Every clinical item, in file order."""
        yield from self.thresholds
        yield from self.facts
        yield from self.topics
        yield from self.severity.bands
        yield from self.severity.out_of_scope
        yield from self.symptoms
        yield from self.causes
        yield from self.tests
        yield from self.treatments
        yield from self.precautions
        yield from self.levels
        yield from self.urgency_rules
        yield from self.terms

    @cached_property
    def by_id(self) -> Mapping[str, Item]:
        return {item.id: item for item in self.items()}

    @cached_property
    def source_by_id(self) -> Mapping[str, Source]:
        return {s.id: s for s in self.sources}

    @cached_property
    def input_by_id(self) -> Mapping[str, Input]:
        return {i.id: i for i in self.inputs}

    def topics_for(self, section: str) -> tuple[Topic, ...]:
        return tuple(t for t in self.topics if t.section == section)

    def band(self, band_id: str) -> Band:
        return next(b for b in self.severity.bands if b.id == band_id)

    def level(self, level_id: str) -> Level:
        return next(lv for lv in self.levels if lv.id == level_id)

    def service(self, service_id: str) -> Service:
        return next(s for s in self.services if s.id == service_id)

    def level_service(self, level_id: str) -> Service | None:
        """The service a level tells the patient to call, or None (nothing to call now)."""
        service = self.level(level_id).service
        return None if service is None else self.service(service)

def by_group(groups: Sequence[Group], items: Sequence[Advice]) -> list[tuple[Group | None, list[Advice]]]:
    """Advice under its groups in group order, empty groups left out; advice naming no known
    group comes last, under None. The site and the leaflets group treatments and precautions
    with this one function."""
    known = {g.id for g in groups}
    out: list[tuple[Group | None, list[Advice]]] = [
        (g, [i for i in items if i.group == g.id]) for g in groups]
    out.append((None, [i for i in items if i.group not in known]))
    return [(g, members) for g, members in out if members]


# ---- building from validated documents -------------------------------------------------------


def _t(values: Iterable[Any] | None) -> tuple[Any, ...]:
    return tuple(values or ())


def _frac(value: Any) -> Fraction | None:
    return None if value is None else exact(value)


def _common(doc: Doc, where: tuple[str | int, ...], raw: Mapping[str, Any], kind: str) -> dict[str, Any]:
    review = raw.get("review")
    return dict(
        id=raw["id"],
        kind=kind,
        title=raw.get("title") or raw.get("term", ""),
        text=raw.get("text") or raw.get("definition", ""),
        sources=tuple(SourceRef(s["source"], s.get("section")) for s in raw.get("sources", ())),
        note=raw.get("note"),
        see_also=_t(raw.get("see_also")),
        applies_when=raw.get("applies_when"),
        review=Review(review.get("last_reviewed"), review.get("next_review"),
                      _t(review.get("reviewed_by"))) if review else None,
        file=doc.path,
        line=doc.mark(where)[0],
    )


def _items(docs: Mapping[str, Doc], stem: str, key: str, kind: str, cls: type, **extra: Any) -> tuple[Any, ...]:
    doc = docs.get(stem)
    if doc is None:
        return ()
    out = []
    for i, raw in enumerate(doc.data.get(key) or ()):
        fields = _common(doc, (key, i), raw, kind)
        for name, getter in extra.items():
            fields[name] = getter(raw)
        out.append(cls(**fields))
    return tuple(out)


def _groups(raw: Iterable[Mapping[str, Any]] | None) -> tuple[Group, ...]:
    return tuple(Group(g["id"], g["title"], g.get("text", "")) for g in raw or ())


def build(root: Path, docs: Mapping[str, Doc]) -> KnowledgeBase:
    """Assemble the model. Call only after ``validate`` found no errors."""
    kb = docs["kb"].data
    k = kb["kb"]
    meta = Meta(k["id"], k["title"], str(k["version"]), k.get("language", "en"),
                _t(k.get("written_by")), _t(k.get("reviewed_by")), str(k["last_reviewed"]),
                str(k["next_review"]), dict(k.get("readability") or {}))
    sources = tuple(
        Source(s["id"], s["title"], s["kind"], s.get("publisher"), _t(s.get("authors")),
               _t(s.get("reviewers")), s.get("updated"), s.get("url"), s.get("note"),
               tuple(Section(x["id"], x["title"]) for x in s.get("sections", ())))
        for s in kb.get("sources", ()))
    changelog = tuple(Change(str(c["version"]), str(c["date"]), _t(c.get("changes")))
                      for c in kb.get("changelog", ()))
    inp = docs["inputs"].data
    inputs = tuple(
        Input(i["id"], i["type"], i.get("title", i["id"]), i.get("question", ""), i.get("help", ""),
              i.get("dimension"), i.get("unit"), _t(i.get("accepted_units")),
              _t(i.get("display_units")), _frac(i.get("min")), _frac(i.get("max")),
              _frac((i.get("bare_number") or {}).get("ambiguous_below")),
              i.get("phrase") or i.get("title") or i["id"].replace("_", " "))
        for i in inp.get("inputs", ()))
    derived = tuple(
        Derived(d["id"], d["formula"], _t(d.get("when_given")), _t(d.get("zero_when_missing")),
                _t(d.get("add_up_to_100")), d.get("note"))
        for d in inp.get("derived", ()))
    sev = docs["severity"].data["severity"]
    severity = Severity(
        sev["input"], sev["unit"],
        tuple(
            Band(**_common(docs["severity"], ("severity", "bands", i), b, "band"),
                 lower=_frac(b.get("from")), below=_frac(b.get("below")))
            for i, b in enumerate(sev.get("bands", ()))),
        # out_of_scope is a top-level key of severity.yaml (DESIGN.md, schema/severity.schema.json).
        tuple(ScopeLimit(**_common(docs["severity"], ("out_of_scope", i), s, "scope"),
                         when=s["when"])
              for i, s in enumerate(docs["severity"].data.get("out_of_scope") or ())),
    )
    causes_doc = docs.get("causes")
    groupings = tuple(
        Grouping(g["id"], g["title"], g.get("text", ""), _groups(g.get("groups")))
        for g in (causes_doc.data.get("groupings", ()) if causes_doc else ()))
    urgency = docs["urgency"]  # a required file: validation guarantees it
    levels = tuple(Level(**_common(urgency, ("levels", i), lv, "level"), rank=i,
                         action=lv.get("action", ""), service=lv.get("service"))
                   for i, lv in enumerate(urgency.data.get("levels", ())))
    services = tuple(Service(s["id"], s["name"], s["when"], s.get("phone"), s.get("say"),
                             s.get("note"))
                     for s in kb.get("services") or ())
    return KnowledgeBase(
        root=root,
        meta=meta,
        sources=sources,
        changelog=changelog,
        inputs=inputs,
        derived=derived,
        thresholds=_items(docs, "inputs", "thresholds", "threshold", Threshold,
                          value=lambda r: exact(r["value"]), unit=lambda r: r["unit"]),
        facts=_items(docs, "inputs", "facts", "fact", Fact, when=lambda r: r["when"]),
        topics=_items(docs, "overview", "topics", "topic", Topic, section=lambda r: r["section"]),
        severity=severity,
        symptoms=_items(docs, "symptoms", "symptoms", "symptom", Item),
        cause_groupings=groupings,
        causes=_items(docs, "causes", "causes", "cause", Cause,
                      groups=lambda r: _t(r.get("groups")), examples=lambda r: _t(r.get("examples"))),
        tests=_items(docs, "tests", "tests", "test", Advice),
        treatment_groups=_groups(docs["treatments"].data.get("groups") if "treatments" in docs else ()),
        treatments=_items(docs, "treatments", "treatments", "treatment", Advice,
                          group=lambda r: r.get("group")),
        precaution_groups=_groups(docs["precautions"].data.get("groups") if "precautions" in docs else ()),
        precautions=_items(docs, "precautions", "precautions", "precaution", Advice,
                           group=lambda r: r.get("group")),
        levels=levels,
        urgency_rules=_items(docs, "urgency", "rules", "urgency_rule", UrgencyRule,
                             level=lambda r: r["level"], when=lambda r: r["when"]),
        terms=_items(docs, "glossary", "terms", "term", Term),
        services=services,
    )
