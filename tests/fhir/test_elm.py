"""The ELM backend gives the Python engine's decisions, run by the reference CQL engine.

Every rule case of tests/cases/, a grid around every edge the rules compare with (in each
accepted unit, and reached through the worked-out ANC), and a seeded sample of mixed patients
go through cql-execution; severity, each fact, scope limit and rule, the urgency level, its
certainty and the advice ids must equal the Python backend's Decision. Accepted divergences are
listed in divergences.yaml with their reason; a listed case that stops diverging fails too.
"""

from __future__ import annotations

import itertools
import json
import random
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml
from elm_run import REPO, decimal_text, parameters, run_elm

from neutropenia_kb import evaluator_for
from neutropenia_kb.core.problems import InputError
from neutropenia_kb.engine.cases import boundaries, case_files, load_cases
from neutropenia_kb.engine.elm_backend import ADVICE, CERTAIN, LEVEL, SEVERITY, ElmLibrary

HERE = Path(__file__).parent
STEP = Fraction(1, 10 ** 8)  # the finest step a CQL Decimal has


def divergences() -> dict[str, str]:
    data = yaml.safe_load((HERE / "divergences.yaml").read_text(encoding="utf-8"))
    return {item["patient"]: item["reason"] for item in data["divergences"]}


def case_patients() -> Iterator[tuple[str, Mapping[str, Any]]]:
    for path in case_files([REPO / "tests" / "cases"]):
        cases, problems = load_cases(path)
        assert not problems, problems
        for case in cases:
            yield f"{path.stem}:{case.id}", case.inputs


def grid_patients(evaluator: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each edge the rules compare an input with, in each unit: just below, at, just above."""
    backgrounds: list[dict[str, Any]] = [
        {}, {"on_chemotherapy": True, "symptoms": []}, {"on_chemotherapy": False},
        {"symptoms": ["fever"]}, {"anc": 800, "symptoms": []}]
    for name, edge, units in boundaries(evaluator):
        for unit_name, d in itertools.product(units, (-STEP, 0, STEP, Fraction(-1, 10))):
            unit = evaluator.program.input_by_id[name].unit(unit_name) if unit_name else None
            value = (unit.from_base(edge) if unit else edge) + d
            if (value * 10 ** 8).denominator != 1:
                continue  # not a CQL Decimal: see divergences.yaml
            written = f"{decimal_text(value)} {unit_name}".strip()
            for i, background in enumerate(backgrounds):
                yield f"grid:{name}={written}:{i}", {**background, name: written}
            if name == evaluator.kb.severity.input and not unit_name.startswith("10"):
                # the same ANC worked out from a blood count, bands given or missing
                for wbc, neut, bands in ((value * 2, 45, 5), (value * 4, 25, None)):
                    patient = {"wbc": decimal_text(wbc), "neutrophils_percent": neut,
                               "symptoms": ["fever"]}
                    if bands is not None:
                        patient["bands_percent"] = bands
                    yield f"grid:wbc={patient['wbc']},{neut}%,{bands}%", patient


def limit_patients() -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Past CQL's Decimal (8 digits after the point): listed in divergences.yaml."""
    yield "limit:temperature=37.99999999999999999 C", {"temperature": "37.99999999999999999 C",
                                                       "on_chemotherapy": True}
    # (1000 + 2e-7) × (50 − 1e-8) / 100 = 500 − 2e-17: severe, but 500 at 8 decimals
    yield "limit:wbc=1000.0000002,49.99999999%", {"wbc": "1000.0000002",
                                                   "neutrophils_percent": "49.99999999"}


def sample_patients(evaluator: Any, count: int = 400) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Mixed patients: any input may be missing, values on a decimal grid, units mixed."""
    rng = random.Random(16)
    symptoms = sorted(evaluator.parser.symptoms)
    for i in range(count):
        patient: dict[str, Any] = {}
        pick = rng.random
        if pick() < 0.5:
            patient["anc"] = rng.choice([f"{rng.randint(0, 2500)} cells/uL",
                                         f"{rng.randint(0, 250) / 100} 10^9/L"])
        elif pick() < 0.6:
            patient["wbc"] = f"{rng.randint(0, 6000)} cells/uL"
            patient["neutrophils_percent"] = rng.randint(0, 800) / 10
            if pick() < 0.5:
                patient["bands_percent"] = rng.randint(0, 199) / 10
        if pick() < 0.7:
            patient["temperature"] = rng.choice([f"{rng.randint(340, 400) / 10} C",
                                                 f"{rng.randint(930, 1040) / 10} F"])
        if pick() < 0.7:
            patient["symptoms"] = rng.sample(symptoms, rng.choice([0, 0, 1, 1, 2, 3]))
        if pick() < 0.6:
            patient["on_chemotherapy"] = pick() < 0.5
        if pick() < 0.5:
            patient["age_years"] = rng.choice([0.5, 1, 11, 12, 40])
        yield f"sample:{i}", patient


def decisions(kb: Any, library: ElmLibrary, elm_file: Path,
              patients: list[tuple[str, Mapping[str, Any]]]) -> list[tuple[str, str]]:
    """(patient id, what differs) for each patient whose ELM decision differs."""
    evaluator = evaluator_for(kb)
    program = evaluator.program
    parsed, params = [], []
    for pid, raw in patients:
        try:
            patient = evaluator.parser.parse(raw)
        except InputError:
            continue  # refusing bad input is the reader's job (patient.py), not the rules'
        parsed.append((pid, patient))
        params.append(parameters(library, patient))
    assert len(parsed) > len(patients) * 0.8, "most patients of the grid must be valid"
    results = run_elm(elm_file, params)
    levels = [lv.id for lv in program.levels]
    wrong = []
    for (pid, patient), got in zip(parsed, results):
        decision = evaluator.compiled.decide(patient.values)
        expected = {SEVERITY: decision.severity, LEVEL: levels[decision.level],
                    CERTAIN: decision.certain, ADVICE: sorted(decision.advice)}
        for owners, values in ((program.facts, decision.facts), (program.limits, decision.scope),
                               (program.rules, decision.rules)):
            expected.update({o.id: v for o, v in zip(owners, values)})
        got[ADVICE] = sorted(got[ADVICE])
        diff = [f"{k}: python {v!r}, elm {got.get(k)!r}" for k, v in expected.items()
                if got.get(k) != v and k != ADVICE]
        if got[ADVICE] != expected[ADVICE]:
            only_python = sorted(set(expected[ADVICE]) - set(got[ADVICE]))
            only_elm = sorted(set(got[ADVICE]) - set(expected[ADVICE]))
            diff.append(f"{ADVICE}: only python {only_python}, only elm {only_elm}")
        if diff:
            wrong.append((pid, "; ".join(diff)))
    return wrong


def test_elm_gives_the_python_decisions(kb: Any, elm_library: ElmLibrary,
                                        elm_file: Path) -> None:
    patients = [*case_patients(), *grid_patients(evaluator_for(kb)), *limit_patients(),
                *sample_patients(evaluator_for(kb))]
    assert len(patients) > 800
    wrong = dict(decisions(kb, elm_library, elm_file, patients))
    accepted = divergences()
    unexpected = {pid: why for pid, why in wrong.items() if pid not in accepted}
    assert not unexpected, "\n".join(f"{pid}: {why}" for pid, why in unexpected.items())
    stale = sorted(set(accepted) - set(wrong))
    assert not stale, f"listed in divergences.yaml but no longer diverging: {stale}"


def _kleene_library(path: Path) -> Path:
    """A small library of Boolean parameters a, b and a Decimal x, in the node shapes the
    backend writes."""
    system = "{urn:hl7-org:elm-types:r1}"

    def ref(name: str) -> dict[str, Any]:
        return {"type": "ParameterRef", "name": name}

    one = {"type": "Literal", "valueType": system + "Decimal", "value": "1.0"}
    defines = {
        "and": {"type": "And", "operand": [ref("a"), ref("b")]},
        "or": {"type": "Or", "operand": [ref("a"), ref("b")]},
        "not": {"type": "Not", "operand": ref("a")},
        "less": {"type": "Less", "operand": [ref("x"), one]},
        "equal": {"type": "Equal", "operand": [ref("x"), one]},
        "not false": {"type": "Not", "operand": {"type": "IsFalse", "operand": ref("a")}},
    }
    spec = {"Boolean": {"type": "NamedTypeSpecifier", "name": system + "Boolean"},
            "Decimal": {"type": "NamedTypeSpecifier", "name": system + "Decimal"}}
    elm = {"library": {
        "identifier": {"id": "Kleene", "version": "1"},
        "schemaIdentifier": {"id": "urn:hl7-org:elm", "version": "r1"},
        "parameters": {"def": [{"name": n, "accessLevel": "Public", "parameterTypeSpecifier":
                                spec[t]} for n, t in (("a", "Boolean"), ("b", "Boolean"),
                                                      ("x", "Decimal"))]},
        "statements": {"def": [{"name": n, "context": "Unfiltered", "accessLevel": "Public",
                                "expression": e} for n, e in defines.items()]}}}
    path.write_text(json.dumps(elm), encoding="utf-8")
    return path


def test_cql_logic_is_kleene(tmp_path: Path) -> None:
    """DESIGN.md's three-valued tables hold in the engine: and/or/not over null, comparisons
    with null, and `is not false` (the cautious reading) never null."""
    values: list[bool | None] = [True, False, None]
    patients = [{"a": a, "b": b, "x": x} for a in values for b in values for x in (None, "0.5")]
    results = run_elm(_kleene_library(tmp_path / "kleene.json"), patients)
    for p, got in zip(patients, results):
        a, b = p["a"], p["b"]
        assert got["and"] == (False if False in (a, b) else None if None in (a, b) else True), p
        assert got["or"] == (True if True in (a, b) else None if None in (a, b) else False), p
        assert got["not"] == (None if a is None else not a), p
        assert got["less"] == (None if p["x"] is None else True), p
        assert got["equal"] == (None if p["x"] is None else False), p
        assert got["not false"] is (a is not False), p
