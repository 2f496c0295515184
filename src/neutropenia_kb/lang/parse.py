"""The condition language of DESIGN.md: a small tokenizer and recursive-descent parser → AST.

Authored text is only ever parsed into these frozen nodes; nothing authored reaches eval/exec.
Every node keeps ``pos`` (0-based offset in the expression) so the checker can point at the
exact column inside the YAML value. The parser counts its nesting and the terms of each
and/or, so no text can make it (or anything that walks the tree after it) recurse without bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Callable, Iterator, Union

from neutropenia_kb.core.problems import show_value
from neutropenia_kb.core.units import ACCEPTED, exact, find_unit

COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")
ARITHMETIC = ("+", "-", "*", "/")
# What any backend must handle (DESIGN.md, "Limits"): generous for authors, small enough that
# the generated code, SQL or JavaScript of a condition stays within their parsers' nesting.
MAX_DEPTH = 32  # nested 'not', parentheses and operators, counted from the outside in
MAX_TERMS = 64  # terms joined by one run of 'and', 'or', '+'/'-' or '*'/'/'
MAX_LENGTH = 10_000  # characters in one condition
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


@dataclass(frozen=True)
class Arith:
    """``left op right`` with op one of + - * /: a derived input's formula."""

    op: str
    left: "Node"
    right: "Node"
    pos: int  # of the operator


Node = Union[Number, Name, Bool, Call, Not, And, Or, Compare, In, Arith]


class ParseError(ValueError):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "unit", "name", "op", "arith", "(", ")", "[", "]", ",", "end"
    text: str
    pos: int


_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A unit follows a number; it runs to the next space, bracket, comma or operator.
_UNIT = re.compile(r"[^\s()\[\],<>=!]+")
_ALL_UNITS = ", ".join(u for units in ACCEPTED.values() for u in units)


def _looks_like_unit(text: str) -> bool:
    if text.startswith(ARITHMETIC):  # "/uL" is a unit; "/ 100" and "* wbc" are arithmetic
        return find_unit(text) is not None
    return text not in KEYWORDS and (find_unit(text) is not None or not _NAME.fullmatch(text)
                                     or text[0].isupper())


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the condition is {len(text):,} characters long; the limit is "
                         f"{MAX_LENGTH:,}: name parts of it as facts", 0)
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
        if ch in ARITHMETIC:
            tokens.append(Token("arith", ch, i))
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
        raise ParseError(f"unexpected character '{show_value(ch)}'", i)
    tokens.append(Token("end", "", n))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

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

    def enter(self, pos: int) -> None:
        """One 'not' or '(' deeper; refused past MAX_DEPTH, so the recursion stays bounded
        (check_depth then bounds the whole tree)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(_too_deep(), pos)

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ParseError("the condition is empty", 0)
        node = self.or_()
        if self.tok.kind != "end":
            raise ParseError(f"unexpected {_describe(self.tok)}; join conditions with 'and' or "
                             "'or'", self.tok.pos)
        return node

    def _terms(self, word: str, items: list[Node], pos: int) -> None:
        if len(items) > MAX_TERMS:
            raise ParseError(f"more than {MAX_TERMS} terms joined by '{word}'; name groups of "
                             "them as facts in inputs.yaml and join the facts", pos)

    def or_(self) -> Node:
        first = self.and_()
        items = [first]
        while self.is_word("or"):
            pos = self.take().pos
            items.append(self.and_())
            self._terms("or", items, pos)
        return first if len(items) == 1 else Or(tuple(items), _pos(first))

    def and_(self) -> Node:
        first = self.not_()
        items = [first]
        while self.is_word("and"):
            pos = self.take().pos
            items.append(self.not_())
            self._terms("and", items, pos)
        return first if len(items) == 1 else And(tuple(items), _pos(first))

    def not_(self) -> Node:
        # Iterative over a run of 'not's: each one still counts as a level of nesting.
        nots: list[int] = []
        while self.is_word("not"):
            nots.append(self.take().pos)
            self.enter(nots[-1])
        node = self.cmp()
        for pos in reversed(nots):
            node = Not(node, pos)
            self.depth -= 1
        return node

    def cmp(self) -> Node:
        left = self.sum_()
        if self.tok.kind == "op":
            op = self.take()
            right = self.sum_()
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

    def sum_(self) -> Node:
        return self._arith(("+", "-"), self.product)

    def product(self) -> Node:
        return self._arith(("*", "/"), self.atom)

    def _arith(self, ops: tuple[str, str], operand: "Callable[[], Node]") -> Node:
        """Left-associative: a - b - c is (a - b) - c; the chain is built in a loop."""
        node = operand()
        terms = 1
        while self.tok.kind == "arith" and self.tok.text in ops:
            op = self.take()
            terms += 1
            if terms > MAX_TERMS:
                raise ParseError(f"more than {MAX_TERMS} terms joined by '{ops[0]}'/'{ops[1]}'",
                                 op.pos)
            node = Arith(op.text, node, operand(), op.pos)
        return node

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
            self.enter(token.pos)
            node = self.or_()
            self.depth -= 1
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


def _too_deep() -> str:
    return (f"the condition is nested more than {MAX_DEPTH} levels deep here (not, parentheses, "
            "and/or, comparisons, arithmetic); name inner parts as facts in inputs.yaml and use "
            "their names")


def check_depth(root: Node) -> None:
    """Refuse a tree deeper than MAX_DEPTH, walking it with an explicit stack: every recursive
    walker after this one (checker, explainer, compilers) then stays far from Python's limit."""
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(_too_deep(), _pos(node))
        if isinstance(node, (And, Or)):
            stack.extend((item, depth + 1) for item in node.items)
        elif isinstance(node, Not):
            stack.append((node.operand, depth + 1))
        elif isinstance(node, (Compare, Arith)):
            stack += [(node.left, depth + 1), (node.right, depth + 1)]
        elif isinstance(node, In):
            stack.append((node.left, depth + 1))


def _describe(token: Token) -> str:
    return "the end of the condition" if token.kind == "end" else f"'{token.text}'"


def _pos(node: Node) -> int:
    """Where the text of ``node`` starts (a comparison's or sum's left operand)."""
    while isinstance(node, (Compare, Arith)):
        node = node.left
    return node.pos


@lru_cache(maxsize=1024)
def parse(text: str) -> Node:
    """Parse one condition; raises ParseError(message, pos), also for a condition longer,
    deeper or wider than MAX_LENGTH, MAX_DEPTH, MAX_TERMS."""
    node = _Parser(text).parse()
    check_depth(node)
    return node


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
