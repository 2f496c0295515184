"""The nurse's summary of one result (`nkb evaluate P`): what to do first, then the inputs as
understood, the reasons in plain words with their sources, and only the advice that applies.

Numbers are shown to the precision they were given: 38.4 °C is 101.1 °F here, not 101.12, and
37 °C is 99 °F. A conversion gets one more digit whenever rounding would put it on the other side
of a threshold (38 °C is 100.4 °F, not 100 °F, which would read as no fever).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Iterable, Sequence

from neutropenia_kb.core.units import BASE_UNIT, Unit, find_unit, format_number, with_unit
from neutropenia_kb.kb.model import by_group
from neutropenia_kb.kb.text import display_units, expand
from neutropenia_kb.render.leaflet_help import level_service

if TYPE_CHECKING:
    from neutropenia_kb.engine.evaluate import Result
    from neutropenia_kb.kb.model import Advice, Group, Input, KnowledgeBase

MAX_PLACES = 6
# Labels for the inputs (inputs.yaml has questions, not labels); any other input is named by its
# id in words.
LABELS = {"anc": "Neutrophil count (ANC)", "wbc": "White blood cell count",
          "neutrophils_percent": "Neutrophils", "bands_percent": "Band neutrophils",
          "temperature": "Temperature", "symptoms": "Symptoms",
          "on_chemotherapy": "Having chemotherapy", "age_years": "Age in years"}


def label(input_id: str) -> str:
    return LABELS.get(input_id) or input_id.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Entry:
    """One input as understood: 'Temperature', '38.4 °C (101.1 °F)'."""

    id: str
    label: str
    text: str


def understood(kb: "KnowledgeBase", result: "Result") -> tuple[Entry, ...]:
    """The inputs that were given (and the count worked out from them), in inputs.yaml order."""
    patient = result.patient
    out = []
    for inp in kb.inputs:
        value = patient.values.get(inp.id)
        if value is None:
            continue
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, frozenset):
            titles = [s.title for s in kb.symptoms if s.id in value]
            text = ", ".join(titles) if titles else "none"
        elif _dimension(inp) in BASE_UNIT:
            text = quantity_as_given(kb, inp.id, Fraction(value), patient.given.get(inp.id))
            if inp.id == kb.severity.input and patient.anc_derived:
                text += ", worked out from the white cell count and the percentages"
        else:
            text = format_number(Fraction(value))
        out.append(Entry(inp.id, label(inp.id), text))
    return tuple(out)


def _dimension(inp: "Input") -> str:
    return inp.dimension or ("percent" if inp.type == "percent" else "number")


def not_given(kb: "KnowledgeBase", result: "Result") -> tuple[str, ...]:
    derived = {d.id for d in kb.derived} | {i for d in kb.derived for i in d.inputs}
    values = result.patient.values
    return tuple(label(inp.id) for inp in kb.inputs
                 if inp.id not in values and (inp.id not in derived or inp.id == kb.severity.input))


def quantity_as_given(kb: "KnowledgeBase", name: str, value: Fraction,
                      given: tuple[int | Fraction, Unit | None] | None) -> str:
    """'38.4 °C (101.1 °F)': the value in the unit it was given in, then in the other display
    units, to the precision that was given."""
    inp = kb.input_by_id[name]
    dimension = _dimension(inp)
    base = BASE_UNIT[dimension]
    unit = given[1] if given is not None and given[1] is not None else base
    if given is not None:
        number = Fraction(given[0])
        first = with_unit(format_number(number), unit)
        step = _step(unit, _places(number))
    else:  # worked out (the count from the white cells): exact to the base unit's last digit
        unit, step = base, Fraction(1)
    edges = _edges(kb, dimension)
    if given is None:
        first = _converted(value, base, step, edges)
    others = [u for u in display_units(kb, dimension) if u is not unit]
    if base is not unit and base not in others:
        others.insert(0, base)
    shown = [_converted(value, u, step, edges) for u in others]
    return f"{first} ({', '.join(shown)})" if shown else first


def _places(number: Fraction) -> int:
    return next((p for p in range(MAX_PLACES + 1) if (number * 10**p).denominator == 1),
                MAX_PLACES)


def _step(unit: Unit, places: int) -> Fraction:
    """The last digit given, in base units (0.1 °C, 100 cells/µL for 0.8 ×10⁹/L)."""
    return abs(unit.to_base(Fraction(1, 10**places)) - unit.to_base(Fraction(0)))


def _edges(kb: "KnowledgeBase", dimension: str) -> list[Fraction]:
    """Every threshold of this dimension in base units: the fever line, the bands' edges."""
    edges = [t.base_value for t in kb.thresholds
             if (u := find_unit(t.unit)) is not None and u.dimension == dimension]
    band_unit = find_unit(kb.severity.unit)
    if band_unit is not None and band_unit.dimension == dimension:
        for band in kb.severity.bands:
            edges += [band_unit.to_base(e) for e in (band.lower, band.below) if e is not None]
    return edges


def _converted(value: Fraction, unit: Unit, step: Fraction, edges: Sequence[Fraction]) -> str:
    """``value`` (base units) in ``unit``, rounded to as many decimals as the given step allows;
    more digits only when the rounded value would be on the other side of one of ``edges``."""
    in_unit = unit.from_base(value)
    unit_step = abs(unit.from_base(step) - unit.from_base(Fraction(0)))
    # the nearest power of ten to the given step: 0.1 °C is 0.18 °F (1 decimal), 0.1 °F is
    # 0.056 °C (1 decimal, not 2), 1 °C is 1.8 °F (whole degrees)
    places = max(0, min(MAX_PLACES, round(-math.log10(unit_step))))
    while True:
        cut = Fraction(round(in_unit * 10**places), 10**places)
        back = unit.to_base(cut)
        if places >= MAX_PLACES or all((back >= e) == (value >= e) for e in edges):
            break
        places += 1
    text = f"{Decimal(cut.numerator) / Decimal(cut.denominator):,.{places}f}"
    if "." in text and cut == in_unit:  # exact: no trailing zeros that claim more precision
        text = text.rstrip("0").rstrip(".")
    return with_unit(text, unit)


def first_line(kb: "KnowledgeBase", result: "Result") -> str:
    """'GET MEDICAL HELP RIGHT AWAY: Call your 24-hour line or 999 now. Your 24-hour number: …'"""
    level = kb.level(result.urgency)
    line = f"{level.title.upper()}: {level.action.rstrip('.')}"
    service = level_service(kb, level)
    return f"{line}. {service}" if service else line


def summary_text(kb: "KnowledgeBase", result: "Result", verbose: bool = False) -> str:
    """What a nurse reads on the phone: the decision and what to tell the patient first."""
    level = kb.level(result.urgency)
    lines = [first_line(kb, result), f"Tell the patient: \"{expand(kb, level.text)}\""]
    if not result.urgency_certain:
        lines += open_questions(kb, result)
    lines += ["", "Inputs as understood:"]
    for entry in understood(kb, result):
        if entry.id == kb.severity.input and result.severity != "unknown":
            entry = Entry(entry.id, entry.label,
                          f"{entry.text}: {kb.band(result.severity).title.lower()}")
        lines.append(f"  {entry.label}: {entry.text}")
    missing = not_given(kb, result)
    if missing:
        lines.append("  Not given: " + ", ".join(m.lower() for m in missing))
    for limit in result.scope_warnings:
        lines.append(f"  Take care: {limit.title}: the severity bands may not apply.")
    lines += ["", "Why:"]
    reasons = [f for f in result.findings if f.kind == "urgency_rule"
               and getattr(kb.by_id[f.id], "level", None) == result.urgency]
    for finding in reasons:
        if finding.certain:
            lines.append(f"  - {finding.title}. Sources: {_sources(kb, finding.sources)}")
    unsure = [f.title for f in reasons if not f.certain]
    if unsure:
        lines.append("  - Not known yet, so counted to be safe: " + "; ".join(unsure) + ".")
    if not reasons:
        lines.append(f"  - Nothing calls for more than this: {level.title.lower()}.")
    advice = _advice(kb, result.advice_ids)
    if advice:
        lines += ["", "Advice that applies:"] + advice
    if verbose:
        lines += ["", "Trace (rule language, for audits):"]
        lines += [f"  {step}" for step in result.trace]
        lines += ["", "Findings:"]
        for finding in result.findings:
            mark = "" if finding.certain else " [not certain]"
            lines.append(f"  - {finding.title}{mark}: {finding.because}")
    return "\n".join(lines)


def open_questions(kb: "KnowledgeBase", result: "Result") -> list[str]:
    """The level decided on what is known, then each answer that would raise it: never a
    vague "a more urgent rule may apply" (Result.questions, engine/questions.py)."""
    decided = kb.level(result.decided_urgency)
    lines = [f"Decided on what is known: {decided.title} ({decided.id}). Some answers are "
             "missing, so the more urgent level is shown until they are known:"]
    for question in result.questions:
        lines.append(f"  - {question.when}: {kb.level(question.level).title}")
    asked = {q.input for q in result.questions}
    together = [name for name in result.settle_with if name not in asked]
    if together:
        lines.append("  Also ask (it matters together with other answers): "
                     + ", ".join(together))
    return lines


def _advice(kb: "KnowledgeBase", ids: Iterable[str]) -> list[str]:
    keep = frozenset(ids)
    lines: list[str] = []
    sections: list[tuple[str, Sequence["Group"], Sequence["Advice"]]] = [
        ("Looking after yourself at home", kb.precaution_groups, kb.precautions),
        ("Treatment", kb.treatment_groups, kb.treatments),
        ("Tests", (), kb.tests)]
    for heading, groups, items in sections:
        chosen = [i for i in items if i.id in keep]
        if not chosen:
            continue
        if not groups:
            lines.append(f"  {heading}: " + "; ".join(i.title for i in chosen))
            continue
        lines.append(f"  {heading}:")
        for group, members in by_group(groups, chosen):
            title = group.title if group is not None else "Other"
            lines.append(f"    {title}: " + "; ".join(m.title for m in members))
    return lines


def _sources(kb: "KnowledgeBase", refs: tuple[tuple[str, str | None], ...]) -> str:
    """'Title (“Section”, “Section”); Title' — each source once, with the sections cited."""
    sections: dict[str, list[str]] = {}
    for source_id, section_id in refs:
        source = kb.source_by_id.get(source_id)
        section = source.section(section_id) if source is not None else None
        cited = sections.setdefault(source.title if source is not None else source_id, [])
        if section is not None and f"“{section.title}”" not in cited:
            cited.append(f"“{section.title}”")
    return "; ".join(f"{title} ({', '.join(cited)})" if cited else title
                     for title, cited in sections.items())
