"""Patients for the sameness tests, as JSON text: the rule cases, a boundary grid in every unit,
and seeded random patients (missing inputs, every unit spelling, bad values of every kind)."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from tests.engine.sql_rows import with_odd_char

from neutropenia_kb.core.units import ACCEPTED, find_unit
from neutropenia_kb.engine.cases import load_cases
from neutropenia_kb.engine.program import Compare, Const, InputRef, Program, walk

CASES = Path(__file__).resolve().parents[1] / "cases"


def dumps(value: Any) -> str:
    """JSON text of a YAML value, its decimals written exactly as the YAML had them (json.dumps
    would go through float)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Fraction):
        return dumps(Decimal(value.numerator) / Decimal(value.denominator))
    return json.dumps(value, ensure_ascii=False)


def rule_cases() -> list[tuple[str, str]]:
    """(case id, patient JSON) of every case under tests/cases/."""
    out = []
    for path in sorted(CASES.glob("*.yaml")):
        cases, problems = load_cases(path)
        assert not problems, problems
        out += [(f"{path.stem}:{case.id}", dumps(case.inputs)) for case in cases]
    return out


def _decimals(value: Fraction, places: int = 12) -> str:
    cut = Fraction(int(value * 10**places), 10**places)
    text = format(Decimal(cut.numerator) / Decimal(cut.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def boundaries(program: Program) -> list[str]:
    """Every number an input is compared with (thresholds, band edges), in every accepted unit
    and spelling, on it and a hair either side, each alone and with a calm rest of the patient."""
    edges: dict[str, set[Fraction]] = {}
    for _owner, _kind, cond in program.conditions():
        for node in walk(cond):
            if isinstance(node, Compare) and isinstance(node.left, InputRef) and \
                    isinstance(node.right, Const) and isinstance(node.right.value, Fraction):
                edges.setdefault(node.left.input, set()).add(node.right.value)
    sev = program.severity
    for band in sev.bands:
        for edge in (band.lower, band.below):
            if edge is not None:
                edges.setdefault(sev.input, set()).add(edge)
    out = []
    for name, values in sorted(edges.items()):
        inp = program.input_by_id[name]
        spellings = [s for s in ACCEPTED.get(inp.units[0].dimension if inp.units else "", [])
                     if (u := find_unit(s)) is not None and u.name in {x.name for x in inp.units}]
        for base in sorted(values):
            for unit in inp.units or ():
                at = unit.from_base(base)
                for delta in (Fraction(0), Fraction(1, 10**9), Fraction(-1, 10**9),
                              Fraction(1, 10), Fraction(-1, 10)):
                    number = _decimals(at + delta)
                    for spelling in spellings:
                        if find_unit(spelling).name != unit.name:  # type: ignore[union-attr]
                            continue
                        out.append(json.dumps({name: f"{number} {spelling}"}, ensure_ascii=False))
                        out.append(json.dumps({name: {"value": number, "unit": spelling},
                                               "on_chemotherapy": True, "symptoms": [],
                                               "age_years": 40}, ensure_ascii=False))
            if not inp.units:  # a plain number (age) or a percent
                for delta in (0, Fraction(1, 10**9), Fraction(-1, 10**9)):
                    out.append(f'{{"{name}": {_decimals(base + delta)}}}')
    return out


_BAD: list[Any] = [
    "lots", "", "  ", "1e400", "NaN", "-1", "12 mmol/L", "38 C", "500 cells/uL", True, False,
    [1], [], {}, {"value": 1}, {"value": "2", "unit": 3}, {"value": 1, "x": 2}, {"unit": "C"},
    "1,5,0", "٣٨", "1_0", " 7 ", "0x10", "\u0000\u001b[31m", "x" * 120, 1e21, -0.0, 1e-25,
    [[["deep"]]], {"b": 1, "a": 2, "c": [1, 2, 3, 4, 5, 6, 7, 8], "d": None, "e": True},
    "100.4 °F", "0.5 G/L", "37,9", "inf", "-Infinity", 12345678901234567890123456789012,
    # Since rules 1.2.0: decimal commas, thousands separators, ambiguous bare counts, 'none'.
    "0,4", "0,4 G/L", "1,500", "1,500 cells/uL", "12,000.5", "0,400", "1,5", "1.500,5", ",5",
    "-0,8", "1,50", "38,2 C", 50, "50", "0.8", 0.8, 99, "99.9", 100, {"value": 0.5}, "none",
    " NONE ", "None", "\t", "\u00a0",
]
# Patients that give nothing the rules read, or only the details a leaflet prints.
_EMPTY: list[dict[str, Any]] = [
    {}, {"id": "row-1"}, {"name": "Ann Smith"}, {"test_date": "2026-12-01"},
    {"anc": None, "temperature": ""}, {"temperature": "  "}, {"neutrophils_percent": 40},
    {"name": "Bo", "test_date": "2026-02-30", "anc": 800}, {"name": "\u0007", "anc": 800},
    {"name": " ", "anc": 800}, {"test_date": "2024-02-29", "anc": 800},
    {"test_date": "20261201", "anc": 800}, {"name": "x" * 101, "anc": 800},
    {"test_date": 20261201, "anc": 800}, {"symptoms": "none"}, {"symptoms": []},
]


def random_patients(program: Program, count: int, seed: int) -> list[str]:
    """``count`` patients as JSON text, the same for one seed."""
    rng = random.Random(seed)
    odd = random.Random(f"{seed} odd")  # its own stream: the rest of each patient stays put
    symptoms = list(program.symptoms)
    names = [i.id for i in program.inputs]
    out = []
    for _ in range(count):
        patient: dict[str, Any] = {}
        for inp in program.inputs:
            roll = rng.random()
            if roll < 0.3:
                continue  # missing
            if roll < 0.33:
                patient[inp.id] = None
                continue
            patient[inp.id] = _value(rng, inp.id, inp.type, inp, symptoms)
        if "anc" in patient and "wbc" in patient and rng.random() < 0.6:
            del patient[rng.choice(["anc", "wbc"])]  # both given: mostly refused as implausible
        roll = rng.random()
        if roll < 0.02:
            patient = dict(rng.choice(_EMPTY))
        elif roll < 0.05:
            bad = rng.choice(_BAD)
            patient[rng.choice(names)] = with_odd_char(odd, bad, 0.4) if isinstance(bad, str) else bad
        elif roll < 0.06:
            typo = rng.choice(names)
            patient[typo[:-1] + "x" if rng.random() < 0.5 else "x" + typo] = 1
        elif roll < 0.07:
            patient["id"] = "row-7"
        text = json.dumps(patient, ensure_ascii=False)
        out.append(text)
    return out


def _value(rng: random.Random, name: str, kind: str, inp: Any, symptoms: list[str]) -> Any:
    if kind == "boolean":
        return rng.choice([True, False, "yes", "no", "Y", " n ", 1, 0, "true"])
    if kind == "symptoms":
        picked = rng.sample(symptoms, rng.choice([0, 0, 1, 1, 2, 3]))
        if not picked and rng.random() < 0.3:
            return rng.choice(["none", "None", " NONE", "", "  "])
        if rng.random() < 0.2:
            return ", ".join(picked)
        return picked
    low = float(inp.units[0].from_base(inp.min)) if inp.units and inp.min is not None else \
        float(inp.min or 0)
    high = float(inp.units[0].from_base(inp.max)) if inp.units and inp.max is not None else \
        float(inp.max or 100)
    if name == "anc" or name == "wbc":
        high = min(high, 4000.0)  # where the bands are
    if name == "temperature":
        low, high = 34.0, 40.0
    if name == "bands_percent":
        high = 15.0  # with neutrophils_percent it must add up to 100 or less
    number: Any = round(rng.uniform(low, high), rng.choice([0, 0, 1, 2, 3]))
    if rng.random() < 0.02:
        number = rng.uniform(-10, 10 * high)  # often outside the range
    if rng.random() < 0.05:  # a decimal comma (or a thousands separator) as people write them
        roll = rng.random()
        if roll < 0.3:
            return format(number, ",")  # thousands separators: read
        if roll < 0.5:
            return str(number).replace(".", ",") + ",0"  # two commas: refused as unreadable
        return str(number).replace(".", ",")  # a decimal comma: read
    if rng.random() < 0.3 and inp.units:
        unit = rng.choice(inp.units)
        value = unit.from_base(inp.units[0].to_base(Fraction(str(number))))
        spelling = rng.choice([s for s in ACCEPTED[unit.dimension]
                               if find_unit(s).name == unit.name])  # type: ignore[union-attr]
        text = _decimals(value, rng.choice([1, 2, 6]))
        return f"{text} {spelling}" if rng.random() < 0.7 else {"value": text, "unit": spelling}
    if isinstance(number, float) and number.is_integer() and rng.random() < 0.5:
        return int(number)
    return number
