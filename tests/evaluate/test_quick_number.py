"""The quick ways of reading a number (ints for plain decimals, engine/quick_number.py) give
exactly what the exact way gives (regex, Decimal, Fraction): the same value in base units, of
the same type, the same number as written and unit, or the same error, word for word.

Checked on every band edge and threshold in every unit and spelling, just above and below them
at up to 20 decimals, on seeded random values near every threshold, on the seeded boundary grid
of the SQL sameness tests, and on every number in every rule case."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import pytest
from tests.engine.sql_rows import _UNIT_SPELLINGS, decimal_text, edges, grid

from neutropenia_kb import evaluator_for
from neutropenia_kb.core.problems import InputError
from neutropenia_kb.core.units import UNITS, Unit
from neutropenia_kb.engine.cases import case_files, load_cases
from neutropenia_kb.engine.evaluate import Evaluator
from neutropenia_kb.engine.input_reader import InputReader
from neutropenia_kb.engine.quick_number import plain

CASES = Path(__file__).resolve().parents[1] / "cases"
NUMERIC = ("quantity", "percent", "number")


@pytest.fixture(scope="module")
def evaluator(kb: Any) -> Evaluator:
    return evaluator_for(kb)  # type: ignore[no-any-return]


def _outcome(reader: InputReader, raw: Any, bare: Unit | None, quick: bool) -> tuple[Any, ...]:
    try:
        value, as_given = reader._number(raw, bare, quick=quick)
    except InputError as exc:
        return ("error", type(exc).__name__, exc.field, exc.allowed, str(exc))
    assert as_given is not None
    given, unit = as_given
    # `given` may be an int where the exact way has a whole Fraction: both are a Number, and
    # every reader of it (explanations, plausibility) takes Fraction(given).
    return ("ok", value, type(value), Fraction(given), unit)


def _same(evaluator: Evaluator, name: str, raw: Any, bare: Unit | None = None) -> bool:
    """Assert both ways agree; True when the quick way was the one taken."""
    reader = evaluator.parser.specs[name]
    assert reader.type in NUMERIC
    exact = _outcome(reader, raw, bare, quick=False)
    _outcome(reader, raw, bare, quick=True)  # the first sight of a unit spelling caches it
    quick = _outcome(reader, raw, bare, quick=True)
    assert quick == exact, (name, raw, bare)
    return plain(raw) is not None or type(raw) is int


def _texts(value: Fraction, rnd: random.Random | None = None) -> Iterator[str]:
    """``value`` and its neighbours, written with 0 to 20 decimals."""
    for step in (0, 1, 2, 3, 6, 12, 13, 14, 15, 16, 20):
        for sign in (-1, 1):
            near = value + sign * Fraction(1, 10**step) if step else value
            if near < 0:
                continue
            for places in sorted({step, 15, 16, 20}):
                yield decimal_text(near, places)
    if rnd is not None:
        for _ in range(40):
            near = value + Fraction(rnd.randint(-999, 999), 10 ** rnd.randint(0, 18))
            if near >= 0:
                yield decimal_text(near, rnd.randint(0, 19))


def _spellings(unit: str) -> list[str]:
    return _UNIT_SPELLINGS.get(unit, [f" {unit}"]) + ["", " cells/uL", " °F", " %", " K"]


def test_edges_in_every_unit_and_spelling(evaluator: Evaluator) -> None:
    quick = total = 0
    rnd = random.Random(20)
    for name, unit, value in edges(evaluator.program):
        reader = evaluator.parser.specs[name]
        bares = [None] + ([UNITS[s] for s in reader.accepted] if reader.type == "quantity"
                          else [])
        for text in _texts(value, rnd):
            for spelling in _spellings(unit):
                total += 1
                quick += _same(evaluator, name, text + spelling)
            for bare in bares:
                _same(evaluator, name, text, bare)
            number = Decimal(text)
            _same(evaluator, name, number)  # JSON and YAML give Decimals
            _same(evaluator, name, float(number))  # the Python API may give floats
            if number == number.to_integral_value():
                _same(evaluator, name, int(number))
    # The quick way must have been taken, or this test compares the exact way with itself.
    assert total > 5_000 and quick > total // 3, (quick, total)


def test_the_boundary_grid(evaluator: Evaluator) -> None:
    checked = 0
    for row in grid(evaluator.program):
        for name, cell in row.items():
            if evaluator.parser.specs[name].type in NUMERIC:
                checked += _same(evaluator, name, cell)
    assert checked > 1_000


def test_every_number_in_every_rule_case(evaluator: Evaluator) -> None:
    checked = 0
    for path in case_files([CASES]):
        cases, problems = load_cases(path)
        assert not problems
        for case in cases:
            if not isinstance(case.inputs, dict):
                continue
            for name, raw in case.inputs.items():
                spec = evaluator.parser.specs.get(name)
                if spec is not None and spec.type in NUMERIC and raw is not None:
                    checked += _same(evaluator, name, raw)
                    if isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool):
                        _same(evaluator, name, str(raw))  # the same number as a CSV cell
    assert checked > 100


@pytest.mark.parametrize("text", ["1,500", "0,4", "+7", "-0", "-5", ".5", "12.", "1e3", "1E-3",
                                  "٣٨", "38\t", " 800 ", "800 x 10^9/L", "0.8\u00a0G/L",
                                  "1234567890123456", "0.1234567890123456", "1" * 101, "nan",
                                  "inf", "1_000", "0x10", "38 C extra", "100.4°F"])
def test_spellings_that_are_not_plain(evaluator: Evaluator, text: str) -> None:
    for name in ("anc", "temperature", "neutrophils_percent", "age_years"):
        _same(evaluator, name, text)


def test_cells_read_before_give_the_same_answer_or_error(evaluator: Evaluator) -> None:
    """The kept reading of a short text (input_reader._MAX_CELLS) is the exact way's, the
    second and third time too; a kept error is raised afresh each time (its own traceback),
    word for word; and the memo stays bounded on all-distinct texts."""
    from neutropenia_kb.engine import input_reader

    reader = evaluator.parser.specs["anc"]
    for raw in ("800", "0.8 G/L", "37 K", "abc", "50", "-5", "1e25", "800", "abc"):
        exact = _outcome(reader, raw, None, quick=False)
        assert [_outcome(reader, raw, None, quick=True) for _ in range(3)] == [exact] * 3
    errors = []
    for _ in range(2):
        with pytest.raises(InputError) as caught:
            reader._number("abc")
        errors.append(caught.value)
    assert errors[0] is not errors[1] and str(errors[0]) == str(errors[1])
    assert len(list(traceback_frames(errors[1]))) == len(list(traceback_frames(errors[0])))
    for i in range(input_reader._MAX_CELLS + 10):
        reader._number(str(1000 + i))
    assert len(reader._cells) <= input_reader._MAX_CELLS


def traceback_frames(error: BaseException) -> Iterator[Any]:
    tb = error.__traceback__
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next
