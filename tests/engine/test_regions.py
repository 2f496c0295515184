"""The region key (engine/regions.py): patients with the same key get the same decision and the
same settle_with, so a batch may work each key out once; a program that reads inputs in a
way the key cannot follow gets no key at all."""

from __future__ import annotations

import csv
import dataclasses
import io
from fractions import Fraction
from typing import Any

from tests.engine.sql_rows import COLUMNS, grid, patients

from neutropenia_kb.core.problems import InputError
from neutropenia_kb.engine.batch import Rows, accepted_columns, run
from neutropenia_kb.engine.evaluate import Evaluator, evaluator_for
from neutropenia_kb.engine.program import Arith, Compare, Const, FactDef, InputRef, Program
from neutropenia_kb.engine.regions import region_keys


def _rows(evaluator: Evaluator, count: int) -> list[dict[str, str]]:
    return [*grid(evaluator.program), *patients(21, count, evaluator.program.symptoms)]


def test_same_key_same_decision_and_settle_with(kb: Any) -> None:
    evaluator = evaluator_for(kb)
    key = evaluator.region_key
    assert key is not None
    seen: dict[Any, Any] = {}
    decided = 0
    for row in _rows(evaluator, 8000):
        try:
            parsed = evaluator.parse(row)
        except InputError:
            continue
        result = evaluator.decide(parsed)
        got = (result.decision, result.settle_with)
        assert seen.setdefault(key(parsed.values), got) == got, row
        decided += 1
    assert decided > 5000 and len(seen) < decided / 2  # keys repeat: the test compares


def test_batch_output_is_the_same_without_the_key(kb: Any) -> None:
    """Byte for byte, good and bad rows, against the batch deciding every row."""
    keyed = evaluator_for(kb)
    unkeyed = Evaluator(kb)
    unkeyed.__dict__["region_key"] = None  # the cached_property set to "cannot key"
    text = io.StringIO()
    out_csv = csv.writer(text)
    out_csv.writerow(COLUMNS)
    out_csv.writerows([row.get(c, "") for c in COLUMNS] for row in _rows(keyed, 4000))
    data = text.getvalue().encode()
    outputs = []
    for evaluator in (keyed, unkeyed):
        out = io.StringIO()
        rows = Rows(io.BytesIO(data), "csv", accepted_columns(evaluator))
        run(evaluator, rows, out, "csv", rows.columns)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(",true,") > 1000 and outputs[0].count("is not allowed") > 100


def _with_fact(program: Program, when: Any) -> Program:
    fact = FactDef("odd", when, when.deps)
    return dataclasses.replace(program, facts=(*program.facts, fact))


def test_no_key_when_an_input_is_read_otherwise(kb: Any) -> None:
    program = evaluator_for(kb).program
    anc = InputRef("anc", "cell_count")
    count = Const(Fraction(1000), "cell_count")
    assert region_keys(_with_fact(program, Compare(">", anc, count))) is not None
    doubled = Arith("*", anc, Const(Fraction(2), "number"))
    assert region_keys(_with_fact(program, Compare(">", doubled, count))) is None
    wbc = InputRef("wbc", "cell_count")
    assert region_keys(_with_fact(program, Compare(">", anc, wbc))) is None


def test_a_constant_outside_the_plausible_range_still_cuts(kb: Any) -> None:
    """A derived ANC is not held to the ANC's range: a constant above it must still split."""
    program = evaluator_for(kb).program
    high = Const(Fraction(10) ** 9, "cell_count")
    key = region_keys(_with_fact(program, Compare(">", InputRef("anc", "cell_count"), high)))
    assert key is not None
    assert key({"anc": 10**9 + 1}) != key({"anc": 10**9 - 1})


def test_key_of_a_fraction_is_its_region(kb: Any) -> None:
    """Fractions between whole cuts are keyed in ints: the same as the generic comparison."""
    from bisect import bisect_left

    evaluator = evaluator_for(kb)
    key = evaluator.region_key
    assert key is not None
    cuts = sorted({Fraction(36), Fraction(38)})
    for tenths in range(340, 400):
        value = Fraction(tenths, 10)
        i = bisect_left(cuts, value)
        expected = 2 * i + (1 if i < len(cuts) and cuts[i] == value else 0)
        plain = int(value) if value.denominator == 1 else value
        assert [k for k in key({"temperature": plain}) if k is not None] == [expected], value
