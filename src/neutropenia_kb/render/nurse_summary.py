"""The nurse summary: one patient's result as plain text to read on the phone — the decision
first, then why (with sources), then what to do. What `nkb evaluate` prints."""

from __future__ import annotations

from neutropenia_kb.engine.evaluate import Result
from neutropenia_kb.kb.model import KnowledgeBase


def nurse_summary(kb: KnowledgeBase, result: Result) -> str:
    """What a nurse reads on the phone: the decision first, then why, then what to do."""
    lines = []
    level = kb.level(result.urgency)
    lines.append(f"URGENCY: {level.title.upper()} ({result.urgency})")
    if not result.urgency_certain:
        lines.append(f"  Not certain: a more urgent rule may apply. Ask for: "
                     f"{', '.join(result.settle_with)}.")
    anc = result.inputs.get(kb.severity.input)
    if result.severity == "unknown":
        lines.append("Severity: unknown (no neutrophil count)")
    else:
        band = kb.band(result.severity)
        lines.append(f"Severity: {band.title} ({anc['text'] if anc else ''})")
    fever = {True: "yes", False: "no", None: "unknown"}[result.fever]
    lines.append(f"Fever: {fever}")
    for limit in result.scope_warnings:
        holds = next((f.certain for f in result.findings if f.id == limit.id), False)
        lines.append(f"WARNING: {limit.title}: the severity bands may not apply"
                     + ("" if holds else " (not known; give the input to check)"))
    lines.append("")
    lines.append("Why:")
    for finding in result.findings:
        if finding.kind in ("urgency_rule", "scope", "band", "level"):
            mark = "" if finding.certain else " [not certain]"
            lines.append(f"  - {finding.title}{mark}")
            lines.append(f"      {finding.because}")
            lines.append(f"      sources: {_sources(kb, finding.sources)}")
    lines.append("")
    for kind, items in (("Tests", kb.tests), ("Treatments", kb.treatments),
                        ("Precautions", kb.precautions)):
        titles = [i.title for i in items if i.id in result.advice_ids]
        if titles:
            lines.append(f"{kind}: " + "; ".join(titles))
    return "\n".join(lines)


def _sources(kb: KnowledgeBase, refs: tuple[tuple[str, str | None], ...]) -> str:
    out = []
    for source_id, section_id in refs:
        source = kb.source_by_id.get(source_id)
        if source is None:
            out.append(source_id)
            continue
        section = source.section(section_id)
        out.append(source.title + (f", “{section.title}”" if section else ""))
    return "; ".join(out)
