"""The condition language of DESIGN.md: a small tokenizer and recursive-descent parser → AST.

Authored text is only ever parsed into these frozen nodes; nothing authored reaches eval/exec.
Every node keeps ``pos`` (0-based offset in the expression) so the checker can point at the
exact column inside the YAML value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Iterator, Union

from ..units import ACCEPTED, exact, find_unit

COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
FUNCTIONS = ("symptom", "any_symptom", "known")


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


Node = Union[Number, Name, Bool, Call, Not, And, Or, Compare, In]


class ParseError(ValueError):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "unit", "name", "op", "(", ")", "[", "]", ",", "end"
    text: str
    pos: int


_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A unit follows a number; it runs to the next space, bracket, comma or operator.
_UNIT = re.compile(r"[^\s()\[\],<>=!]+")
_ALL_UNITS = ", ".join(u for units in ACCEPTED.values() for u in units)


def _looks_like_unit(text: str) -> bool:
    return text not in KEYWORDS and (find_unit(text) is not None or not _NAME.fullmatch(text)
                                     or text[0].isupper())


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if text.startswith(COMPARISONS, i):
            op = next(o for o in COMPARISONS if text.startswith(o, i))
            tokens.append(Token("op", op, i))
            i += len(op)
            continue
        if ch in "()[],":
            tokens.append(Token(ch, ch, i))
            i += 1
            continue
        if ch == "=":
            raise ParseError("'=' on its own is not an operator; write '==' to compare", i)
        number = _NUMBER.match(text, i)
        if number:
            tokens.append(Token("num", number.group(), i))
            i = number.end()
            j = i
            while j < n and text[j] == " ":
                j += 1
            unit = _UNIT.match(text, j)
            if unit and _looks_like_unit(unit.group()):
                if find_unit(unit.group()) is None:
                    raise ParseError(f"unknown unit '{unit.group()}'; use one of {_ALL_UNITS}", j)
                tokens.append(Token("unit", unit.group(), j))
                i = unit.end()
            continue
        name = _NAME.match(text, i)
        if name:
            tokens.append(Token("name", name.group(), i))
            i = name.end()
            continue
        raise ParseError(f"unexpected character '{ch}'", i)
    tokens.append(Token("end", "", n))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def is_word(self, word: str) -> bool:
        return self.tok.kind == "name" and self.tok.text == word

    def expect(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            raise ParseError(f"expected {what}, found {_describe(self.tok)}", self.tok.pos)
        return self.take()

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ParseError("the condition is empty", 0)
        node = self.or_()
        if self.tok.kind != "end":
            raise ParseError(f"unexpected {_describe(self.tok)}; join conditions with 'and' or "
                             "'or'", self.tok.pos)
        return node

    def or_(self) -> Node:
        first = self.and_()
        items = [first]
        while self.is_word("or"):
            self.take()
            items.append(self.and_())
        return first if len(items) == 1 else Or(tuple(items), _pos(first))

    def and_(self) -> Node:
        first = self.not_()
        items = [first]
        while self.is_word("and"):
            self.take()
            items.append(self.not_())
        return first if len(items) == 1 else And(tuple(items), _pos(first))

    def not_(self) -> Node:
        if self.is_word("not"):
            pos = self.take().pos
            return Not(self.not_(), pos)
        return self.cmp()

    def cmp(self) -> Node:
        left = self.atom()
        if self.tok.kind == "op":
            op = self.take()
            right = self.atom()
            if self.tok.kind == "op":
                raise ParseError("comparisons cannot be chained; write 'a < b and b < c'",
                                 self.tok.pos)
            return Compare(op.text, left, right, op.pos)
        if self.is_word("in"):
            pos = self.take().pos
            self.expect("[", "'[' after 'in'")
            names = [self._name("a name in the list")]
            while self.tok.kind == ",":
                self.take()
                names.append(self._name("a name after ','"))
            self.expect("]", "']' to close the list")
            return In(left, tuple(names), pos)
        return left

    def _name(self, what: str) -> Name:
        token = self.expect("name", what)
        return Name(token.text, token.pos)

    def atom(self) -> Node:
        token = self.tok
        if token.kind == "num":
            self.take()
            unit = self.take().text if self.tok.kind == "unit" else None
            return Number(exact(token.text), unit, token.pos)
        if token.kind == "(":
            self.take()
            node = self.or_()
            self.expect(")", "')' to close the '(' at column " f"{token.pos + 1}")
            return node
        if token.kind == "name":
            if token.text in ("true", "false"):
                self.take()
                return Bool(token.text == "true", token.pos)
            if token.text in KEYWORDS:
                raise ParseError(f"expected a name, a number or '(', found '{token.text}'",
                                 token.pos)
            self.take()
            if self.tok.kind == "(":
                self.take()
                args: list[Name] = []
                if self.tok.kind != ")":
                    args.append(self._name("a name as argument"))
                    while self.tok.kind == ",":
                        self.take()
                        args.append(self._name("a name after ','"))
                self.expect(")", f"')' to close {token.text}(")
                return Call(token.text, tuple(args), token.pos)
            return Name(token.text, token.pos)
        raise ParseError(f"expected a name, a number or '(', found {_describe(token)}", token.pos)


def _describe(token: Token) -> str:
    return "the end of the condition" if token.kind == "end" else f"'{token.text}'"


def _pos(node: Node) -> int:
    return node.pos if not isinstance(node, Compare) else _pos(node.left)


@lru_cache(maxsize=1024)
def parse(text: str) -> Node:
    """Parse one condition; raises ParseError(message, pos)."""
    return _Parser(text).parse()


def walk(node: Node) -> Iterator[Node]:
    """The node and every node below it, in reading order. The arguments of symptom() are
    symptom ids, not names, so they are not visited; the argument of known() is an input."""
    yield node
    if isinstance(node, (And, Or)):
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, Not):
        yield from walk(node.operand)
    elif isinstance(node, Compare):
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
    return f"{unparse(node.left)} in [{', '.join(n.name for n in node.names)}]"


def _wrap(node: Node) -> str:
    return f"({unparse(node)})" if isinstance(node, (And, Or)) else unparse(node)


def _num(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return str(float(value))
