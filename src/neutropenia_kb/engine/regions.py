"""A patient's region key: which side of every threshold each input falls on.

Every condition of the compiled form reads a number only by comparing it with a constant, a
yes/no as itself and a symptom list through `symptom(...)` calls; so two patients whose inputs
fall in the same regions (questions._Input: between two constants, on a constant, the same
symptom classes) get the same Decision, and the same settle_with. A batch works each distinct
decision out once per key (batch_write.py) and reads only the key for every other row.

That holds only when the rules read inputs no other way. ``region_keys`` checks the program
and gives None otherwise (an input compared with another input, inside arithmetic, in a set,
a constant that is not a number): the batch then decides every row, as before.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from fractions import Fraction
from typing import Any, Callable, Hashable, Mapping

from neutropenia_kb.core.units import simplest
from neutropenia_kb.engine.program import (
    AnySymptom,
    Compare,
    Const,
    InputRef,
    Known,
    Program,
    SymptomAny,
    children,
    walk,
)
from neutropenia_kb.engine.questions import _Input

Key = tuple[Hashable, ...]
_MAX_SYMPTOM_LISTS = 4096  # symptom lists whose classes are kept (a feed has a few hundred)


def _cuts(program: Program) -> dict[str, set[Fraction]] | None:
    """Each input the conditions read (and the severity input) → the constants it is compared
    with (for a symptom list or a yes/no, none); None when some condition reads an input
    other than by a comparison of a number with a constant, as a yes/no, or by its symptoms."""
    kinds = {i.id: i.value_type for i in program.inputs}
    sev = program.severity.input
    cuts: dict[str, set[Fraction]] = {sev: {e for band in program.severity.bands
                                            for e in (band.lower, band.below) if e is not None}}
    for _owner, _kind, cond in program.conditions():
        allowed: set[int] = set()  # InputRef nodes read by a comparison with a number
        for node in walk(cond):
            if isinstance(node, Compare) and isinstance(node.left, InputRef) and \
                    isinstance(node.right, Const) and isinstance(node.right.value, Fraction):
                allowed.add(id(node.left))
                cuts.setdefault(node.left.input, set()).add(node.right.value)
            elif isinstance(node, (AnySymptom, SymptomAny)):
                if kinds.get(node.input) != "symptoms":
                    return None
                cuts.setdefault(node.input, set())
            elif isinstance(node, Known):
                cuts.setdefault(node.input, set())
            elif isinstance(node, InputRef):
                kind = kinds.get(node.input)
                if kind is None or (kind != "bool" and id(node) not in allowed):
                    return None
                cuts.setdefault(node.input, set())
            if not isinstance(node, Compare) and any(
                    isinstance(child, InputRef) and kinds.get(child.input) != "bool"
                    for child in children(node)):
                return None  # a number inside arithmetic or a set: not read by region
    return cuts


def region_keys(program: Program) -> Callable[[Mapping[str, Any]], Key] | None:
    """values (base units) → the region key, or None when the program reads inputs otherwise.
    Every constant counts, also one outside the input's plausible range (a derived ANC is not
    held to the ANC's range), so keys are never coarser than the rules."""
    cuts = _cuts(program)
    if cuts is None:
        return None
    kinds = {i.id: i.value_type for i in program.inputs}
    symptoms = {name: _Input(program, name) for name in cuts if kinds.get(name) == "symptoms"}
    # Whole cuts as ints: an int compares with an int many times faster than with a Fraction.
    plan = [(name, kinds.get(name), sorted(simplest(c) for c in cuts[name]),
             symptoms.get(name)) for name in sorted(cuts)]
    whole = {name: all(type(c) is int for c in edges) for name, _k, edges, _s in plan}
    symptom_regions: dict[tuple[str, frozenset[str]], Hashable] = {}

    def key(values: Mapping[str, Any]) -> Key:
        out: list[Hashable] = []
        for name, kind, edges, spec in plan:
            value = values.get(name)
            if value is None:
                out.append(None)
            elif kind == "bool":
                out.append(value)
            elif spec is not None:  # the symptom classes it hits
                region = symptom_regions.get((name, value))
                if region is None:
                    if len(symptom_regions) >= _MAX_SYMPTOM_LISTS:
                        symptom_regions.clear()
                    region = symptom_regions[name, value] = spec.region_of(value)
                out.append(region)
            elif type(value) is Fraction and value.denominator != 1 and whole[name]:
                # Between two whole numbers, never on a whole cut: the cuts below the value
                # are those at or below its floor, found in ints (a Fraction compare is slow).
                out.append(2 * bisect_right(edges, value.numerator // value.denominator))
            else:  # 2 × (cuts below the value) + (1 on a cut), as questions._Input.region_of
                i = bisect_left(edges, value)
                out.append(2 * i + (1 if i < len(edges) and edges[i] == value else 0))
        return tuple(out)

    return key
