"""What the condition language hands to the engines: exact literals and the order of facts.

The compiled form itself is engine/program.py and the Python code generator
engine/python_backend.py; this module keeps the small pieces the language layer owns (and that
patient.py and the explanations import).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Mapping

from neutropenia_kb.core.units import find_unit, simplest
from neutropenia_kb.lang.check import Scope
from neutropenia_kb.lang.parse import Name, Node, Number, names_in

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase


class CompileError(ValueError):
    pass


def literal_value(node: Number, other: Node | None, scope: Scope) -> int | Fraction:
    """A literal in the base unit; a bare number next to an input takes the input's unit."""
    unit_name = node.unit
    if unit_name is None and isinstance(other, Name):
        unit_name = scope.units.get(other.name) or None
    unit = find_unit(unit_name) if unit_name else None
    return simplest(unit.to_base(node.value) if unit else node.value)


def fact_order(kb: "KnowledgeBase", nodes: Mapping[str, Node]) -> list[str]:
    """Facts in dependency order (the checker has already refused cycles)."""
    facts = {f.id for f in kb.facts}
    order: list[str] = []

    def visit(fid: str, seen: tuple[str, ...]) -> None:
        if fid in order or fid in seen:
            return
        for name in (n.name for n in names_in(nodes[fid])):
            if name in facts:
                visit(name, seen + (fid,))
        order.append(fid)

    for fact in kb.facts:
        visit(fact.id, ())
    return order
