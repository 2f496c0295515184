"""The decisions of a knowledge base and their fingerprint: every value that changes what a
patient is told. `nkb diff` compares decisions, `nkb validate --strict` checks the fingerprint
recorded in the changelog, and the compiled program carries it."""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction

from neutropenia_kb.kb.model import KnowledgeBase


def normal_condition(text: str | None) -> str:
    """Conditions compared by their tokens, so re-wrapping a long line is not a change."""
    return " ".join(text.split()) if text else ""


def _num(value: Fraction | None) -> str:
    return "" if value is None else str(value)


def decisions(kb: KnowledgeBase) -> dict[str, dict[str, str]]:
    """Every value that changes what a patient is told, keyed "kind:id"."""
    out: dict[str, dict[str, str]] = {
        "severity": {"input": kb.severity.input, "unit": kb.severity.unit},
        "levels": {"order": ",".join(level.id for level in kb.levels)},
    }
    for level in kb.levels:  # whom to call and what to do are decisions too
        out[f"level:{level.id}"] = {"action": normal_condition(level.action), "service": level.service or ""}
    for band in kb.severity.bands:
        out[f"band:{band.id}"] = {"from": _num(band.lower), "below": _num(band.below)}
    for threshold in kb.thresholds:
        out[f"threshold:{threshold.id}"] = {"value": _num(threshold.value), "unit": threshold.unit}
    for scope in kb.severity.out_of_scope:
        out[f"scope:{scope.id}"] = {"when": normal_condition(scope.when)}
    for fact in kb.facts:
        out[f"fact:{fact.id}"] = {"when": normal_condition(fact.when)}
    for rule in kb.urgency_rules:
        out[f"urgency_rule:{rule.id}"] = {"level": rule.level, "when": normal_condition(rule.when)}
    for item in kb.items():
        if item.applies_when:
            out.setdefault(f"{item.kind}:{item.id}", {})["applies_when"] = normal_condition(item.applies_when)
    return out


def fingerprint(kb: KnowledgeBase) -> str:
    """A short hash of all decisions, recorded in the changelog entry of each version."""
    canonical = json.dumps(decisions(kb), sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
