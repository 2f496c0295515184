"""Patient input: from YAML, JSON, CSV cells or a form to exact values in base units.

The forms people write are many ("0.8 x10^9/L", {value: 0.8, unit: G/L}, 800, "100.4 F"); the
mistakes are few and must be named precisely: the field, the value given and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, NamedTuple

from neutropenia_kb.core.json_text import DuplicateKey, loads
from neutropenia_kb.core.problems import InputError, UsageError, did_you_mean, show_value
from neutropenia_kb.core.units import MAX_DIGITS, MAX_TEXT, Unit, find_unit, simplest

# The number cells' cache (its bound, keeping and fresh errors), for the symptom cells'.
from neutropenia_kb.engine.input_reader import (
    _MAX_CELL_TEXT,
    _MAX_CELLS,
    Exact,
    InputReader,
    Value,
    _again,
    remember,
)
from neutropenia_kb.engine.plausible import check_given
from neutropenia_kb.lang.parse import Arith, Name, Node, parse
from neutropenia_kb.lang.parse import Number as Literal

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase

# Row fields that are not clinical inputs and pass through batch files untouched. `name` and
# `test_date` are printed on a personal leaflet (Patient.details); no rule can read them.
PASSTHROUGH = frozenset({"id", "name", "test_date"})
MAX_NAME = 100
# The word for "no symptoms" in every format; an empty list says the same in YAML and JSON. An
# empty cell, like a missing key, means "not given" (DESIGN.md, "Missing and empty").
NO_SYMPTOMS = "none"


class Patient(NamedTuple):
    """Immutable; a NamedTuple rather than a frozen dataclass because one is made per row and
    that is measurably cheaper (benchmarks/evaluate.py)."""

    values: Mapping[str, Value]  # base units (cells/µL, °C, %); missing inputs are absent
    given: Mapping[str, tuple[Exact, Unit | None]]  # quantities as written, for explanations
    anc_derived: bool  # ANC worked out from wbc and the percentages
    details: Mapping[str, str] = {}  # name, test_date (ISO): printed, never used by rules


class PatientParser:
    """Reads patient mappings for one knowledge base."""

    def __init__(self, kb: "KnowledgeBase") -> None:
        self.specs = {inp.id: InputReader(inp, _band_words(kb) if inp.id == kb.severity.input
                                    else None) for inp in kb.inputs}
        self.symptoms = frozenset(s.id for s in kb.symptoms)
        self.anc = kb.severity.input
        self.derived = kb.derived
        # Numbers straight to the number reader: the call through ``read`` costs per cell.
        self.readers: dict[str, Callable[[Any], tuple[Value, Any]]] = {
            name: (self._symptoms if spec.type == "symptoms" else spec._number
                   if spec.type in ("quantity", "percent", "number") else spec.read)
            for name, spec in self.specs.items()}
        self.formulas = {fill.id: parse(fill.formula) for fill in self.derived}
        self.derive = {fill_id: formula_function(node) for fill_id, node in self.formulas.items()}
        # Per derived input, as sets: the inputs that make it do anything (None when it is
        # worked out for every patient: nothing has to be given), and its percents.
        self._reads = {fill.id: (frozenset((*fill.inputs, *fill.add_up_to_100))
                                 if fill.when_given else None, frozenset(fill.add_up_to_100))
                       for fill in self.derived}
        # Symptom cells read before: a feed repeats the same lists. Bounded in count and
        # length, so all-distinct cells cost one failed lookup.
        self._symptom_cells: dict[str, Any] = {}
        self._unknown_symptoms: dict[str, str] = {}  # item → what is allowed (_not_a_symptom)

    def column_units(self, units: Mapping[str, str]) -> dict[str, Unit]:
        """Check units declared once for a column of a batch (``--unit anc=10^9/L`` or a
        header ``anc [10^9/L]``); raises UsageError naming the input and the units allowed."""
        out: dict[str, Unit] = {}
        for name, text in units.items():
            spec = self.specs.get(name)
            if spec is None or spec.type != "quantity":
                quantities = [n for n, sp in self.specs.items() if sp.type == "quantity"]
                raise UsageError(f"unit for '{show_value(name)}': only these inputs take a "
                                 f"unit: {', '.join(quantities)}"
                                 + (_hint(name, quantities) if spec is None else ""))
            unit = find_unit(text) if len(text) <= MAX_TEXT else None
            if unit is None or id(unit) not in spec.accepted_units:
                raise UsageError(f"unit for '{name}': '{show_value(text)}' is not one of its "
                                 f"units: {', '.join(spec.accepted_spellings())}")
            out[name] = unit
        return out

    def parse(self, raw: Mapping[str, Any], units: Mapping[str, Unit] | None = None) -> Patient:
        """``units``: from column_units, the unit of numbers written without one, per input."""
        if type(raw) is not dict and not isinstance(raw, Mapping):  # typing's check is slow
            raise InputError("patient", raw, "a mapping of input names to values, e.g. "
                             "{anc: 800, temperature: 38.2}")
        values: dict[str, Value] = {}
        given: dict[str, tuple[Exact, Unit | None]] = {}
        details: dict[str, str] = {}
        readers = self.readers
        for key, item in raw.items():
            reader = readers.get(key)
            if reader is None:
                if key in PASSTHROUGH:
                    if key != "id" and item is not None and item != "":
                        details[key] = _read_detail(key, item)
                    continue
                hint = _hint(key, self.specs)
                raise InputError(str(key), item, "it is not an input" + (hint or ".") + " The inputs are "
                    + ", ".join(self.specs))
            if item is None or (type(item) is str and not item.strip()):
                continue  # a missing key, null and an empty cell all mean "not given" (DESIGN.md)
            if units and key in units:
                value, as_given = self.specs[key]._number(item, units[key])
            else:
                value, as_given = reader(item)
            values[key] = value
            if as_given is not None:
                given[key] = as_given
        derived = False
        # Derived inputs as inputs.yaml declares them (rules/check.py has checked each formula).
        for fill in self.derived:
            reads, percents = self._reads[fill.id]
            if reads is not None and reads.isdisjoint(values):
                continue  # nothing to add up, check against or work out from
            parts = fill.add_up_to_100
            if not percents.isdisjoint(values):
                total = sum(values.get(name, 0) for name in parts)  # type: ignore[misc]
                if total > 100:
                    raise InputError(" + ".join(parts),
                                     " + ".join(str(raw.get(name)) for name in parts),
                                     "percentages that add up to 100 or less")
            if fill.id in values:  # given directly: it must be able to be true with the rest
                check_given(fill, self.formulas[fill.id], values, given, raw,
                            self.specs[fill.id].unit)
            elif all(name in values for name in fill.when_given):
                values[fill.id] = self.derive[fill.id](values)
                derived = derived or fill.id == self.anc
        return Patient(values, given, derived, details)

    def _symptoms(self, raw: Any) -> tuple[frozenset[str], None]:
        """A symptom list; a short text is read once (a pure function of the text): its
        answer, or its error, is kept and given again."""
        if type(raw) is not str or len(raw) > _MAX_CELL_TEXT:
            return self._symptom_list(raw)
        known = self._symptom_cells.get(raw)
        if known is None:
            return remember(self._symptom_cells, raw, self._symptom_list, raw)
        if type(known) is not tuple:
            raise _again(known)
        return known

    def _symptom_list(self, raw: Any) -> tuple[frozenset[str], None]:
        if isinstance(raw, str) and raw.strip().lower() == NO_SYMPTOMS:
            return frozenset(), None
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
                raise InputError("symptoms", item, self._not_a_symptom(item))
        return frozenset(items), None

    def _not_a_symptom(self, item: str) -> str:
        """What is allowed instead of ``item``, with a "did you mean" (difflib: a tenth of a
        millisecond, so kept per item: the same few misspellings come back in many lists)."""
        allowed = self._unknown_symptoms.get(item)
        if allowed is None:
            if len(self._unknown_symptoms) >= _MAX_CELLS:
                self._unknown_symptoms.clear()
            allowed = self._unknown_symptoms[item] = (
                "it is not a symptom id" + (_hint(item, self.symptoms) or ".")
                + " The symptoms are " + ", ".join(sorted(self.symptoms)))
        return allowed


def _band_words(kb: "KnowledgeBase") -> Callable[[Fraction], str]:
    """What a count means, for the two readings of an ambiguous number: its band's title."""
    unit = find_unit(kb.severity.unit)
    to_base = unit.to_base if unit else (lambda v: v)
    bands = [(None if b.lower is None else to_base(b.lower),
              None if b.below is None else to_base(b.below), b.title.lower())
             for b in kb.severity.bands]

    def words(value: Fraction) -> str:
        return next((title for low, below, title in bands if (low is None or value >= low)
                     and (below is None or value < below)), "outside the bands")
    return words


def _read_detail(key: str, raw: Any) -> str:
    """A name (printable text, up to MAX_NAME characters) or a test date (YYYY-MM-DD; YAML may
    already have read it as a date)."""
    if key == "name":
        if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_NAME \
                or not raw.isprintable():
            raise InputError(key, raw, f"a name as text, up to {MAX_NAME} characters, on one line")
        return raw.strip()
    if isinstance(raw, dt.datetime) or not isinstance(raw, (str, dt.date)):
        raise InputError(key, raw, "a date written YYYY-MM-DD, e.g. 2026-12-01")
    if isinstance(raw, dt.date):
        return raw.isoformat()
    text = raw.strip()
    # fromisoformat alone would also take '20261201' and week dates
    if len(text) == 10 and text[4] == text[7] == "-":
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise InputError(key, raw, "a date written YYYY-MM-DD, e.g. 2026-12-01")


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
        return loads(text, parse_int=_json_int, parse_constant=Decimal, locate=True)
    except DuplicateKey as exc:
        raise json.JSONDecodeError(
            f"duplicate key '{show_value(exc.key)}' (first written on line {exc.first_line}); "
            "JSON would silently keep only the last one: remove or rename one", text,
            exc.position or 0) from None
    except RecursionError:  # the stack is unwound by now; report it like any syntax error
        raise json.JSONDecodeError("nested too deeply (a patient needs three levels at most, "
                                   "as in {\"anc\": {\"value\": 0.8, \"unit\": \"G/L\"}})",
                                   text, 0) from None


def _json_int(text: str) -> int | Decimal:
    # int() refuses over 4,300 digits (ValueError) and is quadratic below that; Decimal reads
    # any length in linear time, and exact() then refuses it naming the field.
    return int(text) if len(text) <= MAX_DIGITS else Decimal(text)


_Formula = Callable[[Mapping[str, Any]], Exact]
_OPS: dict[str, Callable[[Any, Any], Any]] = {"+": operator.add, "-": operator.sub,
                                              "*": operator.mul}


def formula_function(node: Node) -> Callable[[Mapping[str, Any]], Exact]:
    """A derived input's formula as a function of exact values in base units (an input not
    given counts as 0), giving an int when the value is whole, else a Fraction. Built once from
    the tree: ints stay ints until a division, which is exact (Fraction). The checker allows
    only names of inputs, literals and + - * / with a nonzero literal divisor, and bounds the
    depth."""
    number = _formula(node)

    def value(values: Mapping[str, Any]) -> Exact:
        result = number(values)
        return simplest(result) if type(result) is Fraction else result
    return value


def _formula(node: Node) -> _Formula:
    if isinstance(node, Literal):
        unit = find_unit(node.unit) if node.unit else None
        const = simplest(unit.to_base(node.value) if unit else node.value)
        return lambda values: const
    if isinstance(node, Name):
        name = node.name
        return lambda values: values.get(name, 0)
    if isinstance(node, Arith):
        left, right = _formula(node.left), _formula(node.right)
        if node.op == "/":
            return lambda values: _divide(left(values), right(values))
        op = _OPS[node.op]
        return lambda values: op(left(values), right(values))
    raise AssertionError(f"not arithmetic: {node!r}")  # the checker refuses anything else


def _divide(a: Exact, b: Exact) -> Fraction:
    # int / int would be a float: a Fraction on one side keeps it exact
    if type(a) is int and type(b) is int:
        return Fraction(a, b)
    return (a if isinstance(a, Fraction) else Fraction(a)) / b
