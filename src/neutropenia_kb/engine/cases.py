"""Rule cases written as an author would (tests/cases/*.yaml), how to run them, and coverage.

Used by `nkb test` and by the pytest plugin. Cases are read through our safe loader and checked
against schema/case.schema.json, so a mistake in a case file is reported with its line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Mapping

from neutropenia_kb.core.problems import InputError, Problem
from neutropenia_kb.core.units import exact, find_unit, format_number
from neutropenia_kb.engine.evaluate import Evaluator, Result
from neutropenia_kb.engine.explain import Explainer
from neutropenia_kb.engine.program import Compare, Const, InputRef, walk
from neutropenia_kb.kb.loader import load_file
from neutropenia_kb.kb.schema import check_doc


@dataclass(frozen=True)
class Case:
    id: str
    file: Path
    line: int | None
    inputs: Mapping[str, Any]
    expect: Mapping[str, Any]


@dataclass
class Outcome:
    case: Case
    mismatches: list[str] = field(default_factory=list)
    result: Result | None = None
    error: InputError | None = None

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def report(self) -> str:
        """File, case, expected, actual and the trace: all an author needs to fix it."""
        lines = [f"{self.case.file}:{self.case.line}: case {self.case.id} failed"]
        lines += [f"  {m}" for m in self.mismatches]
        if self.result is not None:
            lines.append("  trace:")
            lines += [f"    {t}" for t in self.result.trace]
        elif self.error is not None:
            lines.append(f"  input refused: {self.error}")
        return "\n".join(lines)


def load_cases(path: Path) -> tuple[list[Case], list[Problem]]:
    doc, problems = load_file(path)
    if doc is None:
        return [], problems
    problems += check_doc("case", doc)
    if problems:
        return [], problems
    cases = []
    seen: set[str] = set()
    for i, raw in enumerate(doc.data["cases"]):
        if raw["id"] in seen:
            problems.append(doc.problem(("cases", i, "id"), f"duplicate case id '{raw['id']}'"))
        seen.add(raw["id"])
        cases.append(Case(raw["id"], path, doc.mark(("cases", i))[0], raw["inputs"],
                          raw["expect"]))
    return cases, problems


def case_files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.glob("*.yaml"))
        else:
            out.append(path)
    return out


def _ids(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def run_case(evaluator: Evaluator, case: Case) -> Outcome:
    outcome = Outcome(case)
    expect = case.expect
    try:
        result = evaluator.evaluate(case.inputs)
    except InputError as exc:
        outcome.error = exc
        if "error" not in expect:
            outcome.mismatches.append(f"expected a result, but the input was refused: {exc}")
            return outcome
        want = expect["error"]
        if exc.field != want["field"]:
            outcome.mismatches.append(f"error field: expected {want['field']!r}, "
                                      f"actual {exc.field!r} ({exc})")
        if want.get("contains") and want["contains"] not in str(exc):
            outcome.mismatches.append(f"error message: expected to contain "
                                      f"{want['contains']!r}, actual {str(exc)!r}")
        return outcome
    outcome.result = result
    miss = outcome.mismatches
    if "error" in expect:
        miss.append(f"expected the input to be refused naming {expect['error']['field']!r}, "
                    f"but it was evaluated (severity {result.severity}, urgency {result.urgency})")
    for key in ("severity", "urgency", "urgency_certain", "fever"):
        if key in expect and expect[key] != getattr(result, key):
            miss.append(f"{key}: expected {expect[key]!r}, actual {getattr(result, key)!r}")
    if "settle_with" in expect and sorted(expect["settle_with"]) != sorted(result.settle_with):
        miss.append(f"settle_with: expected {sorted(expect['settle_with'])}, "
                    f"actual {sorted(result.settle_with)}")
    if "anc_cells_per_ul" in expect:
        want = expect["anc_cells_per_ul"]
        want_f = None if want is None else exact(want)
        if want_f != result.anc_cells_per_ul:
            miss.append(f"anc_cells_per_ul: expected {want}, actual {_num(result.anc_cells_per_ul)}")
    found = {f.id for f in result.findings} if any(
        k in expect for k in ("findings_include", "findings_exclude")) else set()
    for key, pool, must in (("findings_include", found, True), ("findings_exclude", found, False),
                            ("advice_include", result.advice_ids, True),
                            ("advice_exclude", result.advice_ids, False)):
        wrong = [i for i in expect.get(key, ()) if (i in pool) != must]
        if wrong:
            miss.append(f"{key}: {'missing' if must else 'present'}: {', '.join(wrong)}")
    if "scope_warning" in expect:
        want_ids = sorted(_ids(expect["scope_warning"]))
        actual = sorted(s.id for s in result.scope_warnings)
        if want_ids != actual:
            miss.append(f"scope_warning: expected {want_ids}, actual {actual}")
    return outcome


def _num(value: Fraction | None) -> str:
    if value is None:
        return "null"
    return str(value.numerator) if value.denominator == 1 else f"{float(value)} ({value})"


# ---- coverage --------------------------------------------------------------------------------


@dataclass
class _Seen:
    true: set[str] = field(default_factory=set)
    bands: set[str] = field(default_factory=set)
    edges: set[tuple[str, str, str, str]] = field(default_factory=set)  # input, edge, side, unit


def boundaries(evaluator: Evaluator) -> list[tuple[str, Fraction, tuple[str, ...]]]:
    """(input, edge in base units, accepted unit names): band edges and every constant an input
    is compared with in a condition."""
    kb = evaluator.kb
    program = evaluator.program
    out: dict[tuple[str, Fraction], tuple[str, ...]] = {}
    units = {i.id: tuple(i.accepted_units) or ((i.unit,) if i.unit else ("",)) for i in kb.inputs}
    sev_unit = kb.severity.unit
    unit = find_unit(sev_unit)
    for band in kb.severity.bands:
        for edge in (band.lower, band.below):
            if edge is not None and unit is not None:
                out[(kb.severity.input, unit.to_base(edge))] = units.get(kb.severity.input, ("",))
    for _owner, _kind, cond in program.conditions():
        for cmp in (n for n in walk(cond) if isinstance(n, Compare)):
            # The compiled form puts the input on the left and the constant (a literal or a
            # threshold) in the input's base unit on the right.
            left, right = cmp.left, cmp.right
            if isinstance(left, InputRef) and left.input in units and isinstance(right, Const) \
                    and isinstance(right.value, Fraction):
                out[(left.input, right.value)] = units[left.input]
    return [(name, edge, us) for (name, edge), us in out.items()]


def coverage(evaluator: Evaluator, outcomes: Iterable[Outcome]) -> list[str]:
    """What no case exercised: rules, facts, scope limits, bands and advice conditions never
    made true, and boundaries not tested at the edge and just below it (within 1 %) in every
    accepted unit."""
    edges = boundaries(evaluator)
    kb, program = evaluator.kb, evaluator.program
    seen = _Seen()
    for outcome in outcomes:
        result = outcome.result
        if result is None:
            continue
        decision = result.decision
        seen.bands.add(result.severity)
        seen.true.update(f.id for f, v in zip(program.facts, decision.facts) if v is True)
        seen.true.update(s.id for s, v in zip(program.limits, decision.scope) if v is True)
        seen.true.update(r.id for r, v in zip(program.rules, decision.rules) if v is True)
        explainer = Explainer(kb, program, evaluator.authored, result.patient, decision)
        for item in (*kb.tests, *kb.treatments, *kb.precautions):
            if item.applies_when and explainer.truth(explainer.nodes[item.id]) is True:
                seen.true.add(item.id)
        values, given = result.patient.values, result.patient.given
        for name, edge, _units in edges:
            value = values.get(name)
            if not isinstance(value, (int, Fraction)) or isinstance(value, bool):
                continue
            as_given = given.get(name)
            unit = as_given[1].name if as_given is not None and as_given[1] is not None else ""
            if value == edge:
                seen.edges.add((name, str(edge), "at", unit))
            elif edge - abs(edge) / 100 <= value < edge:
                seen.edges.add((name, str(edge), "below", unit))
    missing = []
    for fact in kb.facts:
        if fact.id not in seen.true:
            missing.append(f"fact {fact.id}: no case made it true")
    for band in kb.severity.bands:
        if band.id not in seen.bands:
            missing.append(f"band {band.id}: no case fell in it")
    for limit in kb.severity.out_of_scope:
        if limit.id not in seen.true:
            missing.append(f"out_of_scope {limit.id}: no case made it true")
    for rule in kb.urgency_rules:
        if rule.id not in seen.true:
            missing.append(f"rule {rule.id}: no case made it true")
    for item in (*kb.tests, *kb.treatments, *kb.precautions):
        if item.applies_when and item.id not in seen.true:
            missing.append(f"{item.kind} {item.id} (applies_when {item.applies_when}): no case "
                           "made it true")
    for name, edge, units in edges:
        for unit_name in units:
            want = find_unit(unit_name) if unit_name else None
            key = want.name if want else ""
            for side in ("at", "below"):
                if (name, str(edge), side, key) not in seen.edges:
                    shown = format_number(want.from_base(edge)) + f" {want.symbol}" if want \
                        else format_number(edge)
                    where = "exactly at" if side == "at" else "just below (within 1 %)"
                    missing.append(f"boundary {name} = {shown}: no case {where} the edge"
                                   + (f" in {want.symbol}" if want else ""))
    return missing
