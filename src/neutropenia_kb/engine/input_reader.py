"""One declared input, read: a number with its unit, a percentage, a yes/no, checked against the
input's range and units; a bare number plausible in two units is refused naming both readings.

Plain numbers go the quick way (quick_number.py: ints, no Decimal); everything else goes the
exact way (``_split``), which words every message.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Mapping, TypeVar

from neutropenia_kb.core.problems import InputError, show_value
from neutropenia_kb.core.units import (
    ACCEPTED,
    MAX_EXPONENT,
    MAX_TEXT,
    UNITS,
    Unit,
    UnitError,
    exact,
    find_unit,
    format_number,
    simplest,
    split_quantity,
)
from neutropenia_kb.engine.quick_number import identity, linear, plain, to_base

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import Input

# An exact number: a whole number as int, any other as Fraction (never a float). Not the
# condition language's literal node, lang.tree.Number.
Exact = int | Fraction
Value = Exact | bool | frozenset[str]
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
_NOUN = {"cell_count": "count", "temperature": "temperature", "percent": "percent",
         "number": "number"}
_INT_LIMIT = 10 ** (MAX_EXPONENT + 1)  # ints beyond it go through exact(), which refuses them
_MAX_SPELLINGS = 64
# Cells read before, per input: a feed repeats the same few hundred texts ("37.5", "800",
# "0.8 G/L"). Bounded in count and in length, so all-distinct cells cost one failed lookup.
_MAX_CELLS = 4096
_MAX_CELL_TEXT = 40
_UNREAD: Any = object()


class AmbiguousInput(InputError):
    """A number without a unit that is plausible in two units (inputs.yaml `bare_number`)."""

    def __init__(self, field_name: str, value: object, readings: str, example: str) -> None:
        super().__init__(field_name, value, f"a number with its unit, e.g. {example}")
        shown = f"'{show_value(value)}'" if isinstance(value, str) else show_value(value)
        self.args = (f"{show_value(field_name)}: {shown} is ambiguous: {readings}? Write the "
                     f"unit, e.g. {example}",)


_T = TypeVar("_T")


def remember(cache: dict[Any, Any], key: Any, read: Callable[..., _T], *args: Any) -> _T:
    """A cell read for the first time: read(*args), kept in ``cache`` under ``key`` (at most
    _MAX_CELLS, then the cache starts again), or the InputError it raised, kept and raised.
    The caller looks the key up first (a hit costs no call) and raises a kept error again
    with _again."""
    if len(cache) >= _MAX_CELLS:
        cache.clear()
    try:
        known = cache[key] = read(*args)
    except InputError as exc:
        cache[key] = exc
        raise
    return known


def _again(error: InputError) -> InputError:
    """A fresh copy of a kept error, to raise again: raising the kept one would pile each
    row's traceback onto it."""
    fresh = error.__class__.__new__(error.__class__)
    fresh.__dict__.update(error.__dict__)
    fresh.args = error.args
    return fresh


class InputReader:
    """How one declared input is read; built once per knowledge base."""

    def __init__(self, inp: "Input",
                 meaning: Callable[[Fraction], str] | None = None) -> None:
        self.id = inp.id
        self.type = inp.type
        self.unit = find_unit(inp.unit) if inp.unit else None
        self.dimension = inp.dimension or {"percent": "percent"}.get(inp.type, "number")
        names = inp.accepted_units or ()
        wanted = {find_unit(n) for n in names} - {None} if names else None
        self.accepted = [spelling for spelling, u in UNITS.items()
                         if u.dimension == self.dimension and (wanted is None or u in wanted)]
        self.accepted_units = {id(UNITS[s]) for s in self.accepted}
        to_base = self.unit.to_base if self.unit else (lambda v: v)
        self.min = simplest(to_base(inp.min)) if inp.min is not None else None
        self.max = simplest(to_base(inp.max)) if inp.max is not None else None
        self.fast_ints = self.unit is None or self.unit.to_base(Fraction(7)) == 7
        self.ambiguous_below = inp.ambiguous_below if self.unit is not None else None
        self.meaning = meaning  # what a value in base units means, e.g. its severity band
        self._units: dict[str, Unit | None] = {}  # unit spellings read before, for _quick
        # id(unit) → (quick_number.linear(unit), identity(unit)), for _quick
        self._plans: dict[int, tuple[tuple[int, int, int] | None, bool]] = {}
        # text, or (text, column unit), → what _read gave: (value, as given) or the InputError
        # it raised
        self._cells: dict[Any, Any] = {}
        below = None if self.ambiguous_below is None else Fraction(self.ambiguous_below)
        self._below = None if below is None else (below.numerator, below.denominator)
        self._allowed: str | None = None

    def allowed(self) -> str:
        """'a count from 0 to 100,000 cells/µL (a bare number is in cells/µL; units: ...)'."""
        if self._allowed is None:  # worked out once: every refused value quotes it
            self._allowed = self._describe()
        return self._allowed

    def _describe(self) -> str:
        noun = _NOUN.get(self.dimension, "value")
        unit = self.unit
        rng = ""
        if self.min is not None and self.max is not None:
            low, high = Fraction(self.min), Fraction(self.max)
            if unit is not None:
                low, high = unit.from_base(low), unit.from_base(high)
            sym = (" " + unit.symbol) if unit else ("%" if self.dimension == "percent" else "")
            rng = f" from {format_number(low)} to {format_number(high)}{sym}"
        if self.type == "quantity" and unit is not None:
            rng += f" (a bare number is in {unit.symbol}; units: " \
                   f"{', '.join(self.accepted_spellings())})"
        return f"a {noun}{rng}"

    def accepted_spellings(self) -> list[str]:
        return [s for s in ACCEPTED.get(self.dimension, []) if s in self.accepted
                or any(find_unit(s) is UNITS[a] for a in self.accepted)]

    def read(self, raw: Any) -> tuple[Value, tuple[Exact, Unit | None] | None]:
        kind = self.type
        if kind == "quantity" or kind == "percent" or kind == "number":
            return self._number(raw)
        if kind == "boolean":
            return self._bool(raw), None
        if kind == "symptoms":
            raise AssertionError("symptoms are read by the parser")
        raise InputError(self.id, raw, f"an input of type {kind} (not supported)")

    def _bool(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        # Words (CSV cells, forms) and the numbers 1 and 0; never str() of anything else: a
        # list nested 100,000 deep would raise RecursionError, and [True] is not a yes.
        text = raw.strip().lower() if isinstance(raw, str) else \
            str(raw) if type(raw) is int and raw in (0, 1) else ""
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InputError(self.id, raw, "true or false (yes/no)")

    def _number(self, raw: Any, bare_unit: Unit | None = None, quick: bool = True
                ) -> tuple[Value, tuple[Exact, Unit | None] | None]:
        """``bare_unit``: the unit a batch declared for this column, for numbers written
        without one (no ambiguity then: the unit was written once for the column).
        ``quick=False``: the exact way only, the reference the quick ways are tested against.

        A short text is read once: _read is a pure function of (text, column unit), so its
        answer, or its error, is kept and given again (bounded: _MAX_CELLS per input)."""
        if type(raw) is not str or len(raw) > _MAX_CELL_TEXT or not quick:
            return self._read(raw, bare_unit, quick)
        key: Any = raw if bare_unit is None else (raw, bare_unit)  # a str is never a tuple
        known = self._cells.get(key)
        if known is None:
            return remember(self._cells, key, self._read, raw, bare_unit, quick)
        if type(known) is not tuple:
            raise _again(known)
        return known

    def _read(self, raw: Any, bare_unit: Unit | None, quick: bool
              ) -> tuple[Value, tuple[Exact, Unit | None] | None]:
        unit = self.unit
        given: Exact
        below = self.ambiguous_below
        if quick and type(raw) is int and self.fast_ints and -_INT_LIMIT < raw < _INT_LIMIT \
                and bare_unit is None and (below is None or not 0 < raw < below):
            value: Exact = raw
            given = raw
        elif quick and (fast := self._quick(raw, bare_unit)) is not None:
            value, given, unit = fast
        else:
            try:
                given, written = self._split(raw)
            except UnitError as exc:
                raise InputError(self.id, raw, f"{exc}; give {self.allowed()}") from None
            if written is not None or self.dimension == "percent":
                unit = written
            elif bare_unit is not None:
                unit = bare_unit
            elif below is not None and 0 < given < below:
                self._ambiguous(raw, Fraction(given))
            value = simplest(unit.to_base(given) if unit else given)
        low, high = self.min, self.max
        if quick and type(value) is Fraction and type(low) is int and type(high) is int and \
                value.denominator != 1:
            # Not whole, between whole bounds: its floor decides, in ints (a Fraction compare
            # costs a microsecond): below low iff floor < low, above high iff floor >= high.
            # quick=False compares the Fractions: the reference test_quick_number holds it to.
            floor = value.numerator // value.denominator
            outside = floor < low or floor >= high
        else:
            outside = (low is not None and value < low) or (high is not None and value > high)
        if outside:
            column = f"; this column's bare numbers are in {bare_unit.symbol}" if bare_unit else ""
            raise InputError(self.id, raw, self.allowed() + column)
        return value, (given, unit)

    def _quick(self, raw: Any, bare_unit: Unit | None
               ) -> tuple[Exact, Exact, Unit | None] | None:
        """(value, given, unit) as the exact way below gives them, for a plain number whose unit
        has been read before (quick_number.py); None sends anything else the exact way."""
        read = plain(raw)
        if read is None:
            return None
        digits, places, unit_text = read
        written = self._units.get(unit_text, _UNREAD) if unit_text else None
        if written is _UNREAD:
            return None
        if written is not None or self.dimension == "percent":
            unit = written
        elif bare_unit is not None:
            unit = bare_unit
        elif self._below is not None and 0 < digits * self._below[1] < \
                self._below[0] * 10 ** places:
            return None  # the exact way names both readings
        else:
            unit = self.unit
        plan = self._plans.get(id(unit))  # units are module constants: their ids are stable
        if plan is None:
            plan = self._plans[id(unit)] = (linear(unit), identity(unit))
        line, same = plan
        scale = 10 ** places
        if line is None:  # not a linear map: the unit's own exact conversion
            value = to_base(digits, places, unit)
        else:  # (a·digits/scale + b) / d in ints, one Fraction: most cells of a batch
            a, b, d = line
            numerator, denominator = digits * a + b * scale, d * scale
            value = numerator // denominator if numerator % denominator == 0 else \
                Fraction(numerator, denominator)
        # As written; equal to the Fraction the exact way gives (an Exact either way). In a
        # base unit the value is the number as written: no second Fraction.
        return value, digits if places == 0 else value if same else Fraction(digits, scale), unit

    def _ambiguous(self, raw: Any, number: Fraction) -> None:
        """Refuse a bare number that is plausible in another accepted unit, naming each
        reading (with its meaning, e.g. the severity band) and asking for the unit."""
        assert self.unit is not None
        readings = [self._reading(number, self.unit)]
        for spelling in self.accepted:
            other = UNITS[spelling]
            if other is self.unit or any(r[1] is other for r in readings):
                continue
            base = other.to_base(number)
            if (self.min is None or base >= self.min) and (self.max is None or base <= self.max):
                readings.append(self._reading(number, other))
        if len(readings) > 1:
            example = " or ".join(f"'{format_number(number).replace(',', '')} {u.name}'"
                                  for _, u in readings[1:] + readings[:1])
            raise AmbiguousInput(self.id, raw, " or ".join(r[0] for r in readings), example)

    def _reading(self, number: Fraction, unit: Unit) -> tuple[str, Unit]:
        base = unit.to_base(number)
        text = f"{format_number(number)} {unit.symbol}"
        if self.unit is not None and unit is not self.unit:
            text += f" = {format_number(self.unit.from_base(base))} {self.unit.symbol}"
        if self.meaning is not None:
            text += f" ({self.meaning(base)})"
        return text, unit

    def _split(self, raw: Any) -> tuple[Fraction, Unit | None]:
        """The number and the unit written with it (None when none was written)."""
        unit_text = ""
        if isinstance(raw, Mapping):
            extra = set(raw) - {"value", "unit"}
            if extra or "value" not in raw:
                raise UnitError("write {value: 0.8, unit: '10^9/L'}")
            number, unit_text = exact(raw["value"]), raw.get("unit") or ""
            if not isinstance(unit_text, str):
                raise UnitError(f"the unit must be written as text, such as '10^9/L', not "
                                f"{show_value(unit_text)}")
        elif isinstance(raw, str):
            number, unit_text = split_quantity(raw)
        else:
            number = exact(raw)
        if not unit_text:
            return number, None
        return number, self._unit_of(unit_text)

    def _unit_of(self, unit_text: str) -> Unit | None:
        unit = find_unit(unit_text) if len(unit_text) <= MAX_TEXT else None
        if unit is None or id(unit) not in self.accepted_units:
            if self.dimension == "percent" and unit_text.strip() == "%":
                unit = None  # percent inputs hold the number itself
            else:
                shown = show_value(unit_text)
                raise UnitError(f"unknown unit '{shown}'" if unit is None else
                                f"'{shown}' is a unit for "
                                f"{_NOUN.get(unit.dimension, 'another')} values")
        if len(self._units) < _MAX_SPELLINGS:  # spaces can be put anywhere: keep a few
            self._units[unit_text] = unit
        return unit
