"""Combinations of inputs that cannot be true: a derived input (inputs.yaml, ``derived:``) given
directly must agree with its own formula over the inputs given with it.

For the ANC, ``wbc * (neutrophils_percent + bands_percent) / 100``: an ANC larger than the white
count, or an ANC that disagrees with the white count and percentages given with it, is refused
naming both values. Labs round what they print, so each number counts as the whole range it may
have been rounded from: ±half a unit of its last written digit (2.5 ×10⁹/L is 2,450 to 2,550
cells/µL; 12 % is 11.5 to 12.5 %). Only when even those ranges cannot meet is the input refused
(DESIGN.md, "Plausibility"). All arithmetic is exact (Fractions, interval ends).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Mapping

from neutropenia_kb.core.problems import InputError, show_value
from neutropenia_kb.core.units import Unit, _decimal_places, find_unit, format_number
from neutropenia_kb.lang.parse import Arith, Name, Node
from neutropenia_kb.lang.parse import Number as Literal

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import Derived

Interval = tuple[Fraction, Fraction]
_MAX_PLACES = 30  # a bounded written number has at most 30 digits (units.MAX_DIGITS)


def written_range(value: Any, as_given: tuple[Any, Unit | None] | None) -> Interval:
    """The range (in base units) a value may have been rounded from, by the digits written."""
    exact = Fraction(value)
    if as_given is None:
        return exact, exact
    number, unit = Fraction(as_given[0]), as_given[1]
    # The fewest places p with number × 10^p whole, from the denominator's factors of 2 and 5
    # (not by trying each p: thirty Fraction products for a number with many decimals).
    places = _decimal_places(number)
    if places is None or places > _MAX_PLACES:  # no finite decimal (a Fraction through the
        return exact, exact                     # API): taken as exact
    half = Fraction(1, 2 * 10**places)
    if unit is not None:  # every count and percent unit is a scale: no offset
        half = unit.to_base(number + half) - unit.to_base(number)
    return exact - half, exact + half


def interval(node: Node, ranges: Mapping[str, Interval]) -> Interval:
    """The formula's lowest and highest value over the inputs' ranges (interval arithmetic,
    exact; the checker allows only names, literals and + - * / by a nonzero literal)."""
    if isinstance(node, Literal):
        unit = find_unit(node.unit) if node.unit else None
        value = Fraction(unit.to_base(node.value) if unit else node.value)
        return value, value
    if isinstance(node, Name):
        return ranges[node.name]
    if isinstance(node, Arith):
        (a, b), (c, d) = interval(node.left, ranges), interval(node.right, ranges)
        if node.op == "+":
            return a + c, b + d
        if node.op == "-":
            return a - d, b - c
        if node.op == "/":
            c, d = 1 / d, 1 / c  # a nonzero literal: c == d
        ends = (a * c, a * d, b * c, b * d)
        return min(ends), max(ends)
    raise AssertionError(f"not arithmetic: {node!r}")


def check_given(fill: "Derived", formula: Node, values: Mapping[str, Any],
                given: Mapping[str, tuple[Any, Unit | None]], raw: Mapping[str, Any],
                unit: Unit | None) -> None:
    """Raise InputError when ``fill.id`` was given together with inputs its formula reads and
    the two cannot both be true. With every input of ``when_given``: the formula's value must
    be within rounding of the given one. With a percent of ``add_up_to_100`` missing (an ANC
    and a white count alone): the missing percents count from 0 up to what makes 100 in all,
    so an ANC above the white count is refused."""
    if fill.id not in values or not any(name in values for name in fill.inputs):
        return
    parts = fill.add_up_to_100
    ranges = {name: written_range(values[name], given.get(name)) for name in fill.inputs
              if name in values}
    exact: Fraction | None = None
    if all(name in values for name in fill.when_given):
        missing = [n for n in fill.inputs if n not in values]  # zero_when_missing: exactly 0
        spread = {n: (Fraction(0), Fraction(0)) for n in missing}
        exact = interval(formula, {n: (Fraction(values[n]),) * 2 for n in ranges} | spread)[0]
    elif parts and all(name in values for name in fill.when_given if name not in parts):
        missing = [n for n in parts if n not in values]
        room = 100 - sum((ranges[n][0] for n in parts if n in ranges), Fraction(0))
        # The formula grows with the percents (a count times percents), so its least value has
        # every missing percent at 0 and its greatest has them making up 100 in all.
        spread = {n: (Fraction(0), max(room, Fraction(0)) if i == 0 else Fraction(0))
                  for i, n in enumerate(missing)}
    else:
        return
    low, high = interval(formula, {**ranges, **spread})
    mine_low, mine_high = ranges[fill.id] if fill.id in ranges else \
        written_range(values[fill.id], given.get(fill.id))
    if mine_high >= low and mine_low <= high:
        return
    raise InputError(fill.id, raw.get(fill.id), _allowed(fill, values, raw, exact, low, high,
                                                         unit))


def _allowed(fill: "Derived", values: Mapping[str, Any], raw: Mapping[str, Any],
             exact: Fraction | None, low: Fraction, high: Fraction, unit: Unit | None) -> str:
    def shown(name: str) -> str:
        if name in values:
            return f"{name} {show_value(raw.get(name, values[name]), 20)}"
        return f"{name} 0" if exact is not None else name  # counted as 0, or left to range

    formula = re.sub(r"[a-z][a-z0-9_]*", lambda m: shown(m.group(0)) if m.group(0) in
                     fill.inputs else m.group(0), " ".join(fill.formula.split()))
    formula = formula.replace(" * ", " × ")

    def number(value: Fraction) -> str:
        return format_number(value) + (f" {unit.symbol}" if unit else "")

    if exact is not None:
        what = (f"{formula} is {number(exact)} ({number(low)} to {number(high)} allowing for "
                "rounding)")
    else:
        what = (f"{fill.id} is {formula}, and the percents add up to 100 or less, so it is at "
                f"most {number(high)} (at least {number(low)}) allowing for rounding")
    return (f"a value that can be true with the other results given: {what}; check both "
            "numbers and their units, or give only one of them")
