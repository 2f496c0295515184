"""What goes into a leaflet, computed from the knowledge base: the templates only lay it out.

One ``LeafletView`` holds the parts a leaflet shows, already grouped and filtered; a personal
leaflet builds the same view with the advice narrowed to the ids the evaluator found.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterable, Sequence, TypeVar

from ..model import Group
from ..text import band_range, display_units
from ..units import find_unit, format_quantity

if TYPE_CHECKING:
    from fractions import Fraction

    from ..model import Advice, Band, Grouping, Item, KnowledgeBase, Level, Source, Topic, \
        UrgencyRule

# Every part a leaflet can show, in reading order, with its heading. Headings are page structure,
# not clinical wording: the clinical words come from the knowledge base items under them.
PART_HEADINGS: dict[str, str] = {
    "about": "About neutropenia",
    "severity": "How low is the count?",
    "symptoms": "Symptoms",
    "causes": "Causes",
    "diagnosis": "Tests",
    "treatment": "Treatment",
    "living": "Looking after yourself at home",
    "help": "When to get help",
    "glossary": "Words explained",
    "sources": "Where this information comes from",
}
ALL_PARTS: tuple[str, ...] = tuple(PART_HEADINGS)
FULL_WIDTH_PARTS = frozenset({"severity", "help"})

T = TypeVar("T")


@dataclass(frozen=True)
class BandRow:
    band: "Band"
    range: str  # "500 to under 1,000 cells/µL", from the same edges the evaluator uses


@dataclass(frozen=True)
class GroupOf:
    """One group heading with its items (causes, treatments or precautions)."""

    group: "Group"
    items: tuple["Item", ...]


@dataclass(frozen=True)
class GroupingView:
    grouping: "Grouping"
    groups: tuple[GroupOf, ...]


@dataclass(frozen=True)
class LevelView:
    level: "Level"
    rules: tuple["UrgencyRule", ...]


@dataclass(frozen=True)
class LeafletView:
    parts: tuple[str, ...]
    headings: dict[str, str]
    topics: dict[str, tuple["Topic", ...]]
    bands: tuple[BandRow, ...]
    symptoms: tuple["Item", ...]
    cause_groupings: tuple[GroupingView, ...]
    tests: tuple["Advice", ...]
    treatments: tuple[GroupOf, ...]
    precautions: tuple[GroupOf, ...]
    levels: tuple[LevelView, ...]
    terms: tuple["Item", ...]
    sources: tuple["Source", ...]
    # parts with nothing to show are left out of the page, so no heading stands alone
    shown: tuple[str, ...] = field(default=())

    @property
    def runs(self) -> list[tuple[str, list[str]]]:
        """The shown parts cut into runs that flow in two columns ('cols') or span the page
        ('full'); wide tables cannot live in a 9 cm column."""
        out: list[tuple[str, list[str]]] = []
        for name in self.shown:
            kind = "full" if name in FULL_WIDTH_PARTS else "cols"
            if out and out[-1][0] == kind:
                out[-1][1].append(name)
            else:
                out.append((kind, [name]))
        return out


def _grouped(groups: Iterable["Group"], items: Sequence[T], key: str = "group") -> tuple[GroupOf, ...]:
    out = []
    for group in groups:
        members = tuple(i for i in items
                        if (getattr(i, key) == group.id if key == "group"
                            else group.id in getattr(i, key)))
        if members:
            out.append(GroupOf(group, members))  # type: ignore[arg-type]
    return tuple(out)


def _ungrouped(groups: Iterable["Group"], items: Sequence["Advice"]) -> tuple["Advice", ...]:
    known = {g.id for g in groups}
    return tuple(i for i in items if i.group not in known)


def build_view(kb: "KnowledgeBase", parts: Sequence[str],
               advice_ids: frozenset[str] | None = None) -> LeafletView:
    """The content of a leaflet showing ``parts``; with ``advice_ids`` only that advice (tests,
    treatments, precautions) is kept — a personal leaflet never shows advice that does not apply."""

    def keep(items: Sequence["Advice"]) -> tuple["Advice", ...]:
        return tuple(items) if advice_ids is None else tuple(i for i in items if i.id in advice_ids)

    tests = keep(kb.tests)
    treatments = keep(kb.treatments)
    precautions = keep(kb.precautions)
    treat_groups = _grouped(kb.treatment_groups, treatments)
    loose = _ungrouped(kb.treatment_groups, treatments)
    if loose:
        treat_groups += (GroupOf(Group("other", "Other treatment"), loose),)
    prec_groups = _grouped(kb.precaution_groups, precautions)
    loose = _ungrouped(kb.precaution_groups, precautions)
    if loose:
        prec_groups += (GroupOf(Group("other", "Other things you can do"), loose),)
    groupings = tuple(
        GroupingView(g, _grouped(g.groups, kb.causes, key="groups")) for g in kb.cause_groupings)
    levels = tuple(LevelView(lv, tuple(r for r in kb.urgency_rules if r.level == lv.id))
                   for lv in kb.levels)
    topics = {p: kb.topics_for(p) for p in ALL_PARTS}
    view = LeafletView(
        parts=tuple(parts),
        headings=dict(PART_HEADINGS),
        topics=topics,
        bands=tuple(BandRow(b, band_range(kb, b)) for b in kb.severity.bands),
        symptoms=kb.symptoms,
        cause_groupings=groupings,
        tests=tests,
        treatments=treat_groups,
        precautions=prec_groups,
        levels=levels,
        terms=kb.terms,
        sources=kb.sources,
    )
    has = {
        "about": bool(topics["about"]),
        "severity": bool(view.bands or topics["severity"]),
        "symptoms": bool(view.symptoms or topics["symptoms"]),
        "causes": bool(kb.causes or topics["causes"]),
        "diagnosis": bool(tests or topics["diagnosis"]),
        "treatment": bool(treat_groups or topics["treatment"]),
        "living": bool(prec_groups or topics["living"]),
        "help": bool(levels or topics["help"]),
        "glossary": bool(kb.terms),
        "sources": True,
    }
    return replace(view, shown=tuple(p for p in parts if has[p]))


def format_count(kb: "KnowledgeBase", cells_per_ul: "Fraction | None") -> str | None:
    """'800 cells/µL (0.8 ×10⁹/L)': the count in the units the knowledge base displays."""
    if cells_per_ul is None:
        return None
    unit = find_unit(kb.severity.unit)
    assert unit is not None
    # Lab reports give the count in either unit: when inputs.yaml names no display_units for
    # it, the leaflet shows both.
    also = display_units(kb, unit.dimension) or [u for u in (find_unit("10^9/L"),) if u]
    return format_quantity(cells_per_ul, unit, also)
