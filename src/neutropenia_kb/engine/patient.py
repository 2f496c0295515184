"""Patient input: from YAML, JSON, CSV cells or a form to exact values in base units.

The forms people write are many ("0.8 x10^9/L", {value: 0.8, unit: G/L}, 800, "100.4 F"); the
mistakes are few and must be named precisely: the field, the value given and what is allowed.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, NamedTuple

from neutropenia_kb.core.problems import InputError, did_you_mean, show_value
from neutropenia_kb.core.units import (
    ACCEPTED,
    MAX_DIGITS,
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
from neutropenia_kb.lang.parse import Arith, Name, Node, parse
from neutropenia_kb.lang.parse import Number as Literal

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import Input, KnowledgeBase

# Row fields that are not clinical inputs and pass through batch files untouched.
PASSTHROUGH = frozenset({"id"})
Number = int | Fraction
Value = Number | bool | frozenset[str]
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
_NOUN = {"cell_count": "count", "temperature": "temperature", "percent": "percent",
         "number": "number"}
_INT_LIMIT = 10 ** (MAX_EXPONENT + 1)  # ints beyond it go through exact(), which refuses them


class Patient(NamedTuple):
    """Immutable; a NamedTuple rather than a frozen dataclass because one is made per row and
    that is measurably cheaper (benchmarks/evaluate.py)."""

    values: Mapping[str, Value]  # base units (cells/µL, °C, %); missing inputs are absent
    given: Mapping[str, tuple[Number, Unit | None]]  # quantities as written, for explanations
    anc_derived: bool  # ANC worked out from wbc and the percentages


class _Spec:
    """How one declared input is read; built once per knowledge base."""

    def __init__(self, inp: "Input") -> None:
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

    def allowed(self) -> str:
        """'a count from 0 to 100,000 cells/µL (a bare number is in cells/µL; units: ...)'."""
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

    def read(self, raw: Any) -> tuple[Value, tuple[Number, Unit | None] | None]:
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

    def _number(self, raw: Any) -> tuple[Value, tuple[Number, Unit | None] | None]:
        unit = self.unit
        given: Number
        if type(raw) is int and self.fast_ints and -_INT_LIMIT < raw < _INT_LIMIT:
            value: Number = raw
            given = raw
        else:
            try:
                given, unit = self._split(raw)
            except UnitError as exc:
                raise InputError(self.id, raw, f"{exc}; give {self.allowed()}") from None
            value = simplest(unit.to_base(given) if unit else given)
        if (self.min is not None and value < self.min) or \
                (self.max is not None and value > self.max):
            raise InputError(self.id, raw, self.allowed())
        return value, (given, unit)

    def _split(self, raw: Any) -> tuple[Fraction, Unit | None]:
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
            return number, self.unit
        unit = find_unit(unit_text) if len(unit_text) <= MAX_TEXT else None
        if unit is None or id(unit) not in self.accepted_units:
            if self.dimension == "percent" and unit_text.strip() == "%":
                return number, None
            shown = show_value(unit_text)
            raise UnitError(f"unknown unit '{shown}'" if unit is None else
                            f"'{shown}' is a unit for {_NOUN.get(unit.dimension, 'another')} "
                            "values")
        return number, unit


class PatientParser:
    """Reads patient mappings for one knowledge base."""

    def __init__(self, kb: "KnowledgeBase") -> None:
        self.specs = {inp.id: _Spec(inp) for inp in kb.inputs}
        self.symptoms = frozenset(s.id for s in kb.symptoms)
        self.anc = kb.severity.input
        self.derived = kb.derived
        self.readers: dict[str, Callable[[Any], tuple[Value, Any]]] = {
            name: (self._symptoms if spec.type == "symptoms" else spec.read)
            for name, spec in self.specs.items()}

    def parse(self, raw: Mapping[str, Any]) -> Patient:
        if not isinstance(raw, Mapping):
            raise InputError("patient", raw, "a mapping of input names to values, e.g. "
                             "{anc: 800, temperature: 38.2}")
        values: dict[str, Value] = {}
        given: dict[str, tuple[Number, Unit | None]] = {}
        readers = self.readers
        for key, item in raw.items():
            reader = readers.get(key)
            if reader is None:
                if key in PASSTHROUGH:
                    continue
                hint = _hint(key, self.specs)
                raise InputError(str(key), item, "it is not an input" + (hint or ".") + " The inputs are "
                    + ", ".join(self.specs))
            if item is None or (type(item) is str and not item):
                if self.specs[key].type == "symptoms" and item == "":
                    values[key] = frozenset()  # an empty CSV cell: no symptom was ticked
                continue
            value, as_given = reader(item)
            values[key] = value
            if as_given is not None:
                given[key] = as_given
        derived = False
        # Derived inputs as inputs.yaml declares them (rules/check.py has checked each formula).
        for fill in self.derived:
            parts = fill.add_up_to_100
            if any(name in values for name in parts):
                total = sum(values.get(name, 0) for name in parts)  # type: ignore[misc]
                if total > 100:
                    raise InputError(" + ".join(parts),
                                     " + ".join(str(raw.get(name)) for name in parts),
                                     "percentages that add up to 100 or less")
            if fill.id not in values and all(name in values for name in fill.when_given):
                known = {name: values.get(name, 0) for name in fill.inputs}
                values[fill.id] = simplest(arithmetic(parse(fill.formula), known))
                derived = derived or fill.id == self.anc
        return Patient(values, given, derived)

    def _symptoms(self, raw: Any) -> tuple[frozenset[str], None]:
        if isinstance(raw, str):
            items = [s for s in raw.replace(";", ",").replace("|", ",").split(",")]
            items = [s.strip() for s in items if s.strip()]
        elif isinstance(raw, (list, tuple, set, frozenset)):
            items = list(raw)
        else:
            raise InputError("symptoms", raw, "a list of symptom ids, e.g. [fever, cough]")
        for item in items:
            if not isinstance(item, str):  # [["fever"]], [{a: 1}], [5]: `in` would not do
                raise InputError("symptoms", raw, "a list of symptom ids (words), e.g. "
                                 f"[fever, cough]; {show_value(item)} is not a word")
            if item not in self.symptoms:
                hint = _hint(item, self.symptoms)
                raise InputError("symptoms", item, "it is not a symptom id" + (hint or ".") + " The symptoms are "
                    + ", ".join(sorted(self.symptoms)))
        return frozenset(items), None


def _hint(word: object, choices: Iterable[str]) -> str:
    """'; did you mean …?' for a name of sensible length: difflib indexes every character of the
    word, so a 1 MB name would take a third of a second to find no match."""
    return did_you_mean(word, choices) if isinstance(word, str) and len(word) <= MAX_TEXT else ""


def read_json(text: str) -> Any:
    """A patient (or a batch line) from JSON, read as YAML is read: numbers exact (Decimal and
    int, never float, so 37.99999999999999999 °C is no fever from either format), NaN and
    Infinity kept as numbers that the field's reader then refuses by name, and a duplicate key
    an error at its line rather than the last value silently winning.

    Raises json.JSONDecodeError, also for a duplicate key and for nesting too deep to read."""
    try:
        return _ExactJSON().decode(text)
    except RecursionError:  # the stack is unwound by now; report it like any syntax error
        raise json.JSONDecodeError("nested too deeply (a patient needs three levels at most, "
                                   "as in {\"anc\": {\"value\": 0.8, \"unit\": \"G/L\"}})",
                                   text, 0) from None


def _json_int(text: str) -> int | Decimal:
    # int() refuses over 4,300 digits (ValueError) and is quadratic below that; Decimal reads
    # any length in linear time, and exact() then refuses it naming the field.
    return int(text) if len(text) <= MAX_DIGITS else Decimal(text)


class _ExactJSON(json.JSONDecoder):
    def __init__(self) -> None:
        super().__init__(parse_float=Decimal, parse_int=_json_int, parse_constant=Decimal)
        # The pure-Python scanner, because it hands each object's text position to
        # parse_object: that is how a duplicate key gets a line. Patient files are small.
        self.parse_object = self._object
        self.scan_once = json.scanner.py_make_scanner(self)  # type: ignore[attr-defined]

    def _object(self, s_and_end: tuple[str, int], strict: bool, scan_once: Any, object_hook: Any,
                object_pairs_hook: Any, memo: Any = None) -> tuple[dict[str, Any], int]:
        starts: list[int] = []

        def value_at(text: str, index: int) -> Any:
            starts.append(index)  # one call per member, in order: the positions of the values
            return scan_once(text, index)

        pairs, end = json.decoder.JSONObject(  # type: ignore[attr-defined]
            s_and_end, strict, value_at, None, list, memo)
        text = s_and_end[0]
        seen: dict[str, int] = {}
        for (key, _), start in zip(pairs, starts):
            start = _key_start(text, start)
            if key in seen:
                first = text.count("\n", 0, seen[key]) + 1
                raise json.JSONDecodeError(
                    f"duplicate key '{show_value(key)}' (first written on line {first}); JSON "
                    "would silently keep only the last one: remove or rename one", text, start)
            seen[key] = start
        return dict(pairs), end


def _key_start(text: str, value_start: int) -> int:
    """Where the key of the value at ``value_start`` opens: back over the ':' and the closing
    quote to the first quote not escaped by a backslash (only whitespace lies between)."""
    quote = text.rindex('"', 0, text.rindex(":", 0, value_start))
    while True:
        quote = text.rindex('"', 0, quote)
        backslashes = quote - len(text[:quote].rstrip("\\"))
        if backslashes % 2 == 0:
            return quote
def arithmetic(node: Node, values: Mapping[str, Any]) -> Fraction:
    """A derived input's formula over exact values in base units. The checker allows only
    names of inputs, literals and + - * / with a nonzero literal divisor, and bounds the depth."""
    if isinstance(node, Literal):
        unit = find_unit(node.unit) if node.unit else None
        return unit.to_base(node.value) if unit else node.value
    if isinstance(node, Name):
        return Fraction(values[node.name])
    if isinstance(node, Arith):
        left, right = arithmetic(node.left, values), arithmetic(node.right, values)
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        return left * right if node.op == "*" else left / right
    raise AssertionError(f"not arithmetic: {node!r}")  # the checker refuses anything else
