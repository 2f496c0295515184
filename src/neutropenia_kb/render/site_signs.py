"""Signs and what to do about each, derived from the urgency rules (issue 11: the help and
Symptoms pages are organised by sign, most urgent first).

A *sign* is a symptom, or a fact that is only a measured temperature against a threshold (a low
temperature). A rule is about a sign when its condition mentions it: ``symptom(x)``,
``any_symptom()``, or a fact that does (followed through facts). Nothing here is clinical
wording: the levels' own words and the rules' titles say what to do; the only words made here
are a measured reading's comparison ("a temperature of 38.0 °C (100.4 °F) or higher"), built from
the threshold's value, never typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from neutropenia_kb.engine.evaluate import evaluator_for
from neutropenia_kb.engine.program import (
    And,
    AnySymptom,
    Compare,
    Cond,
    Const,
    FactRef,
    InputRef,
    Or,
    Program,
    SymptomAny,
    walk,
)
from neutropenia_kb.kb.model import Item, KnowledgeBase, Level, UrgencyRule
from neutropenia_kb.kb.text import value_of

# How a comparison reads after "a temperature": the threshold is always on the right.
_READING = {">=": "of {v} or higher", ">": "above {v}", "<": "below {v}", "<=": "of {v} or lower"}


@dataclass(frozen=True)
class SignAction:
    level: Level
    action: str  # the level's own words
    rules: tuple[UrgencyRule, ...]  # the rules about this sign at this level, in file order


@dataclass(frozen=True)
class Sign:
    id: str  # the symptom's id, or the fact's id for a measured sign
    title: str
    item: Item | None  # the symptom (its text and anchor); None for a measured-only sign
    reading: str | None  # "a temperature of 38.0 °C (100.4 °F) or higher", from the threshold
    actions: tuple[SignAction, ...]  # most urgent first

    @property
    def rank(self) -> int:
        return self.actions[0].level.rank if self.actions else 1 << 30


def _reading(kb: KnowledgeBase, node: Cond) -> str | None:
    """Words for ``input op threshold`` when ``node`` is that comparison of a temperature."""
    if not (isinstance(node, Compare) and isinstance(node.left, InputRef)
            and isinstance(node.right, Const) and node.right.name and node.op in _READING):
        return None
    spec = kb.input_by_id.get(node.left.input)
    if spec is None or spec.dimension != "temperature":
        return None
    words = _READING[node.op].format(v=value_of(kb, node.right.name, None))
    return f"a {spec.id.replace('_', ' ')} {words}"


def _one_symptom(node: Cond) -> str | None:
    """The symptom of ``symptom(x)``, or of ``symptom(x) and …`` (a reported symptom that
    counts unless a reading settles it, as has_fever's ``symptom(fever) and (known(symptoms)
    or not known(temperature))``)."""
    if isinstance(node, And):
        node = node.items[0]
    if isinstance(node, SymptomAny) and len(node.symptoms) == 1:
        return node.symptoms[0]
    return None


def _measured(kb: KnowledgeBase, program: Program) -> tuple[dict[str, str], dict[str, str]]:
    """(symptom id → reading) for facts like ``temperature >= t or symptom(fever)``, where the
    reading and the symptom are one sign; (fact id → reading) for facts that are a reading
    alone."""
    by_symptom: dict[str, str] = {}
    alone: dict[str, str] = {}
    for fact in program.facts:
        reading = _reading(kb, fact.when)
        if reading:
            alone[fact.id] = reading
        elif isinstance(fact.when, Or):
            readings = [r for r in (_reading(kb, i) for i in fact.when.items) if r]
            named = [s for s in (_one_symptom(i) for i in fact.when.items) if s]
            if len(readings) == 1 and len(named) == 1 and len(fact.when.items) == 2:
                by_symptom[named[0]] = readings[0]
    return by_symptom, alone


def _mentions(program: Program, all_symptoms: frozenset[str]) -> Mapping[str, frozenset[str]]:
    """Fact or rule id → the signs (symptom ids, fact ids) its condition mentions."""
    out: dict[str, frozenset[str]] = {}
    for owner, kind, cond in program.conditions():
        if kind not in ("fact", "urgency_rule"):
            continue
        found: set[str] = set()
        for node in walk(cond):
            if isinstance(node, SymptomAny):
                found.update(node.symptoms)
            elif isinstance(node, AnySymptom):
                found.update(all_symptoms)
            elif isinstance(node, FactRef):
                found.add(node.fact)
                found.update(out.get(node.fact, ()))  # facts come in dependency order
        out[owner] = frozenset(found)
    return out


def signs(kb: KnowledgeBase) -> tuple[Sign, ...]:
    """Every sign with what to do, most urgent first (then symptoms in file order, then
    measured signs). A level below one that holds on the sign alone is left out: it can never
    be the answer for a person with that sign."""
    program = evaluator_for(kb).program
    decide = evaluator_for(kb).compiled.decide
    symptom_ids = frozenset(s.id for s in kb.symptoms)
    mentions = _mentions(program, symptom_ids)
    by_symptom, alone = _measured(kb, program)
    fact_titles = {f.id: f.title for f in kb.facts}
    rules = {r.id: r for r in kb.urgency_rules}
    levels = {lv.id: lv for lv in kb.levels}

    def actions(sign_id: str, sure: tuple[bool | None, ...] | None) -> tuple[SignAction, ...]:
        out = []
        for level in kb.levels:
            about = [(i, rules[r.id]) for i, r in enumerate(program.rules)
                     if r.level == level.id and sign_id in mentions[r.id]]
            if about:
                out.append(SignAction(levels[level.id], level.action,
                                      tuple(rule for _, rule in about)))
                if sure is not None and any(sure[i] is True for i, _ in about):
                    break  # this level holds with the sign alone: lower ones never apply
        return tuple(out)

    found = []
    for symptom in kb.symptoms:
        sure = decide({"symptoms": frozenset({symptom.id})}).rules
        found.append(Sign(symptom.id, symptom.title, symptom, by_symptom.get(symptom.id),
                          actions(symptom.id, sure)))
    for fact_id, reading in alone.items():
        acts = actions(fact_id, None)
        if acts:  # a reading no rule is about is not a sign to act on
            found.append(Sign(fact_id, fact_titles[fact_id], None, reading, acts))
    order = {s.id: i for i, s in enumerate(found)}
    return tuple(sorted(found, key=lambda s: (s.rank, order[s.id])))
