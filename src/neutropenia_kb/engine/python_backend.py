"""The Python backend: the compiled form (program.py) → one generated Python function.

Safe by construction: identifiers are checked ids with a prefix, every value (numbers, band,
symptom and input ids) reaches the code as a named constant, builtins are cut down, and no
authored text reaches compile(). Kleene logic is inlined; and/or become flat chains and deep
trees are cut into temporaries, so no condition can hit Python's nesting limits. Speed is kept
close to a hand-written function (benchmarks/evaluate.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping

from neutropenia_kb.core.units import simplest
from neutropenia_kb.engine.compile import CompileError
from neutropenia_kb.engine.program import (
    ARITH_OPS,
    COMPARE_OPS,
    And,
    AnySymptom,
    Arith,
    Compare,
    Cond,
    Const,
    Decision,
    FactRef,
    InputRef,
    InSet,
    Known,
    Not,
    Or,
    Program,
    SeverityRef,
    SymptomAny,
    Value,
)

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")
_PLAIN = re.compile(r"^(?:[a-z][a-z0-9_]*|True|False|None)$")  # code that needs no temporary
# Deeper expressions are cut into a statement each: Python's parser refuses about 200 nested
# parentheses, and each level here adds up to three.
_MAX_DEPTH = 20


@dataclass(frozen=True)
class PythonProgram:
    """The generated decision function and its source (for debugging and for the curious)."""

    program: Program
    decide: Callable[[Mapping[str, Any]], Decision]  # input values in base units → Decision
    source: str


def _safe(ident: str) -> str:
    if not _IDENT.match(ident):
        raise CompileError(f"'{ident}' is not a valid id")
    return ident


def _div(a: Any, b: Any) -> Any:
    return None if b == 0 else simplest(Fraction(a) / b)


class _Gen:
    def __init__(self, program: Program) -> None:
        self.inputs = {i.id for i in program.inputs}
        self.consts: dict[str, Any] = {}
        self.temps = 0
        self.lines: list[str] = []

    def const(self, value: Any) -> str:
        for name, existing in self.consts.items():
            if type(existing) is type(value) and existing == value:
                return name
        name = f"K{len(self.consts)}"
        self.consts[name] = value
        return name

    def tmp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    def input(self, name: str) -> str | None:
        return f"i_{_safe(name)}" if name in self.inputs else None

    def _cut(self, code: str, depth: int) -> tuple[str, int]:
        if depth < _MAX_DEPTH:
            return code, depth
        t = self.tmp()
        self.lines.append(f"    {t} = {code}")
        return t, 0

    def _named(self, code: str) -> tuple[str, str]:
        """(first use, later uses): a walrus temporary unless the code is already a name."""
        if _PLAIN.match(code):
            return code, code
        t = self.tmp()
        return f"({t} := {code})", t

    def value(self, node: Value | Cond) -> tuple[str, bool, int]:
        """(code, may_be_none, depth) of a value."""
        if isinstance(node, Const):
            if isinstance(node.value, bool):
                return ("True" if node.value else "False"), False, 0
            value = simplest(node.value) if isinstance(node.value, Fraction) else node.value
            return self.const(value), False, 0
        if isinstance(node, InputRef):
            return self.input(node.input) or "None", True, 0
        if isinstance(node, FactRef):
            return f"f_{_safe(node.fact)}", True, 0
        if isinstance(node, SeverityRef):
            return "sev", True, 0
        if isinstance(node, Arith):
            if node.op not in ARITH_OPS:
                raise CompileError(f"unknown arithmetic '{node.op}'")
            (left, _, ld), (right, _, rd) = self.value(node.left), self.value(node.right)
            first_l, left_t = self._named(left)
            first_r, right_t = self._named(right)
            expr = f"_div({left_t}, {right_t})" if node.op == "/" else \
                f"{left_t} {node.op} {right_t}"
            code = f"(None if {first_l} is None or {first_r} is None else {expr})"
            code, depth = self._cut(code, max(ld, rd) + 1)
            return code, True, depth
        code, depth = self.tri(node)
        return code, True, depth

    def tri(self, node: Cond) -> tuple[str, int]:
        """(code evaluating to True, False or None, depth)."""
        code, depth = self._tri(node)
        return self._cut(code, depth)

    def _tri(self, node: Cond) -> tuple[str, int]:
        if isinstance(node, Const):
            if not isinstance(node.value, bool):
                raise CompileError("a value is not a yes/no condition")
            return ("True" if node.value else "False"), 0
        if isinstance(node, (InputRef, FactRef)):
            return self.value(node)[0], 0
        if isinstance(node, Known):
            var = self.input(node.input)
            return (f"({var} is not None)" if var else "False"), 1
        if isinstance(node, AnySymptom):
            var = self.input(node.input)
            return (f"(None if {var} is None else bool({var}))" if var else "None"), 1
        if isinstance(node, SymptomAny):
            var = self.input(node.input)
            ids = self.const(frozenset(node.symptoms))
            return (f"(None if {var} is None else not {var}.isdisjoint({ids}))"
                    if var else "None"), 1
        if isinstance(node, Not):
            inner, depth = self.tri(node.operand)
            first, later = self._named(inner)
            return f"(None if {first} is None else not {later})", depth + 1
        if isinstance(node, (And, Or)):
            return self._chain(node)
        if isinstance(node, InSet):
            value, _none, depth = self.value(node.value)
            first, later = self._named(value)
            return f"(None if {first} is None else {later} in {self.const(frozenset(node.members))})", depth + 1
        if isinstance(node, Compare):
            return self._compare(node)
        raise CompileError(f"{type(node).__name__} is not a yes/no condition")

    def _chain(self, node: And | Or) -> tuple[str, int]:
        """A flat chain, however many items: stop at the first decisive item, else unknown if
        any item is unknown, else the other value."""
        stop, other = ("False", "True") if isinstance(node, And) else ("True", "False")
        firsts, laters, depth = [], [], 0
        for item in node.items:
            code, d = self.tri(item)
            first, later = self._named(code)
            firsts.append(first)
            laters.append(later)
            depth = max(depth, d)
        decisive = " or ".join(f"{f} is {stop}" for f in firsts)
        unknown = " or ".join(f"{t} is None" for t in laters)
        return f"({stop} if {decisive} else (None if {unknown} else {other}))", depth + 1

    def _compare(self, node: Compare) -> tuple[str, int]:
        if node.op not in COMPARE_OPS:  # never emit an operator we did not define
            raise CompileError(f"unknown comparison '{node.op}'")
        left, left_none, ld = self.value(node.left)
        right, right_none, rd = self.value(node.right)
        guards = []
        if left_none:
            left, later = self._named(left)
            guards.append(f"{left} is None")
            left = later
        if right_none:
            right, later = self._named(right)
            guards.append(f"{right} is None")
            right = later
        test = f"{left} {node.op} {right}"
        if not guards:
            return f"({test})", max(ld, rd) + 1
        return f"(None if {' or '.join(guards)} else {test})", max(ld, rd) + 1

    def statement(self, target: str, node: Cond) -> None:
        code, _ = self.tri(node)
        self.lines.append(f"    {target} = {code}")


def compile_python(program: Program) -> PythonProgram:
    """Generate and compile the decision function of ``program`` (once; it is reused)."""
    gen = _Gen(program)
    lines = gen.lines
    lines.append("def decide(v):")
    for inp in program.inputs:
        lines.append(f"    i_{_safe(inp.id)} = v.get({gen.const(inp.id)})")
    _severity_lines(program, gen)
    for fact in program.facts:
        gen.statement(f"f_{_safe(fact.id)}", fact.when)
    for i, limit in enumerate(program.limits):
        gen.statement(f"s{i}", limit.when)
    for i, rule in enumerate(program.rules):
        gen.statement(f"r{i}", rule.when)
    _urgency_lines(program, gen)
    _advice_lines(program, gen)
    facts = "".join(f"f_{_safe(f.id)}, " for f in program.facts)
    scope = "".join(f"s{i}, " for i in range(len(program.limits)))
    rules = "".join(f"r{i}, " for i in range(len(program.rules)))
    # tuple.__new__ builds the NamedTuple without its Python-level __new__: a tenth of the cost.
    lines.append(f"    return _new(_Decision, (sev, ({facts}), ({scope}), ({rules}), level, "
                 "level == lt, frozenset(a), lt))")
    source = "\n".join(lines) + "\n"
    namespace: dict[str, Any] = dict(gen.consts)
    namespace.update(_new=tuple.__new__, _Decision=Decision, _div=_div)
    namespace["__builtins__"] = {"bool": bool, "frozenset": frozenset, "list": list}
    exec(compile(source, "<neutropenia_kb rules>", "exec"), namespace)  # our generated code only
    return PythonProgram(program, namespace["decide"], source)


def _severity_lines(program: Program, gen: _Gen) -> None:
    var = gen.input(program.severity.input) or "None"
    lines = gen.lines
    lines += [f"    if {var} is None:", "        sev = None"]
    previous_lower: Fraction | None = None
    for band in reversed(program.severity.bands):  # highest first
        tests = []
        if band.lower is not None:
            tests.append(f"{var} >= {gen.const(simplest(band.lower))}")
        # `below` is implied when it is the previous (higher) band's `from`.
        if band.below is not None and band.below != previous_lower:
            tests.append(f"{var} < {gen.const(simplest(band.below))}")
        if not tests:  # the open-ended lowest band takes the rest
            lines += ["    else:", f"        sev = {gen.const(band.id)}"]
            return
        lines += [f"    elif {' and '.join(tests)}:", f"        sev = {gen.const(band.id)}"]
        previous_lower = band.lower
    lines += ["    else:", "        sev = None"]


def _urgency_lines(program: Program, gen: _Gen) -> None:
    """Most urgent level with a true rule (lt) and with an unknown rule (lu); cautious wins."""
    n_levels = len(program.levels)
    lines = gen.lines
    lines += [f"    lt = {max(n_levels - 1, 0)}", f"    lu = {n_levels}"]
    for kind, var in (("True", "lt"), ("None", "lu")):
        first = True
        for level in range(n_levels):
            rules = [f"r{i} is {kind}" for i, r in enumerate(program.rules) if r.rank == level]
            if rules:
                lines.append(f"    {'if' if first else 'elif'} {' or '.join(rules)}:")
                lines.append(f"        {var} = {level}")
                first = False
    lines.append("    level = lt if lt <= lu else lu")


def _advice_lines(program: Program, gen: _Gen) -> None:
    always = tuple(a.id for a in program.advice if a.when is None)
    gen.lines.append(f"    a = list({gen.const(always)})")
    groups: dict[Cond, list[str]] = {}
    for item in program.advice:
        if item.when is not None:
            groups.setdefault(item.when, []).append(item.id)
    for when, ids in groups.items():
        code, _ = gen.tri(when)
        gen.lines.append(f"    if {code} is not False:")
        gen.lines.append(f"        a.extend({gen.const(tuple(ids))})")
