"""The patient's own result, as a personal leaflet shows it on its first page.

Reads the evaluator's Result through a small protocol (only the fields the leaflet prints), so
the leaflet depends on what a result says, not on how the evaluator computes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Protocol

from neutropenia_kb.engine.explain import Outcome
from neutropenia_kb.render.leaflet_content import format_count
from neutropenia_kb.render.leaflet_help import NetLine, level_service, safety_net
from neutropenia_kb.render.summary import Entry, not_given, understood

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import Band, KnowledgeBase, Level, ScopeLimit


class ResultLike(Outcome, Protocol):
    """The part of ``evaluate.Result`` a leaflet reads: what an explanation reads, and more."""

    @property
    def anc_cells_per_ul(self) -> Fraction | None: ...
    @property
    def findings(self) -> Iterable[Any]: ...
    @property
    def inputs(self) -> Mapping[str, Any]: ...
    @property
    def patient(self) -> Any: ...


@dataclass(frozen=True)
class PersonalView:
    date: dt.date
    name: str | None  # as the patient file gave it (validated by the patient parser)
    test_date: dt.date | None  # the date of the blood test, when given
    count: str | None  # '800 cells/µL (0.8 ×10⁹/L)'; None when no count was given
    band: "Band | None"  # None: severity unknown
    entered: tuple[Entry, ...]  # the other inputs as understood: temperature, symptoms, …
    not_given: tuple[str, ...]
    level: "Level"
    action: str  # the level's action ('Call your 24-hour line or 999 now')
    service: str | None  # 'Your 24-hour number: ________'
    reasons: tuple[str, ...]  # titles of the urgency rules that surely hold at this level
    certain: bool
    settle_with: tuple[str, ...]  # the questions whose answers would settle the urgency
    net: tuple[NetLine, ...]  # what would make it more urgent, most urgent first
    # whom the safety net's lines send the patient to, with the number: on page 1, so no one
    # turns to the last page to find it (the service of 'What to do now' is not repeated)
    net_services: tuple[str, ...]
    scope_warnings: tuple["ScopeLimit", ...]


def personal_view(kb: "KnowledgeBase", result: ResultLike, day: dt.date) -> PersonalView:
    bands = {b.id: b for b in kb.severity.bands}
    # Only the rules that surely hold: the nurse-facing 'because' stays in `nkb evaluate`, and
    # rules counted only to be safe are covered by the list of missing answers.
    # Rules of a lower level (e.g. routine check-ups) are not reasons for this level's box.
    def at_this_level(finding: Any) -> bool:
        rule = kb.by_id.get(str(getattr(finding, "id", "")))
        return getattr(rule, "level", result.urgency) == result.urgency

    # Other findings (facts, severity) are shown elsewhere.
    reasons = tuple(
        str(getattr(f, "title", ""))
        for f in result.findings
        if getattr(f, "kind", "") == "urgency_rule" and getattr(f, "certain", True)
        and at_this_level(f))
    questions = []
    for name in result.settle_with:
        inp = kb.input_by_id.get(name)
        questions.append(inp.question or inp.title if inp else name.replace("_", " "))
    details = result.patient.details
    test_date = details.get("test_date")
    level = kb.level(result.urgency)
    full = result  # the protocol is narrow; the evaluator's Result has what these two read
    service = level_service(kb, level)
    net = safety_net(kb, full)  # type: ignore[arg-type]
    net_services = (level_service(kb, line.level) for line in net)
    return PersonalView(
        date=day,
        name=details.get("name"),
        test_date=dt.date.fromisoformat(test_date) if test_date else None,
        count=format_count(kb, result.anc_cells_per_ul),
        band=bands.get(result.severity),
        entered=tuple(e for e in understood(kb, full)  # type: ignore[arg-type]
                      if e.id != kb.severity.input),
        not_given=not_given(kb, full),  # type: ignore[arg-type]
        level=level,
        action=level.action,
        service=service,
        reasons=reasons,
        certain=bool(result.urgency_certain),
        settle_with=tuple(questions),
        net=net,
        net_services=tuple(dict.fromkeys(s for s in net_services if s and s != service)),
        scope_warnings=tuple(result.scope_warnings),
    )
