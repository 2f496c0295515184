"""Exact quantities and the units patients, nurses and lab feeds write them in.

Values are Fractions so that thresholds are decided exactly: 2.5 x10^9/L x 40 % is 1,000
cells/µL, and 100.4 °F is 38 °C — floats would put both on the wrong side of the boundary.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Callable

from neutropenia_kb.core.problems import show_value

Dimension = str  # "cell_count" | "temperature" | "percent" | "number"


@dataclass(frozen=True)
class Unit:
    name: str  # canonical spelling used in the knowledge base: "cells/uL"
    symbol: str  # what a patient reads: "cells/µL"
    dimension: Dimension
    to_base: Callable[[Fraction], Fraction]
    from_base: Callable[[Fraction], Fraction]


def _scale(factor: Fraction) -> tuple[Callable[[Fraction], Fraction], Callable[[Fraction], Fraction]]:
    return (lambda v: v * factor), (lambda v: v / factor)


_THOUSAND = Fraction(1000)
UNITS: dict[str, Unit] = {}


def _add(names: list[str], unit: Unit) -> None:
    for name in names:
        UNITS[_normal(name)] = unit


# The many ways people type a unit: µ/μ, superscripts, ×, mm³ (after spaces are taken out).
# A table, so that the SQL backend folds a unit exactly as this module does.
UNIT_FOLDS = (("µ", "u"), ("μ", "u"), ("×", "x"), ("⁹", "9"), ("³", "3"), ("^", ""), ("*", "x"),
              ("º", "°"), ("deg", "°"))


def _normal(text: str) -> str:
    """Fold the many ways people type a unit: spaces, µ/μ, superscripts, ×, mm³."""
    text = text.strip().replace(" ", "")
    for old, new in UNIT_FOLDS:
        text = text.replace(old, new)
    return text


_cells = Unit("cells/uL", "cells/µL", "cell_count", *_scale(Fraction(1)))
_giga = Unit("10^9/L", "×10⁹/L", "cell_count", *_scale(_THOUSAND))
_add(["cells/uL", "cells/µL", "/uL", "/µL", "cells/mm3", "/mm3", "cells/mm³", "cells/ul",
      "/ul", "cells/microlitre", "cells/microliter"], _cells)
_add(["10^9/L", "x10^9/L", "×10⁹/L", "10⁹/L", "x10⁹/L", "G/L", "10^9/l", "x10^9/l"], _giga)
_celsius = Unit("C", "°C", "temperature", lambda v: v, lambda v: v)
_fahrenheit = Unit("F", "°F", "temperature",
                   lambda v: (v - 32) * Fraction(5, 9), lambda v: v * Fraction(9, 5) + 32)
_add(["C", "°C", "c", "celsius", "Celsius"], _celsius)
_add(["F", "°F", "f", "fahrenheit", "Fahrenheit"], _fahrenheit)
_percent = Unit("%", "%", "percent", lambda v: v, lambda v: v)
_add(["%", "percent"], _percent)

BASE_UNIT = {"cell_count": _cells, "temperature": _celsius, "percent": _percent}

# The spellings an author may use in rules and the ones we promise patients' forms accept.
ACCEPTED = {
    "cell_count": ["cells/uL", "cells/µL", "/uL", "cells/mm3", "/mm3", "10^9/L", "x10^9/L",
                   "×10⁹/L", "G/L"],
    "temperature": ["C", "°C", "F", "°F"],
    "percent": ["%"],
}


class UnitError(ValueError):
    pass


def find_unit(text: str) -> Unit | None:
    return UNITS.get(_normal(text))


# Bounds on a written number, checked before any exact conversion: Fraction(Decimal("1e40000000"))
# builds a 40-million-digit integer (over a minute), and int() refuses more than 4,300 digits.
# Generous for any measurement: a lab value has a handful of digits.
MAX_DIGITS = 30  # digits as written, trailing zeros included
MAX_EXPONENT = 20  # 10^-20 <= |number| < 10^21, or 0
MAX_TEXT = 100  # characters of a number written as text, unit included
_TOO_LARGE = 10 ** (MAX_EXPONENT + 1)
_RANGE = f"written numbers have at most {MAX_DIGITS} digits and lie between " \
    f"1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT + 1} (or are 0)"


def exact(value: object) -> Fraction:
    """A number from YAML, JSON, CSV or the Python API as an exact Fraction (floats via their
    shortest repr), in bounded time: non-finite, over-long and out-of-range numbers raise
    UnitError (see MAX_DIGITS, MAX_EXPONENT) before anything is converted."""
    if isinstance(value, bool):
        raise UnitError("a true/false value is not a number")
    if isinstance(value, int):
        if not -_TOO_LARGE < value < _TOO_LARGE:
            raise UnitError(f"{show_value(value)} is far too large; {_RANGE}")
        return Fraction(value)
    if isinstance(value, Fraction):
        if not -_TOO_LARGE < value < _TOO_LARGE or value.denominator > _TOO_LARGE ** 2:
            raise UnitError(f"{show_value(value)} is out of range; {_RANGE}")
        return value
    shown = f"'{show_value(value)}'"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnitError(f"{shown} is not a finite number")
        value = Decimal(repr(value))
    elif isinstance(value, str):
        text = decimal_text(value.strip())
        if len(text) > MAX_TEXT:
            raise UnitError(f"{shown} is too long for a number; {_RANGE}")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise UnitError(f"{shown} is not a number") from None
    if not isinstance(value, Decimal):
        raise UnitError(f"{show_value(value)} is not a number")
    if not value.is_finite():
        raise UnitError(f"{shown} is not a finite number")
    if value.is_zero():
        return Fraction(0)  # whatever its exponent: 0e-1000000 is 0
    # adjusted() is O(1); str() is linear but ~20x cheaper than as_tuple() on a million digits.
    if value.adjusted() > MAX_EXPONENT:
        raise UnitError(f"{shown} is far too large; {_RANGE}")
    if value.adjusted() < -MAX_EXPONENT:
        raise UnitError(f"{shown} is far too small; {_RANGE}")
    if len(str(value)) > 2 * MAX_DIGITS or len(value.as_tuple().digits) > MAX_DIGITS:
        raise UnitError(f"{shown} has too many digits; {_RANGE}")
    return Fraction(value)  # now at most 30 digits times 10^-50 .. 10^20: microseconds


_QUANTITY = re.compile(r"^\s*([-+]?(?:\d[\d,.]*|[.,]\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
# Thousands separators: groups of exactly three digits after a first group of one to three that
# does not start with 0 ("1,500", "12,000.5"). Any other comma is a decimal comma ("0,4", "37,5",
# "0,400") when it is the only one and no point is written, and refused otherwise: a comma next
# to a group of fewer than three digits is never dropped ("0,4 G/L" is not 4 G/L).
_THOUSANDS = re.compile(r"^[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d*)?(?:[eE][-+]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+(?:[eE][-+]?\d+)?$")


def decimal_text(text: str) -> str:
    """A written number with its commas resolved: thousands separators dropped, a decimal comma
    made a point; a comma that could be read either way, or in no sensible way, raises UnitError."""
    if "," not in text:
        return text
    if _THOUSANDS.match(text):
        return text.replace(",", "")
    if _DECIMAL_COMMA.match(text):
        return text.replace(",", ".")
    raise UnitError(f"'{show_value(text)}': the comma cannot be read safely; write the number "
                    "with a decimal point and no thousands separator, e.g. 1500 or 0.4")




def split_quantity(text: str) -> tuple[Fraction, str]:
    """'0.8 x10^9/L' → (Fraction(4, 5), 'x10^9/L'); '38' → (38, '')."""
    if len(text) > MAX_TEXT:  # before the pattern, which backtracks on long runs of digits
        raise UnitError(f"'{show_value(text)}' is too long for a number with a unit; {_RANGE}")
    match = _QUANTITY.match(text)
    if not match:
        raise UnitError(f"'{show_value(text)}' is not a number with an optional unit")
    return exact(match.group(1)), match.group(2)


# A repeating decimal (°F → °C) is written to this many places in JSON, floored: flooring keeps
# the value on the same side of every threshold written with at most this many decimals.
JSON_PLACES = 6


def json_number(value: Fraction) -> int | Decimal:
    """A number for JSON and CSV, written as a number (core.json_text.dumps writes a Decimal as
    its digits): an int when whole (1500, not 1500.0); the exact decimal when it ends, however
    many digits it has (37.99999999999999999, which a float would make 38.0, a fever); a
    repeating decimal floored to JSON_PLACES places (683/18 → 37.944444), with the exact value
    from ``exact_ratio``."""
    if value.denominator == 1:
        return value.numerator
    places = _decimal_places(value)
    if places is None:
        places = JSON_PLACES
        value = Fraction(math.floor(value * 10**places), 10**places)
    scaled = value * 10**places  # a whole number now: integer arithmetic, exact
    # Built from its digits: Decimal arithmetic (scaleb, /) would round to the context's 28.
    return Decimal((0 if scaled >= 0 else 1, tuple(map(int, str(abs(scaled.numerator)))),
                    -places))


def exact_ratio(value: Fraction) -> str | None:
    """'683/18' when ``value`` has no finite decimal (json_number floors it); None otherwise."""
    if value.denominator == 1 or _decimal_places(value) is not None:
        return None
    return f"{value.numerator}/{value.denominator}"


def _decimal_places(value: Fraction) -> int | None:
    """How many decimals ``value`` has, or None when it repeats (or is longer than any bounded
    input gives)."""
    # value × 10^p is whole exactly when the denominator (in lowest terms) is 2^a × 5^b with
    # a, b <= p: the places are max(a, b), found by dividing out 2s and 5s rather than by
    # trying each p with Fraction arithmetic (a hundred tries for every repeating decimal, such
    # as a temperature given in °F: most of a request's time in `nkb serve`).
    limit = 2 * (MAX_DIGITS + MAX_EXPONENT)
    rest = value.denominator
    twos = (rest & -rest).bit_length() - 1
    rest >>= twos
    fives = 0
    while rest % 5 == 0 and fives < limit:
        rest //= 5
        fives += 1
    places = max(twos, fives)
    return places if rest == 1 and places < limit else None


def format_number(value: Fraction, places: int | None = None) -> str:
    """1500 → '1,500'; 0.8 → '0.8'; 1.499 → '1.499'; with places=1: 38 → '38.0', 37.95 → '37.95',
    37.9444… → '37.94'.

    A number is shown exactly when it has few decimals (``places`` is a minimum), and otherwise
    cut short, never rounded: rounding 1,499 cells/µL to '1.5 ×10⁹/L', or 37.95 °C to '38.0 °C',
    would print a threshold for a value on the other side of it."""
    exact_places = _decimal_places(value)
    if exact_places is None or exact_places > 6:  # long or repeating (°F to °C, 37.2222…)
        exact_places = 3 if places is None else places + 1
    shown = max(places or 0, exact_places)
    if places is not None:
        shown = min(shown, places + 1)
    scale = 10**shown
    cut = Fraction(int(value * scale), scale)  # toward zero
    return f"{Decimal(cut.numerator) / Decimal(cut.denominator):,.{shown}f}"


_PLACES = {"temperature": 1}


def with_unit(number: str, unit: Unit | None) -> str:
    """A number already written out, with its unit's symbol: '38.5 °C', '45%' (no space before
    a percent sign), '3' when there is no unit. Every quantity shown to a reader ends here."""
    if unit is None:
        return number
    return f"{number}{'' if unit.symbol == '%' else ' '}{unit.symbol}"


def format_quantity(value: Fraction, unit: Unit, also: list[Unit] | None = None) -> str:
    """'38.0 °C (100.4 °F)', '500 cells/µL'. ``value`` is in ``unit``'s base (format_written
    takes a value as the knowledge base writes it, in ``unit``)."""
    places = _PLACES.get(unit.dimension)

    def one(u: Unit) -> str:
        return with_unit(format_number(u.from_base(value), places), u)

    text = one(unit)
    extras = [one(u) for u in (also or []) if u is not unit]
    return f"{text} ({', '.join(extras)})" if extras else text


def format_written(value: Fraction, unit: Unit, also: list[Unit] | None = None) -> str:
    """A value as written in ``unit`` (a band edge, a threshold), shown as format_quantity does."""
    return format_quantity(unit.to_base(value), unit, also)


def simplest(value: Fraction) -> int | Fraction:
    """Integral values as int: comparing ints is ~10× faster than Fractions and just as exact."""
    return value.numerator if value.denominator == 1 else value
