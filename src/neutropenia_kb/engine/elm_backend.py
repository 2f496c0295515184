"""The ELM backend: the compiled form (program.py) → one CQL library, as ELM JSON and CQL text.

The fourth backend, for FHIR clinical reasoning (`nkb export fhir`). Inputs arrive as CQL
parameters, so the library runs on a parameter set without a FHIR data source; CQL's own
three-valued logic (null) is Kleene's, as DESIGN.md requires. Numbers: CQL Decimals have 8
digits after the point, so a quantity is compared in the unit it came in, against the constant
written in that unit (the form's ``in_units``), never converted through a float; a derived input
is rounded to 8 decimals once (tests/fhir/divergences.yaml says what follows from both).
Only ids, unit codes and numbers reach the output: no authored text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping, NamedTuple, Sequence

from neutropenia_kb.engine.compile import CompileError
from neutropenia_kb.engine.program import (And, AnySymptom, Arith, Compare, Cond, Const, FactRef,
                                           InputDef, InputRef, InSet, Known, Not, Or, Program,
                                           SeverityRef, SymptomAny, Value)

SYSTEM = "{urn:hl7-org:elm-types:r1}"
FHIR_VERSION = "4.0.1"
SCALE = 8  # CQL Decimal: digits after the point (CQL 1.5, "Decimal")
# Names of the defines a caller reads; the facts, limits and rules are defined under their ids,
# and each advice item under "<id> applies". Ids are snake_case, so they never meet these.
SEVERITY, DECIDED, LEVEL, CERTAIN, ADVICE = (
    "Severity", "Decided Level", "Urgency Level", "Urgency Certain", "Advice")


def level_define(level: str) -> str:
    """The Boolean define that holds when the (cautious) urgency level is ``level``."""
    return f"Urgency Is {level}"


def advice_define(advice: str) -> str:
    """The Boolean define that holds when an advice item applies (or may: cautious)."""
    return f"{advice} applies"


_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_CQL_TYPE = {"quantity": "Quantity", "percent": "Decimal", "number": "Decimal",
             "boolean": "Boolean", "symptoms": "List<String>"}
_OPS = {"<": ("Less", "<"), "<=": ("LessOrEqual", "<="), ">": ("Greater", ">"),
        ">=": ("GreaterOrEqual", ">="), "==": ("Equal", "="), "!=": ("NotEqual", "!=")}
_ARITH = {"+": "Add", "-": "Subtract", "*": "Multiply", "/": "Divide"}


class Expr(NamedTuple):
    """One expression in both notations; ``atom``: the CQL text needs no parentheses."""

    elm: dict[str, Any]
    cql: str
    atom: bool = False


@dataclass(frozen=True)
class Parameter:
    """How a caller passes one input: a CQL parameter named after the input."""

    input: str
    cql_type: str  # Quantity, Decimal, Boolean, List<String>
    units: Mapping[str, tuple[str, ...]]  # unit name (units.py) → the UCUM codes taken for it


@dataclass(frozen=True)
class ElmLibrary:
    program: Program
    name: str  # CQL library identifier, e.g. NeutropeniaKb
    version: str
    parameters: tuple[Parameter, ...]
    elm: dict[str, Any]  # the ELM document, as json.dumps writes it
    cql: str  # the same library as CQL text


# ---- expression helpers ----------------------------------------------------------------------


def _paren(e: Expr) -> str:
    return e.cql if e.atom else f"({e.cql})"


def _name(name: str) -> str:
    if '"' in name or "\\" in name:  # never: names are ids or our own words
        raise CompileError(f"{name!r} cannot be a CQL identifier")
    return f'"{name}"'


def _string(text: str) -> Expr:
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return Expr({"type": "Literal", "valueType": SYSTEM + "String", "value": text},
                f"'{escaped}'", True)


def _bool(value: bool) -> Expr:
    word = "true" if value else "false"
    return Expr({"type": "Literal", "valueType": SYSTEM + "Boolean", "value": word}, word, True)


def decimal_text(value: Fraction) -> str:
    """Exact decimal text with a point ('500.0', '0.5'); CompileError beyond 8 decimals."""
    scaled = value * 10 ** SCALE
    if scaled.denominator != 1:
        raise CompileError(f"{value} has no exact CQL Decimal (8 digits after the point)")
    sign, digits = ("-" if scaled < 0 else ""), str(abs(scaled.numerator)).rjust(SCALE + 1, "0")
    whole, frac = digits[:-SCALE], digits[-SCALE:].rstrip("0") or "0"
    return f"{sign}{whole}.{frac}"


def _decimal(value: Fraction) -> Expr:
    text = decimal_text(value)
    return Expr({"type": "Literal", "valueType": SYSTEM + "Decimal", "value": text}, text, True)


def _null(as_type: str) -> Expr:
    return Expr({"type": "As", "asType": SYSTEM + as_type, "operand": {"type": "Null"}},
                "null", True)


def _ref(kind: str, name: str) -> Expr:
    return Expr({"type": kind, "name": name}, _name(name), True)


def _unary(kind: str, e: Expr, cql: str) -> Expr:
    return Expr({"type": kind, "operand": e.elm}, cql)


def _binary(kind: str, a: Expr, b: Expr, op: str) -> Expr:
    return Expr({"type": kind, "operand": [a.elm, b.elm]}, f"{_paren(a)} {op} {_paren(b)}")


def _is_null(e: Expr) -> Expr:
    return _unary("IsNull", e, f"{_paren(e)} is null")


def _not_null(e: Expr) -> Expr:
    return Expr({"type": "Not", "operand": _is_null(e).elm}, f"{_paren(e)} is not null")


def _not_false(e: Expr) -> Expr:
    """True or unknown (cautious): never null."""
    return Expr({"type": "Not", "operand": {"type": "IsFalse", "operand": e.elm}},
                f"{_paren(e)} is not false")


def _logic(kind: str, items: Sequence[Expr]) -> Expr:
    """n-ary and/or as balanced binary ELM (Kleene's and/or are associative, and a balanced
    tree stays shallow however many terms); one flat run in the CQL text."""
    if not items:
        return _bool(kind == "And")
    word = f" {kind.lower()} "
    text = word.join(_paren(i) for i in items)

    def tree(part: Sequence[Expr]) -> dict[str, Any]:
        if len(part) == 1:
            return part[0].elm
        mid = len(part) // 2
        return {"type": kind, "operand": [tree(part[:mid]), tree(part[mid:])]}

    return Expr(tree(items), text, len(items) == 1 and items[0].atom)


def _if(cond: Expr, then: Expr, other: Expr) -> Expr:
    return Expr({"type": "If", "condition": cond.elm, "then": then.elm, "else": other.elm},
                f"if {cond.cql} then {then.cql} else {other.cql}")


def _coalesce(items: Sequence[Expr]) -> Expr:
    if len(items) == 1:
        return items[0]
    return Expr({"type": "Coalesce", "operand": [i.elm for i in items]},
                f"Coalesce({', '.join(i.cql for i in items)})", True)


def _list(items: Sequence[Expr]) -> Expr:
    return Expr({"type": "List", "element": [i.elm for i in items]},
                "{ " + ", ".join(i.cql for i in items) + " }", True)


def _property(source: Expr, path: str) -> Expr:
    return Expr({"type": "Property", "path": path, "source": source.elm},
                f"{_paren(source)}.{path}", True)


def _round(e: Expr) -> Expr:
    places = Expr({"type": "Literal", "valueType": SYSTEM + "Integer", "value": str(SCALE)},
                  str(SCALE), True)
    return Expr({"type": "Round", "operand": e.elm, "precision": places.elm},
                f"Round({e.cql}, {SCALE})", True)


def _case(items: Sequence[tuple[Expr, Expr]], other: Expr) -> Expr:
    elm = {"type": "Case", "caseItem": [{"when": w.elm, "then": t.elm} for w, t in items],
           "else": other.elm}
    lines = "".join(f"\n    when {w.cql}\n      then {t.cql}" for w, t in items)
    return Expr(elm, f"case{lines}\n    else {other.cql}\n  end", True)


def _grid(op: str, c: Fraction) -> tuple[str, Fraction] | bool:
    """For a value with at most 8 decimals x: `x op c` ⟺ `x op' c'` with c' on that grid, or a
    constant when no such x meets the test (== 1/3 is always False)."""
    scaled = c * 10 ** SCALE
    if scaled.denominator == 1:
        return op, c
    low = Fraction(math.floor(scaled), 10 ** SCALE)
    high = low + Fraction(1, 10 ** SCALE)
    if op in (">", ">="):
        return ">=", high
    if op in ("<", "<="):
        return "<=", low
    return op == "!="


# ---- the generator ---------------------------------------------------------------------------


class _Gen:
    def __init__(self, program: Program, ucum: Mapping[str, str]) -> None:
        self.program = program
        self.inputs = program.input_by_id
        self.derived = {d.input: d for d in program.derived}
        self.defs: list[tuple[str, Expr]] = []
        self.defined: set[str] = set()
        self.params = tuple(self._parameter(i, ucum) for i in program.inputs)
        self.param_by_id = {p.input: p for p in self.params}

    def _parameter(self, inp: InputDef, ucum: Mapping[str, str]) -> Parameter:
        if not _ID.match(inp.id) or inp.type not in _CQL_TYPE:
            raise CompileError(f"input '{inp.id}' of type {inp.type} has no CQL parameter")
        units: dict[str, tuple[str, ...]] = {}
        if inp.type == "quantity":
            for unit in inp.units:
                codes = tuple(code for code, name in ucum.items() if name == unit.name)
                if not codes:
                    raise CompileError(f"no UCUM code is mapped to the unit '{unit.name}' of "
                                       f"input '{inp.id}'")
                units[unit.name] = codes
        return Parameter(inp.id, _CQL_TYPE[inp.type], units)

    def define(self, name: str, expr: Expr) -> Expr:
        if name not in self.defined:
            self.defined.add(name)
            self.defs.append((name, expr))
        return _ref("ExpressionRef", name)

    # -- inputs as values --

    def param(self, name: str) -> Expr:
        return _ref("ParameterRef", name)

    def in_unit(self, input_id: str, unit: str) -> Expr:
        """The quantity's value when it came in ``unit``, else null; a derived input's worked
        out value counts as given in the base unit."""
        name = f"{input_id} in {unit}"
        if name in self.defined:
            return _ref("ExpressionRef", name)
        p = self.param(input_id)
        codes = self.param_by_id[input_id].units[unit]
        matches = Expr({"type": "In", "operand": [_property(p, "unit").elm,
                                                  _list([_string(c) for c in codes]).elm]},
                       f"{_property(p, 'unit').cql} in {_list([_string(c) for c in codes]).cql}")
        expr = _if(matches, _property(p, "value"), _null("Decimal"))
        inp = self.inputs[input_id]
        if input_id in self.derived and inp.base_unit and inp.base_unit.name == unit:
            expr = _if(_is_null(p), self.derived_value(input_id), Expr(expr.elm, expr.cql))
        return self.define(name, expr)

    def derived_value(self, input_id: str) -> Expr:
        fill = self.derived[input_id]
        given = _logic("And", [_not_null(self.param(n)) for n in fill.when_given])
        value = _round(self.arith(fill.expr, fill.zero_when_missing))
        return self.define(f"{input_id} worked out", _if(given, value, _null("Decimal")))

    def base_value(self, input_id: str) -> Expr:
        """The value in the input's base unit (Decimal): for formulas and input-vs-input."""
        inp = self.inputs[input_id]
        if inp.type != "quantity":
            return self.param(input_id)
        parts = []
        for unit in inp.units:
            term = self.in_unit(input_id, unit.name)
            if unit.scale != 1:
                term = _binary("Multiply", term, _decimal(unit.scale), "*")
            if unit.offset != 0:
                term = _binary("Add", term, _decimal(unit.offset), "+")
            parts.append(term if unit.scale == 1 and unit.offset == 0 else _round(term))
        return self.define(f"{input_id} in base unit", _coalesce(parts))

    def arith(self, node: Value, zero: Sequence[str]) -> Expr:
        if isinstance(node, Arith):
            kind = _ARITH.get(node.op)
            if kind is None:
                raise CompileError(f"unknown arithmetic '{node.op}'")
            return _binary(kind, self.arith(node.left, zero), self.arith(node.right, zero),
                           node.op)
        if isinstance(node, Const) and isinstance(node.value, Fraction):
            return _decimal(node.value)
        if isinstance(node, InputRef):
            value = self.base_value(node.input)
            return _coalesce([value, _decimal(Fraction(0))]) if node.input in zero else value
        raise CompileError("a formula reads only inputs and numbers")

    def value(self, node: Value | Cond) -> Expr:
        if isinstance(node, Const):
            if isinstance(node.value, bool):
                return _bool(node.value)
            if isinstance(node.value, str):
                return _string(node.value)
            return _decimal(node.value)
        if isinstance(node, InputRef):
            if node.type == "bool":
                return self.param(node.input)
            if node.type == "symptoms":
                raise CompileError("a symptom list is read through symptom() or any_symptom()")
            return self.base_value(node.input)
        if isinstance(node, FactRef):
            return _ref("ExpressionRef", node.fact)
        if isinstance(node, SeverityRef):
            return _ref("ExpressionRef", SEVERITY)
        if isinstance(node, Arith):
            return _round(self.arith(node, ()))
        return self.cond(node)

    # -- conditions --

    def cond(self, node: Cond) -> Expr:
        if isinstance(node, (Const, InputRef, FactRef)):
            if isinstance(node, Const) and not isinstance(node.value, bool):
                raise CompileError("a value is not a yes/no condition")
            return self.value(node)
        if isinstance(node, Known):
            known = _not_null(self.param(node.input))
            if node.input in self.derived:
                known = _logic("Or", [known, _not_null(self.derived_value(node.input))])
            return known
        if isinstance(node, (AnySymptom, SymptomAny)):
            symptoms = self.param(node.input)
            if isinstance(node, AnySymptom):
                test = _unary("Exists", symptoms, f"exists {_paren(symptoms)}")
            else:
                wanted = _list([_string(s) for s in node.symptoms])
                both = _binary("Intersect", symptoms, wanted, "intersect")
                test = _unary("Exists", both, f"exists ({both.cql})")
            return _if(_is_null(symptoms), _null("Boolean"), test)  # no list: unknown
        if isinstance(node, Not):
            inner = self.cond(node.operand)
            return _unary("Not", inner, f"not {_paren(inner)}")
        if isinstance(node, (And, Or)):
            return _logic(type(node).__name__, [self.cond(i) for i in node.items])
        if isinstance(node, InSet):
            value = self.value(node.value)
            members = _list([_string(m) for m in node.members])
            # CQL's `null in {..}` is false; ours is unknown.
            return _if(_is_null(value), _null("Boolean"),
                       _binary("In", value, members, "in"))
        if isinstance(node, Compare):
            return self.compare(node)
        raise CompileError(f"{type(node).__name__} is not a yes/no condition")

    def compare(self, node: Compare) -> Expr:
        if node.op not in _OPS:
            raise CompileError(f"unknown comparison '{node.op}'")
        left = node.left
        if isinstance(left, InputRef) and node.in_units and \
                self.inputs[left.input].type == "quantity":
            # Each unit against the constant written in that unit: exact, no conversion.
            return _coalesce([self.against(self.in_unit(left.input, unit), node.op, c)
                              for unit, c in node.in_units.items()])
        right = node.right
        if isinstance(right, Const) and isinstance(right.value, Fraction):
            return self.against(self.value(left), node.op, right.value)
        kind, op = _OPS[node.op]
        return _binary(kind, self.value(left), self.value(right), op)

    def against(self, value: Expr, op: str, c: Fraction) -> Expr:
        exact = _grid(op, c)
        if isinstance(exact, bool):
            return _if(_is_null(value), _null("Boolean"), _bool(exact))
        kind, word = _OPS[exact[0]]
        return _binary(kind, value, _decimal(exact[1]), word)


# ---- statements ------------------------------------------------------------------------------


def _severity(gen: _Gen) -> Expr:
    sev = gen.program.severity
    inp = gen.inputs[sev.input]

    def at_least(edge: Fraction, op: str) -> Expr:
        if inp.type != "quantity":
            return gen.against(gen.param(sev.input), op, edge)
        return _coalesce([gen.against(gen.in_unit(sev.input, u.name), op, u.from_base(edge))
                          for u in inp.units])

    items: list[tuple[Expr, Expr]] = []
    previous_lower: Fraction | None = None
    for band in reversed(sev.bands):  # highest first, as the Python backend
        tests = []
        if band.lower is not None:
            tests.append(at_least(band.lower, ">="))
        if band.below is not None and band.below != previous_lower:
            tests.append(at_least(band.below, "<"))
        if not tests:  # the open lowest band: any known value
            tests.append(_not_null(gen.base_value(sev.input)))
        items.append((_logic("And", tests), _string(band.id)))
        previous_lower = band.lower
    return _case(items, _null("String"))


def _levels(gen: _Gen) -> None:
    program = gen.program
    if not program.levels:
        raise CompileError("the knowledge base has no urgency levels")
    least = _string(program.levels[-1].id)
    decided, cautious = [], []
    for level in program.levels[:-1]:  # the least urgent level is the `else` of both
        refs = [_ref("ExpressionRef", r.id) for r in program.rules if r.rank == level.rank]
        if refs:
            decided.append((_logic("Or", refs), _string(level.id)))
            cautious.append((_logic("Or", [_not_false(r) for r in refs]), _string(level.id)))
    gen.define(DECIDED, _case(decided, least))
    gen.define(LEVEL, _case(cautious, least))
    gen.define(CERTAIN, _binary("Equal", _ref("ExpressionRef", LEVEL),
                                _ref("ExpressionRef", DECIDED), "="))
    for level in program.levels:  # what a PlanDefinition action's condition names
        gen.define(level_define(level.id), _binary(
            "Equal", _ref("ExpressionRef", LEVEL), _string(level.id), "="))


def _advice(gen: _Gen) -> None:
    picked = []
    for item in gen.program.advice:
        applies = _bool(True) if item.when is None else _not_false(gen.cond(item.when))
        ref = gen.define(advice_define(item.id), applies)
        picked.append(_if(ref, _string(item.id), _null("String")))
    items = _list(picked)
    alias = Expr({"type": "AliasRef", "name": "A"}, "A", True)
    query = {"type": "Query", "source": [{"alias": "A", "expression": items.elm}],
             "relationship": [], "where": _not_null(alias).elm}
    gen.define(ADVICE, Expr(query, f"{items.cql} A\n    where A is not null"))


def compile_elm(program: Program, ucum: Mapping[str, str]) -> ElmLibrary:
    """The library for ``program``. ``ucum`` maps each UCUM code a quantity may arrive in to
    the unit name of units.py (serve.fhir_input.UCUM_UNITS): the one table of both."""
    for owner in [f.id for f in program.facts] + [r.id for r in program.rules] + \
            [s.id for s in program.limits] + [a.id for a in program.advice]:
        if not _ID.match(owner):
            raise CompileError(f"'{owner}' is not a valid id")
    gen = _Gen(program, ucum)
    gen.define(SEVERITY, _severity(gen))
    for fact in program.facts:
        gen.define(fact.id, gen.cond(fact.when))
    for limit in program.limits:
        gen.define(limit.id, gen.cond(limit.when))
    for rule in program.rules:
        gen.define(rule.id, gen.cond(rule.when))
    _levels(gen)
    _advice(gen)
    name = "".join(part.capitalize() for part in program.kb_id.split("_"))
    return ElmLibrary(program, name, program.version, gen.params,
                      _elm(gen, name, program.version), _cql(gen, name, program))


def _type_spec(cql_type: str) -> dict[str, Any]:
    if cql_type.startswith("List<"):
        return {"type": "ListTypeSpecifier", "elementType": _type_spec(cql_type[5:-1])}
    return {"type": "NamedTypeSpecifier", "name": SYSTEM + cql_type}


def _elm(gen: _Gen, name: str, version: str) -> dict[str, Any]:
    return {"library": {
        "identifier": {"id": name, "version": version},
        "schemaIdentifier": {"id": "urn:hl7-org:elm", "version": "r1"},
        "usings": {"def": [
            {"localIdentifier": "System", "uri": "urn:hl7-org:elm-types:r1"},
            {"localIdentifier": "FHIR", "uri": "http://hl7.org/fhir", "version": FHIR_VERSION}]},
        "parameters": {"def": [
            {"name": p.input, "accessLevel": "Public",
             "parameterTypeSpecifier": _type_spec(p.cql_type)} for p in gen.params]},
        "contexts": {"def": [{"name": "Unfiltered"}]},
        "statements": {"def": [
            {"name": n, "context": "Unfiltered", "accessLevel": "Public", "expression": e.elm}
            for n, e in gen.defs]},
    }}


def _cql(gen: _Gen, name: str, program: Program) -> str:
    def cql_type(t: str) -> str:  # System types spelled out: `using FHIR` has a Quantity too
        return f"List<System.{t[5:-1]}>" if t.startswith("List<") else f"System.{t}"

    lines = [f"library {name} version '{program.version}'", "",
             f"// Generated from the knowledge base {program.kb_id} {program.version} "
             f"(decisions fingerprint {program.fingerprint}); do not edit.",
             f"using FHIR version '{FHIR_VERSION}'", ""]
    for p in gen.params:
        units = "; ".join(f"{u}: {', '.join(codes)}" for u, codes in p.units.items())
        lines.append(f"parameter {_name(p.input)} {cql_type(p.cql_type)}"
                     + (f"  // UCUM {units}" if units else ""))
    lines += ["", "context Unfiltered", ""]
    for def_name, expr in gen.defs:
        lines += [f"define {_name(def_name)}:", f"  {expr.cql}", ""]
    return "\n".join(lines)
