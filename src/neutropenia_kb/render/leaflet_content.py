"""What goes into a leaflet, computed from the knowledge base: the templates only lay it out.

One ``LeafletView`` holds the parts a leaflet shows, already grouped and filtered; a personal
leaflet builds the same view with the advice narrowed to the ids the evaluator found.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterable, Sequence

from neutropenia_kb.core.units import find_unit, format_quantity
from neutropenia_kb.kb.kinds import part_headings
from neutropenia_kb.kb.model import Group, by_group
from neutropenia_kb.kb.text import band_range, display_units, placeholders
from neutropenia_kb.render.leaflet_help import contact_lines

if TYPE_CHECKING:
    from fractions import Fraction

    from neutropenia_kb.kb.model import (
        Advice,
        Band,
        Cause,
        Grouping,
        Item,
        KnowledgeBase,
        Level,
        Source,
        Topic,
        UrgencyRule,
    )

# Every part a leaflet can show, in reading order, with its heading (the parts table of
# kb/kinds.py). Headings are page structure, not clinical wording: the clinical words come from
# the knowledge base items under them.
PART_HEADINGS: dict[str, str] = part_headings()
ALL_PARTS: tuple[str, ...] = tuple(PART_HEADINGS)


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

    @property
    def with_numbers(self) -> frozenset[str]:
        """Rules whose text prints a threshold ('38.0 °C'): the fridge sheet gives their whole
        text, and only the title of the others, so the numbers are on it and it fits a page."""
        return frozenset(r.id for r in self.rules if any(True for _ in placeholders(r.text)))


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
    contacts: tuple[str, ...] = ()  # the contacts box: one line per service, blanks to fill in
    # parts with nothing to show are left out of the page, so no heading stands alone
    shown: tuple[str, ...] = field(default=())


def _advice_groups(groups: Sequence[Group], items: Sequence["Advice"],
                   other: str) -> tuple[GroupOf, ...]:
    """Advice under its groups; advice naming no known group comes last, headed ``other``."""
    return tuple(GroupOf(g or Group("other", other), tuple(members))
                 for g, members in by_group(groups, items))


def _cause_groups(groups: Iterable[Group], causes: Sequence["Cause"]) -> tuple[GroupOf, ...]:
    """Each group with the causes in it (a cause may be in several); empty groups left out."""
    out = (GroupOf(g, tuple(c for c in causes if g.id in c.groups)) for g in groups)
    return tuple(g for g in out if g.items)


def build_view(kb: "KnowledgeBase", parts: Sequence[str],
               advice_ids: frozenset[str] | None = None) -> LeafletView:
    """The content of a leaflet showing ``parts``; with ``advice_ids`` only that advice (tests,
    treatments, precautions) is kept — a personal leaflet never shows advice that does not apply,
    nor the general statements (overview.yaml) that the general leaflet carries."""

    def keep(items: Sequence["Advice"]) -> tuple["Advice", ...]:
        return tuple(items) if advice_ids is None else tuple(i for i in items if i.id in advice_ids)

    tests = keep(kb.tests)
    treatments = keep(kb.treatments)
    precautions = keep(kb.precautions)
    treat_groups = _advice_groups(kb.treatment_groups, treatments, "Other treatment")
    prec_groups = _advice_groups(kb.precaution_groups, precautions, "Other things you can do")
    groupings = tuple(GroupingView(g, _cause_groups(g.groups, kb.causes))
                      for g in kb.cause_groupings)
    levels = tuple(LevelView(lv, tuple(r for r in kb.urgency_rules if r.level == lv.id))
                   for lv in kb.levels)
    topics = {p: kb.topics_for(p) if advice_ids is None else () for p in ALL_PARTS}
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
        contacts=contact_lines(kb),
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
    return format_quantity(cells_per_ul, unit, display_units(kb, unit.dimension))
