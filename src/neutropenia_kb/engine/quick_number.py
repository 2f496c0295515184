"""The common written number, read without Decimal or a regex per digit: '800', '37.5 C',
'0.85 G/L', 37.5, Decimal('0.8') become (digits as an int, decimal places, unit text).

A batch spends most of its time reading cells; nearly all are plain decimals. Anything else (a
sign, an exponent, a comma, a non-ASCII digit, more than 15 digits before the point, 20 after it
or 30 in all) returns None and goes the exact way (input_reader.InputReader._split), which stays
the reference for every value, unit and message: tests/evaluate/test_quick_number.py and
test_quick_paths.py check that both ways agree.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

from neutropenia_kb.core.units import _QUANTITY, MAX_DIGITS, MAX_EXPONENT, MAX_TEXT, Unit

# At most 15 digits before the point, 20 after it and 30 in all (leading zeros aside, as
# Decimal counts them) keeps every plain number inside units.exact's bounds (at most 30 digits,
# exponent between -20 and 20), so the quick way never accepts what exact refuses.
_MAX_SIDE = 15
_MAX_PLACES = MAX_EXPONENT
_TOO_MANY = 10**MAX_DIGITS


def plain(raw: Any) -> tuple[int, int, str] | None:
    """(all digits as one int, places after the point, unit text) or None (read it exactly)."""
    kind = type(raw)
    if kind is str:
        if len(raw) > MAX_TEXT:
            return None
        match = _QUANTITY.match(raw)  # the very split units.split_quantity makes
        if match is None:
            return None
        text, unit_text = match.group(1), match.group(2)
    elif kind is float:
        text, unit_text = repr(raw), ""  # exact() reads a float through its shortest repr
    elif kind is Decimal:
        text, unit_text = str(raw), ""
    else:
        return None
    whole, dot, part = text.partition(".")
    if not (0 < len(whole) <= _MAX_SIDE and whole.isascii() and whole.isdigit()):
        return None
    if not dot:
        return int(whole), 0, unit_text
    if not (0 < len(part) <= _MAX_PLACES and part.isascii() and part.isdigit()):
        return None
    digits = int(whole + part)
    if digits >= _TOO_MANY:
        return None  # the exact way refuses it, naming the bounds
    return digits, len(part), unit_text


_AFFINE: dict[int, tuple[int, int] | None] = {}


def to_base(digits: int, places: int, unit: Unit | None) -> int | Fraction:
    """digits / 10**places in ``unit``, in base units, as units.simplest would give it: an int
    when whole. Units that are whole-number affine maps (cells/µL, ×10⁹/L, °C, %) are worked
    out in ints; others (°F) through the unit's own exact conversion."""
    scale: int = 10 ** places
    if unit is None:
        affine: tuple[int, int] | None = (1, 0)
    else:
        key = id(unit)  # units are module-level constants: their ids are stable
        if key not in _AFFINE:
            _AFFINE[key] = _affine(unit)
        affine = _AFFINE[key]
    if affine is None:
        assert unit is not None
        value: Fraction = unit.to_base(Fraction(digits, scale))
        return value.numerator if value.denominator == 1 else value
    a, b = affine
    numerator = digits * a + b * scale
    if numerator % scale == 0:
        return numerator // scale
    return Fraction(numerator, scale)


_LINEAR: dict[int, tuple[int, int, int] | None] = {}


def linear(unit: Unit | None) -> tuple[int, int, int] | None:
    """(a, b, d), ints with d > 0, such that the unit's to_base(v) = (a*v + b) / d (°F: 5, -160,
    9), checked at a third point; None when it is no such map. A value in the unit is then
    one int product and one Fraction, not a Fraction per step of the conversion."""
    if unit is None:
        return (1, 0, 1)
    key = id(unit)  # units are module-level constants: their ids are stable
    if key not in _LINEAR:
        b = unit.to_base(Fraction(0))
        a = unit.to_base(Fraction(1)) - b
        d = math.lcm(a.denominator, b.denominator)
        _LINEAR[key] = None if unit.to_base(Fraction(7, 3)) != a * Fraction(7, 3) + b else \
            (a.numerator * (d // a.denominator), b.numerator * (d // b.denominator), d)
    return _LINEAR[key]


def identity(unit: Unit | None) -> bool:
    """True when ``unit``'s values are already in base units (cells/µL, °C, %)."""
    if unit is None:
        return True
    key = id(unit)
    if key not in _AFFINE:
        _AFFINE[key] = _affine(unit)
    return _AFFINE[key] == (1, 0)


def _affine(unit: Unit) -> tuple[int, int] | None:
    """(a, b) with to_base(v) = a*v + b for whole a and b, checked at a third point; None
    otherwise."""
    b = unit.to_base(Fraction(0))
    a = unit.to_base(Fraction(1)) - b
    if a.denominator != 1 or b.denominator != 1 or \
            unit.to_base(Fraction(7, 3)) != a * Fraction(7, 3) + b:
        return None
    return a.numerator, b.numerator
