"""The knowledge base as one frozen record, built only from validated data.

Renderers and the evaluator read this, never the raw YAML. The item classes are in
``kb/items.py`` (and importable from here); which file and list each kind of item is built from
is the table in ``kb/kinds.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any, Generic, Iterable, Iterator, Mapping, Sequence, TypeVar, cast

from neutropenia_kb.core.units import exact
from neutropenia_kb.kb.items import (
    Advice,
    Band,
    Cause,
    Change,
    Derived,
    Fact,
    Group,
    Grouping,
    Input,
    Item,
    Level,
    Meta,
    Review,
    ScopeLimit,
    Section,
    Service,
    SeverityTable,
    Source,
    SourceRef,
    Term,
    Threshold,
    Topic,
    UrgencyRule,
)
from neutropenia_kb.kb.kinds import ITEM_KINDS, ItemKind
from neutropenia_kb.kb.loader import Doc

# The item classes belong to the model's interface: `from neutropenia_kb.kb.model import Band`.
__all__ = [
    "Advice", "Band", "Cause", "Change", "Derived", "Fact", "Group", "Grouping", "Input", "Item",
    "KnowledgeBase", "Level", "Meta", "Review", "ScopeLimit", "Section", "SeverityTable",
    "Service", "Source", "SourceRef", "Term", "Threshold", "Topic", "UrgencyRule", "build",
    "by_group",
]


_T = TypeVar("_T", bound=Item)


class _OfKind(Generic[_T]):
    """``kb.causes``: the items of one kind, typed as the class that kind is built into."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, kb: KnowledgeBase | None, owner: type | None = None) -> tuple[_T, ...]:
        if kb is None:
            raise AttributeError(f"the {self.name} items belong to a knowledge base")
        return cast("tuple[_T, ...]", kb.of_kind(self.name))


@dataclass(frozen=True)
class KnowledgeBase:
    root: Path
    meta: Meta
    sources: tuple[Source, ...]
    changelog: tuple[Change, ...]
    inputs: tuple[Input, ...]
    derived: tuple[Derived, ...]
    severity: SeverityTable
    cause_groupings: tuple[Grouping, ...]
    treatment_groups: tuple[Group, ...]
    precaution_groups: tuple[Group, ...]
    # Every clinical item by its kind's name (kb/kinds.py ITEM_KINDS); the attributes below name
    # the kinds the code reads by name, a new kind is reached with ``of_kind``.
    by_kind: Mapping[str, tuple[Item, ...]]
    services: tuple[Service, ...] = ()

    def of_kind(self, name: str) -> tuple[Item, ...]:
        return self.by_kind.get(name, ())

    def items(self) -> Iterator[Item]:
        """Every clinical item, in file order (the order of the kinds table)."""
        for kind in ITEM_KINDS.values():
            yield from self.of_kind(kind.name)

    # The kinds the code reads by name; kb/kinds.py ITEM_KINDS names them all.
    thresholds = _OfKind[Threshold]("threshold")
    facts = _OfKind[Fact]("fact")
    topics = _OfKind[Topic]("topic")
    symptoms = _OfKind[Item]("symptom")
    causes = _OfKind[Cause]("cause")
    tests = _OfKind[Advice]("test")
    treatments = _OfKind[Advice]("treatment")
    precautions = _OfKind[Advice]("precaution")
    levels = _OfKind[Level]("level")
    urgency_rules = _OfKind[UrgencyRule]("urgency_rule")
    terms = _OfKind[Term]("term")

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


def _items(docs: Mapping[str, Doc], kind: ItemKind) -> tuple[Item, ...]:
    """Every item of one kind, built as the kinds table says."""
    doc = docs.get(kind.file)
    listing: Any = doc.data if doc else None
    for part in kind.path:
        listing = listing.get(part) if isinstance(listing, dict) else None
    if doc is None or not listing:
        return ()
    return tuple(kind.cls(**_common(doc, kind.path + (i,), raw, kind.name), **kind.fields(raw, i))
                 for i, raw in enumerate(listing))


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
    by_kind = {kind.name: _items(docs, kind) for kind in ITEM_KINDS.values()}
    sev = docs["severity"].data["severity"]
    severity = SeverityTable(sev["input"], sev["unit"],
                             cast("tuple[Band, ...]", by_kind.get("band", ())),
                             cast("tuple[ScopeLimit, ...]", by_kind.get("scope", ())))
    causes_doc = docs.get("causes")
    groupings = tuple(
        Grouping(g["id"], g["title"], g.get("text", ""), _groups(g.get("groups")))
        for g in (causes_doc.data.get("groupings", ()) if causes_doc else ()))
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
        severity=severity,
        cause_groupings=groupings,
        treatment_groups=_groups(docs["treatments"].data.get("groups") if "treatments" in docs else ()),
        precaution_groups=_groups(docs["precautions"].data.get("groups") if "precautions" in docs else ()),
        by_kind=by_kind,
        services=services,
    )
