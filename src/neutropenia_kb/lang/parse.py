"""The condition language of DESIGN.md: a small tokenizer and recursive-descent parser → AST.

Authored text is only ever parsed into the frozen nodes of lang/tree.py; nothing authored reaches
eval/exec. The parser counts its nesting and the terms of each
and/or, so no text can make it (or anything that walks the tree after it) recurse without bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from neutropenia_kb.core.problems import show_value
from neutropenia_kb.core.units import ACCEPTED, exact, find_unit
from neutropenia_kb.lang.tree import (
    And,
    Arith,
    Bool,
    Call,
    Compare,
    In,
    Name,
    Node,
    Not,
    Number,
    Or,
    names_in,
    unparse,
    walk,
)

# The tree's names are part of this module's interface: callers import the parser and the nodes
# it builds from one place.
__all__ = ["ARITHMETIC", "COMPARISONS", "FUNCTIONS", "KEYWORDS", "MAX_DEPTH", "MAX_LENGTH",
           "MAX_TERMS", "And", "Arith", "Bool", "Call", "Compare", "In", "Name", "Node", "Not",
           "Number", "Or", "ParseError", "Token", "check_depth", "names_in", "parse", "tokenize",
           "unparse", "walk"]

COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")
ARITHMETIC = ("+", "-", "*", "/")
# What any backend must handle (DESIGN.md, "Limits"): generous for authors, small enough that
# the generated code, SQL or JavaScript of a condition stays within their parsers' nesting.
MAX_DEPTH = 32  # nested 'not', parentheses and operators, counted from the outside in
MAX_TERMS = 64  # terms joined by one run of 'and', 'or', '+'/'-' or '*'/'/'
MAX_LENGTH = 10_000  # characters in one condition
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
FUNCTIONS = ("symptom", "any_symptom", "known")


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
