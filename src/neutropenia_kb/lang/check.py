"""Check every condition of the knowledge base against the declared inputs, thresholds and facts.

`check_rules` is the hook `nkb validate` calls after the model is built: parse errors (pointing
at the column inside the YAML value), unknown names with did-you-mean, type and unit mismatches,
band gaps and overlaps, circular facts. `Scope` and `infer` are shared with the compiler.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Iterator, Mapping

from neutropenia_kb.core.problems import Problem, did_you_mean
from neutropenia_kb.core.units import find_unit
from neutropenia_kb.kb.loader import Doc, PathKey, format_path
from neutropenia_kb.lang.parse import (
    FUNCTIONS,
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
    ParseError,
    names_in,
    parse,
    unparse,
    walk,
)

if TYPE_CHECKING:  # avoids an import cycle with model
    from neutropenia_kb.kb.model import KnowledgeBase

WORDS = {"cell_count": "a cell count", "temperature": "a temperature", "percent": "a percent",
         "number": "a number", "bool": "a yes/no condition", "severity": "the severity band",
         "symptoms": "the list of symptoms", "band": "a severity band id"}
QUANTITIES = ("cell_count", "temperature")
ORDERED = ("cell_count", "temperature", "percent", "number")


@dataclass(frozen=True)
class Scope:
    """The names a condition may use and their types."""

    inputs: Mapping[str, str]  # input id -> type word (cell_count, temperature, percent, ...)
    units: Mapping[str, str]  # input id -> default unit name
    thresholds: Mapping[str, tuple[str, Fraction]]  # id -> (type, value in base unit)
    facts: Mapping[str, str]  # id -> `when` text
    bands: tuple[str, ...]
    symptoms: frozenset[str]

    @classmethod
    def from_kb(cls, kb: "KnowledgeBase") -> "Scope":
        inputs: dict[str, str] = {}
        units: dict[str, str] = {}
        for inp in kb.inputs:
            if inp.type == "quantity":
                inputs[inp.id] = inp.dimension or "number"
                units[inp.id] = inp.unit or ""
            else:
                inputs[inp.id] = {"boolean": "bool"}.get(inp.type, inp.type)
        thresholds: dict[str, tuple[str, Fraction]] = {}
        for th in kb.thresholds:
            unit = find_unit(th.unit) if th.unit else None
            kind = unit.dimension if unit else "number"
            thresholds[th.id] = (kind, unit.to_base(th.value) if unit else th.value)
        return cls(inputs, units, thresholds, {f.id: f.when for f in kb.facts},
                   tuple(b.id for b in kb.severity.bands), frozenset(s.id for s in kb.symptoms))

    def names(self) -> list[str]:
        return [*self.inputs, *self.thresholds, *self.facts, "severity"]


Issue = tuple[int, str]  # (offset in the expression, message)


def infer(node: Node, scope: Scope, issues: list[Issue]) -> str | None:
    """The type of ``node`` (see WORDS); appends what is wrong to ``issues``."""
    if isinstance(node, Bool):
        return "bool"
    if isinstance(node, Number):
        if node.unit is None:
            return "number"
        unit = find_unit(node.unit)
        return unit.dimension if unit else None
    if isinstance(node, Name):
        return _name_type(node, scope, issues)
    if isinstance(node, Call):
        return _call_type(node, scope, issues)
    if isinstance(node, Arith):
        return _arith_type(node, scope, issues)
    if isinstance(node, Not):
        _want_bool(node.operand, scope, issues)
        return "bool"
    if isinstance(node, (And, Or)):
        for item in node.items:
            _want_bool(item, scope, issues)
        return "bool"
    if isinstance(node, In):
        left = infer(node.left, scope, issues)
        if left not in ("severity", None):
            issues.append((node.pos, f"'in [...]' works only with severity, not with "
                                      f"{_label(node.left)}"))
        for name in node.names:
            if name.name not in scope.bands:
                issues.append((name.pos, f"'{name.name}' is not a severity band"
                                         f"{did_you_mean(name.name, scope.bands)}; the bands "
                                         f"are {', '.join(scope.bands)}"))
        return "bool"
    return _compare_type(node, scope, issues)


def _name_type(node: Name, scope: Scope, issues: list[Issue]) -> str | None:
    if node.name in scope.inputs:
        return scope.inputs[node.name]
    if node.name in scope.thresholds:
        return scope.thresholds[node.name][0]
    if node.name in scope.facts:
        return "bool"
    if node.name == "severity":
        return "severity"
    if node.name in scope.bands:
        return "band"
    hint = did_you_mean(node.name, scope.names())
    if not hint and node.name in scope.symptoms:
        hint = f"; to ask about a symptom write 'symptom({node.name})'"
    issues.append((node.pos, f"unknown name '{node.name}'{hint or '; a condition may use the inputs, thresholds, facts and severity'}"))
    return None


def _call_type(node: Call, scope: Scope, issues: list[Issue]) -> str | None:
    if node.func == "symptom":
        if not node.args:
            issues.append((node.pos, "symptom() needs at least one symptom id"))
        for arg in node.args:
            if arg.name not in scope.symptoms:
                issues.append((arg.pos, f"unknown symptom '{arg.name}'"
                                        f"{did_you_mean(arg.name, scope.symptoms)}"))
        return "bool"
    if node.func == "any_symptom":
        if node.args:
            issues.append((node.pos, "any_symptom() takes no arguments"))
        return "bool"
    if node.func == "known":
        if len(node.args) != 1:
            issues.append((node.pos, "known() takes one input name, e.g. known(anc)"))
        for arg in node.args:
            if arg.name not in scope.inputs:
                issues.append((arg.pos, f"known({arg.name}): '{arg.name}' is not an input"
                                        f"{did_you_mean(arg.name, scope.inputs)}"))
        return "bool"
    issues.append((node.pos, f"unknown function '{node.func}'"
                             f"{did_you_mean(node.func, FUNCTIONS)}; "
                             "the functions are symptom(...), any_symptom() and known(name)"))
    return None


def _arith_type(node: Arith, scope: Scope, issues: list[Issue]) -> str | None:
    """Units multiply and divide like exponents: a count × a percent / 100 is a count. Dividing
    by the number 100 turns a percent into a plain fraction (as '100 %' would)."""
    left, right = infer(node.left, scope, issues), infer(node.right, scope, issues)
    if left is None or right is None:
        return None
    for side, kind in ((node.left, left), (node.right, right)):
        if kind not in ORDERED and not _is_product(kind):
            issues.append((side.pos, f"'{node.op}' works with numbers; {_label(side)} is "
                                     f"{word(kind)}"))
            return None
        if "temperature" in dims(kind):
            issues.append((side.pos, f"{_label(side)} is a temperature: temperatures take no part "
                                     "in arithmetic (°C and °F differ by an offset, not a factor)"))
            return None
    if node.op in "+-":
        if left != right:
            issues.append((node.pos, f"'{node.op}' needs two values of one kind; "
                                     f"{_label(node.left)} is {word(left)} and "
                                     f"{_label(node.right)} is {word(right)}"))
            return None
        return left
    if node.op == "/" and not (isinstance(node.right, Number) and node.right.value != 0):
        issues.append((node.right.pos, f"divide only by a number written in the formula (such "
                                       f"as 100), not by {_label(node.right)}: it could be 0"))
        return None
    right_dims = dims(right)
    if (node.op == "/" and isinstance(node.right, Number) and node.right.unit is None
            and node.right.value == 100 and dims(left).get("percent", 0) > 0):
        right_dims = {"percent": 1}
    sign = 1 if node.op == "*" else -1
    out = dict(dims(left))
    for dim, power in right_dims.items():
        out[dim] = out.get(dim, 0) + sign * power
    return kind_of(out)


def dims(kind: str) -> dict[str, int]:
    """'cell_count*percent' → {cell_count: 1, percent: 1}; 'number' → {}."""
    out: dict[str, int] = {}
    top, _, bottom = kind.partition("/")
    for part, sign in ((top, 1), (bottom, -1)):
        for dim in part.split("*"):
            if dim and dim != "number":
                out[dim] = out.get(dim, 0) + sign
    return out


def kind_of(found: dict[str, int]) -> str:
    """The inverse of dims: {cell_count: 1} → 'cell_count'; {} → 'number'."""
    top = [d for d, n in sorted(found.items()) for _ in range(max(n, 0))]
    bottom = [d for d, n in sorted(found.items()) for _ in range(max(-n, 0))]
    text = "*".join(top) or "number"
    return f"{text}/{'*'.join(bottom)}" if bottom else text


def _is_product(kind: str) -> bool:
    return "*" in kind or "/" in kind


def word(kind: str) -> str:
    """How a type reads in a message: 'a cell count', 'a cell count × percent'."""
    if kind in WORDS:
        return WORDS[kind]
    top, _, bottom = kind.partition("/")
    text = " × ".join(WORDS.get(d, d)[2:] for d in top.split("*"))
    if bottom:
        text += " per " + " × ".join(WORDS.get(d, d)[2:] for d in bottom.split("*"))
    return "a " + text


def _want_bool(node: Node, scope: Scope, issues: list[Issue]) -> None:
    kind = infer(node, scope, issues)
    if kind not in ("bool", None):
        issues.append((node.pos, f"{_label(node)} is {word(kind)}, not a yes/no "
                                 "condition; compare it with something"))


def _label(node: Node) -> str:
    return f"'{unparse(node)}'"


def _compare_type(node: Compare, scope: Scope, issues: list[Issue]) -> str:
    left, right = infer(node.left, scope, issues), infer(node.right, scope, issues)
    if left is None or right is None:
        return "bool"
    pair = {left, right}
    if node.op in ("==", "!=") and pair <= {"severity", "band"} and left != right:
        return "bool"
    if node.op not in ("==", "!=") and not pair <= set(ORDERED):
        bad = node.left if left not in ORDERED else node.right
        issues.append((bad.pos, f"'{node.op}' compares numbers; {_label(bad)} is "
                                f"{word(left if bad is node.left else right)}"))
        return "bool"
    if left == right:
        return "bool"
    for this, other, other_kind in ((node.left, node.right, right), (node.right, node.left, left)):
        if isinstance(this, Number) and this.unit is None and other_kind in QUANTITIES:
            unit = _unit_hint(other, scope)
            issues.append((this.pos, f"'{unparse(this)}' has no unit; write the unit "
                                     f"of {word(other_kind)[2:]}, e.g. '{unparse(this)} {unit}'"))
            return "bool"
        if isinstance(this, Number) and this.unit is None and other_kind == "percent":
            return "bool"
    if isinstance(node.right, Number) or isinstance(node.left, Number):
        lit, other, lk, ok = ((node.right, node.left, right, left)
                              if isinstance(node.right, Number) else
                              (node.left, node.right, left, right))
        issues.append((lit.pos, f"{_label(lit)} is {word(lk)} but {_label(other)} is "
                                f"{word(ok)}"))
    else:
        issues.append((node.pos, f"cannot compare {_label(node.left)} ({word(left)}) "
                                 f"with {_label(node.right)} ({word(right)})"))
    return "bool"


def _unit_hint(node: Node, scope: Scope) -> str:
    if isinstance(node, Name) and node.name in scope.units:
        return scope.units[node.name]
    return "cells/uL" if infer(node, scope, []) == "cell_count" else "C"


# ---- the whole knowledge base -----------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One authored condition and where it was written."""

    owner: str  # id of the fact, rule, scope limit or advice item
    kind: str  # "fact", "urgency_rule", "scope", "test", "treatment", "precaution"
    text: str
    stem: str  # file stem in rules/
    where: PathKey


def conditions(docs: Mapping[str, Doc]) -> Iterator[Condition]:
    """Every `when` / `applies_when` in the documents, with its path for error marks."""
    def walk(stem: str, key: tuple[str, ...], field: str, kind: str) -> Iterator[Condition]:
        doc = docs.get(stem)
        data = doc.data if doc else None
        for part in key:
            data = data.get(part) if isinstance(data, dict) else None
        for i, item in enumerate(data if isinstance(data, list) else ()):
            if isinstance(item, dict) and isinstance(item.get(field), str):
                yield Condition(str(item.get("id", "")), kind, item[field], stem, key + (i, field))
    yield from walk("inputs", ("facts",), "when", "fact")
    yield from walk("severity", ("out_of_scope",), "when", "scope")
    yield from walk("urgency", ("rules",), "when", "urgency_rule")
    for stem, kind in (("tests", "test"), ("treatments", "treatment"), ("precautions", "precaution")):
        yield from walk(stem, (stem,), "applies_when", kind)


def check_rules(kb: "KnowledgeBase", docs: Mapping[str, Doc]) -> list[Problem]:
    """Every problem in the conditions and the severity table of ``kb``."""
    scope = Scope.from_kb(kb)
    problems: list[Problem] = []
    for cond in conditions(docs):
        doc = docs[cond.stem]
        try:
            node = parse(cond.text)
        except ParseError as exc:
            line, col = doc.locate(cond.where, cond.text, exc.pos)
            problems.append(Problem(doc.path, line, col, format_path(cond.where),
                                    f"cannot read the condition '{cond.text}': {exc.message}"))
            continue
        issues: list[Issue] = []
        kind = infer(node, scope, issues)
        if kind not in ("bool", None):
            issues.append((0, f"the condition is {word(kind)}, not yes/no; compare it with "
                              "something"))
        issues += [(n.pos, f"arithmetic ('{n.op}') is for a derived input's formula "
                           "(inputs.yaml, derived); in a condition, compare inputs and "
                           "thresholds directly") for n in walk(node) if isinstance(n, Arith)][:1]
        for pos, message in issues:
            line, col = doc.locate(cond.where, cond.text, pos)
            problems.append(Problem(doc.path, line, col, format_path(cond.where), message))
    problems.extend(_check_cycles(kb, docs))
    problems.extend(_check_bands(kb, docs))
    problems.extend(check_derived(kb, docs, scope))
    return problems


def _check_cycles(kb: "KnowledgeBase", docs: Mapping[str, Doc]) -> list[Problem]:
    deps: dict[str, list[str]] = {}
    for fact in kb.facts:
        try:
            deps[fact.id] = [n.name for n in names_in(parse(fact.when))]
        except ParseError:
            deps[fact.id] = []
    problems: list[Problem] = []
    reported: set[frozenset[str]] = set()
    for start in deps:
        cycle = _find_cycle(start, deps)
        if cycle and frozenset(cycle) not in reported:
            reported.add(frozenset(cycle))
            index = [f.id for f in kb.facts].index(start)
            doc = docs["inputs"]
            line, col = doc.mark(("facts", index, "when"))
            problems.append(Problem(doc.path, line, col, f"facts[{index}].when",
                                    "circular facts: " + " → ".join(cycle + [cycle[0]]) +
                                    "; a fact cannot depend on itself"))
    return problems


def _find_cycle(start: str, deps: Mapping[str, list[str]]) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    while stack:
        name, path = stack.pop()
        for dep in deps.get(name, ()):
            if dep == start:
                return path
            if dep in deps and dep not in path:
                stack.append((dep, path + [dep]))
    return None


def _check_bands(kb: "KnowledgeBase", docs: Mapping[str, Doc]) -> list[Problem]:
    # Hooks run only on a knowledge base that passed the file and reference checks: the
    # severity file exists and its input is declared.
    doc = docs["severity"]
    sev = kb.severity
    problems: list[Problem] = []

    def at(where: PathKey, message: str) -> None:
        problems.append(doc.problem(where, message))

    unit = find_unit(sev.unit)
    inp = kb.input_by_id[sev.input]
    if unit is None or inp.dimension != unit.dimension:
        at(("severity", "unit"), f"'{sev.unit}' is not a unit for {sev.input} "
           f"({WORDS.get(inp.dimension or 'number', 'a number')})")
    indexed = list(enumerate(sev.bands))
    for i, band in indexed:
        if band.lower is not None and band.below is not None and band.lower >= band.below:
            at(("severity", "bands", i), f"band '{band.id}': 'from' ({band.lower}) must be less "
               f"than 'below' ({band.below})")
    ordered = sorted(indexed, key=lambda ib: (ib[1].lower is not None, ib[1].lower or 0))
    if ordered and ordered[0][1].lower is not None:
        i, band = ordered[0]
        at(("severity", "bands", i), f"gap: no band covers counts below {band.lower} "
           f"{sev.unit}; leave out 'from' on the lowest band")
    if ordered and ordered[-1][1].below is not None:
        i, band = ordered[-1]
        at(("severity", "bands", i), f"gap: no band covers counts of {band.below} {sev.unit} "
           "or more; leave out 'below' on the highest band")
    for (_, low), (j, high) in zip(ordered, ordered[1:]):
        if low.below is None or high.lower is None or low.below > high.lower:
            at(("severity", "bands", j), f"bands '{low.id}' and '{high.id}' overlap; "
               f"'{high.id}' should start where '{low.id}' ends ({low.below})")
        elif low.below < high.lower:
            at(("severity", "bands", j), f"gap between bands '{low.id}' and '{high.id}': counts "
               f"from {low.below} to below {high.lower} {sev.unit} are in no band")
    return problems


# ---- derived inputs (inputs.yaml, derived) ----------------------------------------------------


def check_derived(kb: "KnowledgeBase", docs: Mapping[str, Doc], scope: Scope) -> list[Problem]:
    """Each derived input: it fills in a declared input, its formula reads declared inputs with
    units that give the input's kind, and every input the formula reads is listed as needed
    (when_given) or as counting 0 when missing (zero_when_missing)."""
    doc = docs["inputs"]
    problems: list[Problem] = []
    for i, derived in enumerate(kb.derived):
        where: PathKey = ("derived", i)

        def at(key: PathKey, message: str) -> None:
            problems.append(doc.problem(where + key, message))

        want = scope.inputs.get(derived.id)
        if want is None:
            at(("id",), f"'{derived.id}' is not an input; a derived input fills in one of the "
               f"inputs when it is not given{did_you_mean(derived.id, scope.inputs)}")
        elif want not in ORDERED:
            at(("id",), f"'{derived.id}' is {word(want)}; only a number, percent or quantity can "
               "be worked out by a formula")
        formula_at = where + ("formula",)
        try:
            node = parse(derived.formula)
        except ParseError as exc:
            line, col = doc.locate(formula_at, derived.formula, exc.pos)
            problems.append(Problem(doc.path, line, col, format_path(formula_at),
                                    f"cannot read the formula '{derived.formula}': {exc.message}"))
            continue
        issues: list[Issue] = []
        names = names_in(node)
        for read_name in names:
            if read_name.name == derived.id:
                issues.append((read_name.pos, f"'{derived.id}' cannot be worked out from itself"))
            elif read_name.name in scope.thresholds or read_name.name in scope.facts or \
                    read_name.name == "severity":
                issues.append((read_name.pos, f"a formula reads inputs only; '{read_name.name}' "
                                              "is not an input"))
        kind = infer(node, scope, issues)
        if not issues and kind is not None and want in ORDERED and kind != want:
            issues.append((0, f"the formula gives {word(kind)}, but '{derived.id}' is "
                              f"{word(want)}"))
        read = {n.name for n in names if n.name in scope.inputs and n.name != derived.id}
        listed = (*derived.when_given, *derived.zero_when_missing)
        for name in sorted(read - set(listed)):
            pos = next(n.pos for n in names if n.name == name)
            issues.append((pos, f"the formula reads '{name}'; list it under when_given (needed) "
                                "or zero_when_missing (counts as 0 when not given)"))
        for pos, message in issues:
            line, col = doc.locate(formula_at, derived.formula, pos)
            problems.append(Problem(doc.path, line, col, format_path(formula_at), message))
        for key, values in (("when_given", derived.when_given),
                            ("zero_when_missing", derived.zero_when_missing)):
            for j, name in enumerate(values):
                if name not in read:
                    at((key, j), f"'{name}' is not read by the formula '{derived.formula}'")
                elif key == "zero_when_missing" and name in derived.when_given:
                    at((key, j), f"'{name}' is also under when_given; list it in one place")
        for j, name in enumerate(derived.add_up_to_100):
            if scope.inputs.get(name) != "percent":
                at(("add_up_to_100", j), f"'{name}' is not a percent input"
                   f"{did_you_mean(name, [k for k, v in scope.inputs.items() if v == 'percent'])}")
    return problems
