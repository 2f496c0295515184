"""Where to get help, as leaflets and the nurse summary print it: each level's service line,
the contacts box, and the safety net (what would make it more urgent).

A level's action (``Level.action``) and service (``Level.service``, ``kb.level_service``) are
read from the data; ``kb.text.service_line`` prints a service with a blank where the publisher
has not filled in its number, so nothing here invents a name or a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from neutropenia_kb.core.units import find_unit, format_quantity
from neutropenia_kb.engine.evaluate import evaluator_for
from neutropenia_kb.kb.text import PHONE_BLANK, display_units, service_line

if TYPE_CHECKING:
    from neutropenia_kb.engine.evaluate import Result
    from neutropenia_kb.kb.model import KnowledgeBase, Level


def level_service(kb: "KnowledgeBase", level: "Level") -> str | None:
    """'Your care team or GP: ________' for the level's service; None for a level without one."""
    service = kb.level_service(level.id)
    return None if service is None else service_line(service)


def contact_lines(kb: "KnowledgeBase") -> tuple[str, ...]:
    """One line per service, with a blank where no number is known. A knowledge base that
    names no services (kb.yaml ``services`` is optional) gets blank lines to fill in."""
    if not kb.services:
        short = PHONE_BLANK + "___"  # two to a line on the fridge sheet, even in large print
        return (f"{short} Phone: {short}",) * 3
    return tuple(service_line(s) for s in kb.services)


@dataclass(frozen=True)
class NetLine:
    """'If <when>: <action>' — a change that would make the advice more urgent."""

    when: str
    level: "Level"

    @property
    def action(self) -> str:
        """The level's action as a sentence: its own full stop, or one added (never two)."""
        action = self.level.action
        return action if action.endswith((".", "!", "?")) else f"{action}."


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
