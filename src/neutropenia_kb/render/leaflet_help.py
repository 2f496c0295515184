"""Where to get help, as leaflets and the nurse summary print it: each level's action and the
service to call, the contacts box, and the safety net (what would make it more urgent).

The action and services follow the shape agreed between engineers (Level.action, Level.service,
kb.services, kb.text.service_line). Until that shape is on main, a level's title stands in for
its action and the contacts box has blank lines: nothing is invented, no service and no number.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable

from neutropenia_kb.core.units import find_unit, format_quantity
from neutropenia_kb.engine.evaluate import evaluator_for
from neutropenia_kb.kb import text as kb_text
from neutropenia_kb.kb.text import display_units

if TYPE_CHECKING:
    from neutropenia_kb.engine.evaluate import Result
    from neutropenia_kb.kb.model import KnowledgeBase, Level

BLANK = "________________"


def level_action(level: "Level") -> str:
    """Short imperative words for the level ('Call your 24-hour line or 999 now')."""
    action = getattr(level, "action", None)
    return str(action) if action else level.title


def _service_line(service: Any) -> str:
    shared: Callable[[Any], str] | None = getattr(kb_text, "service_line", None)
    if shared is not None:
        return shared(service)
    return f"{service.name}: {service.phone or BLANK}"


def level_service(kb: "KnowledgeBase", level: "Level") -> str | None:
    """'Your 24-hour number: ________' for the level's service; None for a level without one."""
    service_id = getattr(level, "service", None)
    finder = getattr(kb, "service", None)
    if not service_id or finder is None:
        return None
    return _service_line(finder(service_id))


def contact_lines(kb: "KnowledgeBase") -> tuple[str, ...]:
    """One line per service, with a blank where no number is known; blank lines to fill in when
    the knowledge base names no services."""
    services = tuple(getattr(kb, "services", ()) or ())
    if not services:
        short = BLANK[:11]  # two to a line on the fridge sheet, even in large print
        return (f"{short} Phone: {short}",) * 3
    return tuple(_service_line(s) for s in services)


@dataclass(frozen=True)
class NetLine:
    """'If <when>: <action>' — a change that would make the advice more urgent."""

    when: str
    level: "Level"

    @property
    def action(self) -> str:
        return level_action(self.level)


def safety_net(kb: "KnowledgeBase", result: "Result") -> tuple[NetLine, ...]:
    """The changes that would raise this patient's level, found by asking the evaluator itself:
    the same patient with the temperature at each temperature threshold (or just under one),
    and with each symptom added. Lines for the most urgent level first; none at the top level."""
    from neutropenia_kb.engine.patient import Patient

    evaluator = evaluator_for(kb)
    rank = {lv.id: lv.rank for lv in kb.levels}
    now = rank[result.urgency]
    patient = result.patient
    values = dict(patient.values)
    lines: list[tuple[int, int, NetLine]] = []

    def level_with(changed: dict[str, Any]) -> str:
        return evaluator.decide(Patient({**values, **changed}, patient.given,
                                        patient.anc_derived)).urgency

    temperature = next((i for i in kb.inputs if i.dimension == "temperature"), None)
    if temperature is not None:
        unit = find_unit(temperature.unit or "")
        for order, threshold in enumerate(kb.thresholds):
            t_unit = find_unit(threshold.unit)
            if unit is None or t_unit is None or t_unit.dimension != "temperature":
                continue
            edge = threshold.base_value
            shown = format_quantity(edge, unit, display_units(kb, "temperature"))
            for value, words in ((edge, f"your temperature is {shown} or higher"),
                                 (edge - Fraction(1, 10), f"your temperature is below {shown}")):
                level = level_with({temperature.id: value})
                if rank[level] < now:
                    lines.append((rank[level], order, NetLine(words, kb.level(level))))
                    break
    present = values.get("symptoms")
    had = present if isinstance(present, frozenset) else frozenset()
    by_level: dict[str, list[str]] = {}
    for symptom in kb.symptoms:
        if symptom.id in had:
            continue
        level = level_with({"symptoms": had | {symptom.id}})
        if rank[level] < now:
            by_level.setdefault(level, []).append(symptom.title.lower())
    for level_id, titles in by_level.items():
        lines.append((rank[level_id], 100, NetLine("you have any of these: " + ", ".join(titles),
                                                   kb.level(level_id))))
    return tuple(line for _, _, line in sorted(lines, key=lambda t: (t[0], t[1])))
