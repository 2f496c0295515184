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

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping, Sequence

from neutropenia_kb.engine.compile import CompileError
from neutropenia_kb.engine.cql_nodes import (
    ARITH,
    OPS,
    SYSTEM,
    Expr,
    binary,
    boolean,
    case,
    coalesce,
    decimal,
    if_then,
    is_null,
    list_of,
    logic,
    not_false,
    not_null,
    null,
    on_grid,
    paren,
    prop,
    quoted,
    ref,
    round8,
    string,
    unary,
)
from neutropenia_kb.engine.program import (
    And,
    AnySymptom,
    Arith,
    Compare,
    Cond,
    Const,
    FactRef,
    InputDef,
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

FHIR_VERSION = "4.0.1"
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
        return ref("ExpressionRef", name)

    # -- inputs as values --

    def param(self, name: str) -> Expr:
        return ref("ParameterRef", name)

    def in_unit(self, input_id: str, unit: str) -> Expr:
        """The quantity's value when it came in ``unit``, else null; a derived input's worked
        out value counts as given in the base unit."""
        name = f"{input_id} in {unit}"
        if name in self.defined:
            return ref("ExpressionRef", name)
        p = self.param(input_id)
        codes = self.param_by_id[input_id].units[unit]
        matches = Expr({"type": "In", "operand": [prop(p, "unit").elm,
                                                  list_of([string(c) for c in codes]).elm]},
                       f"{prop(p, 'unit').cql} in {list_of([string(c) for c in codes]).cql}")
        expr = if_then(matches, prop(p, "value"), null("Decimal"))
        inp = self.inputs[input_id]
        if input_id in self.derived and inp.base_unit and inp.base_unit.name == unit:
            expr = if_then(is_null(p), self.derived_value(input_id), Expr(expr.elm, expr.cql))
        return self.define(name, expr)

    def derived_value(self, input_id: str) -> Expr:
        fill = self.derived[input_id]
        given = logic("And", [not_null(self.param(n)) for n in fill.when_given])
        value = round8(self.arith(fill.expr, fill.zero_when_missing))
        return self.define(f"{input_id} worked out", if_then(given, value, null("Decimal")))

    def base_value(self, input_id: str) -> Expr:
        """The value in the input's base unit (Decimal): for formulas and input-vs-input."""
        inp = self.inputs[input_id]
        if inp.type != "quantity":
            return self.param(input_id)
        parts = []
        for unit in inp.units:
            term = self.in_unit(input_id, unit.name)
            if unit.scale != 1:
                term = binary("Multiply", term, decimal(unit.scale), "*")
            if unit.offset != 0:
                term = binary("Add", term, decimal(unit.offset), "+")
            parts.append(term if unit.scale == 1 and unit.offset == 0 else round8(term))
        return self.define(f"{input_id} in base unit", coalesce(parts))

    def arith(self, node: Value, zero: Sequence[str]) -> Expr:
        if isinstance(node, Arith):
            kind = ARITH.get(node.op)
            if kind is None:
                raise CompileError(f"unknown arithmetic '{node.op}'")
            return binary(kind, self.arith(node.left, zero), self.arith(node.right, zero),
                           node.op)
        if isinstance(node, Const) and isinstance(node.value, Fraction):
            return decimal(node.value)
        if isinstance(node, InputRef):
            value = self.base_value(node.input)
            return coalesce([value, decimal(Fraction(0))]) if node.input in zero else value
        raise CompileError("a formula reads only inputs and numbers")

    def value(self, node: Value | Cond) -> Expr:
        if isinstance(node, Const):
            if isinstance(node.value, bool):
                return boolean(node.value)
            if isinstance(node.value, str):
                return string(node.value)
            return decimal(node.value)
        if isinstance(node, InputRef):
            if node.type == "bool":
                return self.param(node.input)
            if node.type == "symptoms":
                raise CompileError("a symptom list is read through symptom() or any_symptom()")
            return self.base_value(node.input)
        if isinstance(node, FactRef):
            return ref("ExpressionRef", node.fact)
        if isinstance(node, SeverityRef):
            return ref("ExpressionRef", SEVERITY)
        if isinstance(node, Arith):
            return round8(self.arith(node, ()))
        return self.cond(node)

    # -- conditions --

    def cond(self, node: Cond) -> Expr:
        if isinstance(node, (Const, InputRef, FactRef)):
            if isinstance(node, Const) and not isinstance(node.value, bool):
                raise CompileError("a value is not a yes/no condition")
            return self.value(node)
        if isinstance(node, Known):
            known = not_null(self.param(node.input))
            if node.input in self.derived:
                known = logic("Or", [known, not_null(self.derived_value(node.input))])
            return known
        if isinstance(node, (AnySymptom, SymptomAny)):
            symptoms = self.param(node.input)
            if isinstance(node, AnySymptom):
                test = unary("Exists", symptoms, f"exists {paren(symptoms)}")
            else:
                wanted = list_of([string(s) for s in node.symptoms])
                both = binary("Intersect", symptoms, wanted, "intersect")
                test = unary("Exists", both, f"exists ({both.cql})")
            return if_then(is_null(symptoms), null("Boolean"), test)  # no list: unknown
        if isinstance(node, Not):
            inner = self.cond(node.operand)
            return unary("Not", inner, f"not {paren(inner)}")
        if isinstance(node, (And, Or)):
            return logic(type(node).__name__, [self.cond(i) for i in node.items])
        if isinstance(node, InSet):
            value = self.value(node.value)
            members = list_of([string(m) for m in node.members])
            # CQL's `null in {..}` is false; ours is unknown.
            return if_then(is_null(value), null("Boolean"),
                       binary("In", value, members, "in"))
        if isinstance(node, Compare):
            return self.compare(node)
        raise CompileError(f"{type(node).__name__} is not a yes/no condition")

    def compare(self, node: Compare) -> Expr:
        if node.op not in OPS:
            raise CompileError(f"unknown comparison '{node.op}'")
        left = node.left
        if isinstance(left, InputRef) and node.in_units and \
                self.inputs[left.input].type == "quantity":
            # Each unit against the constant written in that unit: exact, no conversion.
            return coalesce([self.against(self.in_unit(left.input, unit), node.op, c)
                              for unit, c in node.in_units.items()])
        right = node.right
        if isinstance(right, Const) and isinstance(right.value, Fraction):
            return self.against(self.value(left), node.op, right.value)
        kind, op = OPS[node.op]
        return binary(kind, self.value(left), self.value(right), op)

    def against(self, value: Expr, op: str, c: Fraction) -> Expr:
        exact = on_grid(op, c)
        if isinstance(exact, bool):
            return if_then(is_null(value), null("Boolean"), boolean(exact))
        kind, word = OPS[exact[0]]
        return binary(kind, value, decimal(exact[1]), word)


# ---- statements ------------------------------------------------------------------------------


def _severity(gen: _Gen) -> Expr:
    sev = gen.program.severity
    inp = gen.inputs[sev.input]

    def at_least(edge: Fraction, op: str) -> Expr:
        if inp.type != "quantity":
            return gen.against(gen.param(sev.input), op, edge)
        return coalesce([gen.against(gen.in_unit(sev.input, u.name), op, u.from_base(edge))
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
            tests.append(not_null(gen.base_value(sev.input)))
        items.append((logic("And", tests), string(band.id)))
        previous_lower = band.lower
    return case(items, null("String"))


def _levels(gen: _Gen) -> None:
    program = gen.program
    if not program.levels:
        raise CompileError("the knowledge base has no urgency levels")
    least = string(program.levels[-1].id)
    decided, cautious = [], []
    for level in program.levels[:-1]:  # the least urgent level is the `else` of both
        refs = [ref("ExpressionRef", r.id) for r in program.rules if r.rank == level.rank]
        if refs:
            decided.append((logic("Or", refs), string(level.id)))
            cautious.append((logic("Or", [not_false(r) for r in refs]), string(level.id)))
    gen.define(DECIDED, case(decided, least))
    gen.define(LEVEL, case(cautious, least))
    gen.define(CERTAIN, binary("Equal", ref("ExpressionRef", LEVEL),
                                ref("ExpressionRef", DECIDED), "="))
    for level in program.levels:  # what a PlanDefinition action's condition names
        gen.define(level_define(level.id), binary(
            "Equal", ref("ExpressionRef", LEVEL), string(level.id), "="))


def _advice(gen: _Gen) -> None:
    picked = []
    for item in gen.program.advice:
        applies = boolean(True) if item.when is None else not_false(gen.cond(item.when))
        ref = gen.define(advice_define(item.id), applies)
        picked.append(if_then(ref, string(item.id), null("String")))
    items = list_of(picked)
    alias = Expr({"type": "AliasRef", "name": "A"}, "A", True)
    query = {"type": "Query", "source": [{"alias": "A", "expression": items.elm}],
             "relationship": [], "where": not_null(alias).elm}
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
        lines.append(f"parameter {quoted(p.input)} {cql_type(p.cql_type)}"
                     + (f"  // UCUM {units}" if units else ""))
    lines += ["", "context Unfiltered", ""]
    for def_name, expr in gen.defs:
        lines += [f"define {quoted(def_name)}:", f"  {expr.cql}", ""]
    return "\n".join(lines)
