"""Findings worded once per region: the words of an explanation with each input's value as a slot.

Two patients with the same region key (engine/regions.py: which side of every threshold each
input falls on) get the same truth for every condition, so the same findings, in the same
order, with the same words, except where the words quote an input's value ("anc 800
cells/µL …"). The interpreter in explain.py therefore words a region once, with a marker in
place of each quoted value; every later patient in that region gets the stored words with its
own values filled in. On a realistic mix this takes the explanations from about half of a
request's work in `nkb serve` to a small part of it; with every value distinct (the regions
still repeat) it saves as much.

The key also holds what the region key leaves out but the words read: which inputs were given,
the exact symptoms (the words list them), the kinds asked for and the result's own fields. The
first patient of each key is worded both ways and the two compared; a key whose words do not
come out the same (an authored text that holds the marker) is worded by the interpreter from
then on. tests/evaluate/test_worded.py holds the two equal on every rule case and on generated
patients, all-distinct values included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Collection, Hashable, Mapping

from neutropenia_kb.engine.explain import Explainer, Finding, Outcome

if TYPE_CHECKING:
    from neutropenia_kb.engine.regions import Key

MARK = "\x00"  # never in a shown value (numbers, units, symptom ids) nor in authored YAML text
TEMPLATES = 4096  # keys kept; a lab feed or a service sees a few hundred
# A template: per finding (id, kind, title, words, sources, certain), the words as parts, the
# literal text at even indices and the slot (an index into the key's given inputs) at odd ones.
# Plain tuples of strings, ints and bools, not Finding objects: the garbage collector stops
# tracking such tuples, so thousands of templates add nothing to a full collection's pause
# (a service's worst latencies: DESIGN.md, "The service").
Entry = tuple[str, str, str, tuple[str | int, ...], tuple[tuple[str, str | None], ...], bool]
Template = tuple[Entry, ...]


class Worded:
    """Per knowledge base (one per Evaluator): the templates by key, bounded."""

    def __init__(self, region_key: Callable[[Mapping[str, Any]], "Key"] | None) -> None:
        self.region_key = region_key
        self.templates: dict[Hashable, Template | None] = {}  # None: always interpret

    def findings(self, explainer: Explainer, result: Outcome,
                 kinds: Collection[str] | None = None) -> tuple[Finding, ...]:
        if self.region_key is None:
            return explainer.findings(result, kinds)
        values = explainer.patient.values
        given = tuple(sorted(values))
        key = (self.region_key(values), given,
               tuple(values[n] for n in given if type(values[n]) is frozenset),
               None if kinds is None else frozenset(kinds),
               result.severity, result.urgency, result.urgency_certain, result.settle_with,
               result.advice_ids, tuple(s.id for s in result.scope_warnings))
        if key in self.templates:
            template = self.templates[key]
            if template is None:
                return explainer.findings(result, kinds)
            return fill(template, lambda i: explainer.show(given[i]))
        found = explainer.findings(result, kinds)
        made = make(explainer, result, kinds, given)
        if len(self.templates) >= TEMPLATES:
            self.templates.clear()
        ok = made is not None and fill(made, lambda i: explainer.show(given[i])) == found
        self.templates[key] = made if ok else None
        return found


def make(explainer: Explainer, result: Outcome, kinds: Collection[str] | None,
         given: tuple[str, ...]) -> Template | None:
    """The findings worded by a fresh interpreter whose every given input shows as its slot."""
    blank = Explainer(explainer.kb, explainer.program, explainer.authored, explainer.patient,
                      explainer.decision)
    blank._shown = {name: f"{MARK}{i}{MARK}" for i, name in enumerate(given)}
    out: list[Entry] = []
    for f in blank.findings(result, kinds):
        pieces = f.because.split(MARK)
        if len(pieces) % 2 == 0 or not all(p.isdigit() for p in pieces[1::2]):
            return None
        parts = tuple(int(p) if i % 2 else p for i, p in enumerate(pieces))
        out.append((f.id, f.kind, f.title, parts, f.sources, f.certain))
    return tuple(out)


def fill(template: Template, shown: Callable[[int], str]) -> tuple[Finding, ...]:
    """The findings with the slots filled: ``shown(i)`` is the i-th given input in words, asked
    only for the slots the words have (explainer.show remembers each)."""
    return tuple(
        Finding(fid, kind, title, parts[0] if len(parts) == 1 else  # type: ignore[arg-type]
                "".join([p if type(p) is str else shown(p) for p in parts]),  # type: ignore[arg-type]
                sources, certain)
        for fid, kind, title, parts, sources, certain in template)
