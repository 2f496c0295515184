"""The tree of a parsed condition: one frozen node class per construct, and the walks over it
(every node, the names it reads, its canonical text).

Every node keeps ``pos`` (0-based offset in the expression) so the checker can point at the
exact column inside the YAML value.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Union


@dataclass(frozen=True)
class Number:
    value: Fraction
    unit: str | None  # as written ("x10^9/L"); None for a bare number
    pos: int


@dataclass(frozen=True)
class Name:
    name: str
    pos: int


@dataclass(frozen=True)
class Bool:
    value: bool
    pos: int


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Name, ...]
    pos: int


@dataclass(frozen=True)
class Not:
    operand: "Node"
    pos: int


@dataclass(frozen=True)
class And:
    items: tuple["Node", ...]
    pos: int


@dataclass(frozen=True)
class Or:
    items: tuple["Node", ...]
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: "Node"
    right: "Node"
    pos: int


@dataclass(frozen=True)
class In:
    left: "Node"
    names: tuple[Name, ...]
    pos: int


@dataclass(frozen=True)
class Arith:
    """``left op right`` with op one of + - * /: a derived input's formula."""

    op: str
    left: "Node"
    right: "Node"
    pos: int  # of the operator


Node = Union[Number, Name, Bool, Call, Not, And, Or, Compare, In, Arith]


def walk(node: Node) -> Iterator[Node]:
    """The node and every node below it, in reading order. The arguments of symptom() are
    symptom ids, not names, so they are not visited; the argument of known() is an input."""
    yield node
    if isinstance(node, (And, Or)):
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, Not):
        yield from walk(node.operand)
    elif isinstance(node, (Compare, Arith)):
        yield from walk(node.left)
        yield from walk(node.right)
    elif isinstance(node, In):
        yield from walk(node.left)
    elif isinstance(node, Call) and node.func == "known":
        yield from node.args


def names_in(node: Node) -> list[Name]:
    """Every Name read by the condition."""
    return [n for n in walk(node) if isinstance(n, Name)]


def unparse(node: Node) -> str:
    """Canonical text of a node, used in explanations ("temperature >= fever_temperature")."""
    if isinstance(node, Number):
        return f"{_num(node.value)} {node.unit}" if node.unit else _num(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Bool):
        return "true" if node.value else "false"
    if isinstance(node, Call):
        return f"{node.func}({', '.join(a.name for a in node.args)})"
    if isinstance(node, Not):
        return f"not {_wrap(node.operand)}"
    if isinstance(node, And):
        return " and ".join(_wrap(i) for i in node.items)
    if isinstance(node, Or):
        return " or ".join(_wrap(i) for i in node.items)
    if isinstance(node, Compare):
        return f"{unparse(node.left)} {node.op} {unparse(node.right)}"
    if isinstance(node, Arith):
        return f"{_operand(node.left, node.op, False)} {node.op} {_operand(node.right, node.op, True)}"
    return f"{unparse(node.left)} in [{', '.join(n.name for n in node.names)}]"


def _wrap(node: Node) -> str:
    return f"({unparse(node)})" if isinstance(node, (And, Or)) else unparse(node)


_BINDS = {"+": 1, "-": 1, "*": 2, "/": 2}


def _operand(node: Node, op: str, right: bool) -> str:
    """Parentheses only where the reading would change: a * (b + c), a - (b - c)."""
    if isinstance(node, Arith) and (_BINDS[node.op] < _BINDS[op] or
                                    (right and _BINDS[node.op] == _BINDS[op] and op in "-/")):
        return f"({unparse(node)})"
    return unparse(node)


def _num(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return str(float(value))
