"""Check every condition of the knowledge base against the declared inputs, thresholds and facts.

`check_rules` is the hook `nkb validate` calls after the model is built: parse errors (pointing
at the column inside the YAML value), unknown names with did-you-mean, type and unit mismatches
(lang/typecheck.py), band gaps and overlaps, circular facts, derived inputs' formulas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping

from neutropenia_kb.core.problems import Problem, did_you_mean
from neutropenia_kb.core.units import find_unit
from neutropenia_kb.kb.kinds import ITEM_KINDS
from neutropenia_kb.kb.loader import Doc, PathKey, format_path
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.lang.parse import Arith, ParseError, names_in, parse, walk
from neutropenia_kb.lang.typecheck import ORDERED, WORDS, Issue, Scope, infer, word

# Scope and infer lived here before lang/typecheck.py; the compiler still imports Scope from here.
__all__ = ["Condition", "Scope", "check_derived", "check_rules", "conditions", "infer"]


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
    def walk(stem: str, key: PathKey, field: str, kind: str) -> Iterator[Condition]:
        doc = docs.get(stem)
        data = doc.data if doc else None
        for part in key:
            data = data.get(part) if isinstance(data, dict) else None
        for i, item in enumerate(data if isinstance(data, list) else ()):
            if isinstance(item, dict) and isinstance(item.get(field), str):
                yield Condition(str(item.get("id", "")), kind, item[field], stem, key + (i, field))
    for kind in ITEM_KINDS.values():
        if kind.condition:
            yield from walk(kind.file, kind.path, kind.condition, kind.name)


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
