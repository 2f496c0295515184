"""Conditions of the compiled form: a small closed set of typed, immutable expression nodes.

Kleene three-valued semantics (DESIGN.md, "The compiled form and its semantics"): a value may
be unknown (None); a comparison with an unknown side is unknown; and/or/not follow Kleene's
tables. Each node knows the inputs it reads (``deps``). Re-exported by program.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Iterator, Mapping, Union

COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=")
ARITH_OPS = ("+", "-", "*", "/")


# ---- condition trees -------------------------------------------------------------------------


class _Deps:
    @cached_property
    def deps(self) -> frozenset[str]:
        """The inputs this node reads (facts and severity followed to their inputs)."""
        out: frozenset[str] = frozenset()
        for child in children(self):  # type: ignore[arg-type]
            out |= child.deps
        return out | self._own_deps()

    def _own_deps(self) -> frozenset[str]:
        return frozenset()


@dataclass(frozen=True)
class Const(_Deps):
    value: Fraction | bool | str  # a number in the base unit of its type, a yes/no, a band id
    type: str  # cell_count, temperature, percent, number, bool, band
    name: str | None = None  # the threshold's id when the constant is a named threshold


@dataclass(frozen=True)
class InputRef(_Deps):
    input: str
    type: str  # the input's value_type

    def _own_deps(self) -> frozenset[str]:
        return frozenset({self.input})


@dataclass(frozen=True)
class FactRef(_Deps):
    fact: str
    reads: frozenset[str]  # the inputs the fact reads, filled in when the program is built

    def _own_deps(self) -> frozenset[str]:
        return self.reads


@dataclass(frozen=True)
class SeverityRef(_Deps):
    """The band id of the severity input; unknown without a count."""

    input: str

    def _own_deps(self) -> frozenset[str]:
        return frozenset({self.input})


@dataclass(frozen=True)
class Arith(_Deps):
    """Arithmetic for derived inputs (reserved: the rule language has none yet). Unknown if
    either side is unknown; exact; division by zero makes the value unknown."""

    op: str  # one of ARITH_OPS
    left: "Value"
    right: "Value"


@dataclass(frozen=True)
class Compare(_Deps):
    """``left op right``; an input, when there is one, is on the left. ``in_units`` holds the
    constant of an input-vs-constant comparison in every accepted unit of that input (unit
    name → exact value), empty otherwise."""

    op: str  # one of COMPARE_OPS
    left: "Value"
    right: "Value"
    in_units: Mapping[str, Fraction] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class And(_Deps):
    items: tuple["Cond", ...]


@dataclass(frozen=True)
class Or(_Deps):
    items: tuple["Cond", ...]


@dataclass(frozen=True)
class Not(_Deps):
    operand: "Cond"


@dataclass(frozen=True)
class InSet(_Deps):
    value: "Value"  # today always SeverityRef
    members: tuple[str, ...]


@dataclass(frozen=True)
class SymptomAny(_Deps):
    """symptom(a, b, …): any of these symptom ids was reported."""

    symptoms: tuple[str, ...]
    input: str = "symptoms"

    def _own_deps(self) -> frozenset[str]:
        return frozenset({self.input})


@dataclass(frozen=True)
class AnySymptom(_Deps):
    input: str = "symptoms"

    def _own_deps(self) -> frozenset[str]:
        return frozenset({self.input})


@dataclass(frozen=True)
class Known(_Deps):
    """known(input): the input was given. Never unknown."""

    input: str

    def _own_deps(self) -> frozenset[str]:
        return frozenset({self.input})


Value = Union[Const, InputRef, FactRef, SeverityRef, Arith]
Cond = Union[Const, InputRef, FactRef, Compare, And, Or, Not, InSet, SymptomAny, AnySymptom,
             Known]
Node = Union[Value, Cond]


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (And, Or)):
        return node.items
    if isinstance(node, Not):
        return (node.operand,)
    if isinstance(node, (Compare, Arith)):
        return (node.left, node.right)
    if isinstance(node, InSet):
        return (node.value,)
    return ()


def walk(node: Node) -> Iterator[Node]:
    """The node and every node below it, without recursion (conditions may be deep)."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))
