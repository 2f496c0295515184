"""Writing a batch's rows: CSV or JSON Lines, the input cells then the decisions of each row.

A million rows go through here, so the cells of a decision are worked out once per distinct
decision (there are few) and each CSV row is one write: its cells joined by commas, quoted as
csv.writer quotes them.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from fractions import Fraction
from typing import Any, Mapping, NamedTuple, Sequence, TextIO

from neutropenia_kb.core.json_text import dumps
from neutropenia_kb.core.units import MAX_DIGITS, MAX_EXPONENT, Unit, _decimal_places, json_number
from neutropenia_kb.engine.evaluate import Evaluator, Result

RESULT_COLUMNS = ("severity", "urgency", "urgency_certain", "settle_with", "anc_cells_per_ul",
                  "fever", "scope_warnings", "advice_ids", "error")
_MAX_PLACES = 2 * (MAX_DIGITS + MAX_EXPONENT)  # units._decimal_places looks no further
_MAX_DECISIONS = 4096  # distinct decisions kept: a knowledge base has a few dozen
# Region keys kept: every combination of regions a feed meets (about 10,000 for the random
# rows of tests/engine/sql_rows.py); each holds a few shared strings.
_MAX_REGIONS = 65_536


class Row(NamedTuple):
    """One row as read: its physical line, its cells by column, and why it could not be read."""

    line: int
    data: dict[str, Any]
    error: str | None = None
    # A CSV row as read: its cells in the order of ``columns`` (batch.Rows' header list), so
    # the writer can echo them without looking each one up again.
    cells: Sequence[str] | None = None
    columns: Sequence[str] | None = None


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):  # passthrough values such as an id keep their digits
        return int(value) if value == value.to_integral_value() else str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return ";".join(value)
    if isinstance(value, (list, tuple, dict)):
        return dumps(value, default=_json_default)
    return str(value)


def result_fields(result: Result | None, error: str | None) -> dict[str, Any]:
    if result is None:
        return {name: None for name in RESULT_COLUMNS[:-1]} | {"error": error}
    return result.decision_json() | {"error": None}


_NO_RESULT = [""] * (len(RESULT_COLUMNS) - 1)


def decision_cells(result: Result) -> tuple[list[str], str, str, str]:
    """A result's cells other than the count and settle_with, as a CSV row has them:
    ([severity, urgency, urgency_certain], fever, scope_warnings, advice_ids)."""
    fields = result.decision_json()
    return ([_cell(fields["severity"]), _cell(fields["urgency"]), _cell(fields["urgency_certain"])],
            _cell(fields["fever"]), _cell(fields["scope_warnings"]), _cell(fields["advice_ids"]))


class Writer:
    """``written(data, units)`` evaluates one row's cells into what ``write`` writes (call it
    where a fault in it is caught as the row's); ``write(row, written, error)`` writes one
    row."""

    def __init__(self, stream: TextIO, fmt: str, columns: Sequence[str],
                 units: Mapping[str, Unit], evaluator: Evaluator) -> None:
        self.stream = stream
        self.fmt = fmt
        self.inputs = list(columns)
        self.units = units  # echoed in the header, so the bare numbers are read as they were
        self.csv: Any = None
        self._end = "\r\n"  # the csv writer's line ending, once it is made
        self.evaluator = evaluator
        self.anc_input = evaluator.kb.severity.input  # its count is the anc column
        self.key = evaluator.region_key
        self._decisions: dict[tuple[Any, ...], tuple[list[str], str, str, str]] = {}
        # region key → the decision's cells; exact: the key fixes every decision (regions.py)
        self._by_region: dict[Any, tuple[list[str], str, str, str, str]] = {}
        self._anc: dict[Any, str] = {}  # count → its cell, for counts that are not whole
        self._columns: Sequence[str] | None = None  # the header whose cells rows echo as read

    def written(self, data: Mapping[str, Any], units: Mapping[str, Unit] | None) -> Any:
        evaluator = self.evaluator
        if self.fmt == "jsonl":
            return result_fields(evaluator.evaluate(data, units), None)
        parsed = evaluator.parse(data, units)
        values = parsed.values
        key = self.key(values) if self.key is not None else None
        known = self._by_region.get(key) if key is not None else None
        if known is None:
            known = self._decided(evaluator.decide(parsed))
            if key is not None:
                if len(self._by_region) >= _MAX_REGIONS:
                    self._by_region.clear()
                self._by_region[key] = known
        head, settle, fever, scope, advice = known
        anc = values.get(self.anc_input)
        if anc is None:
            count = ""
        elif type(anc) is int:
            count = str(anc)  # what json_number and _cell make of a whole count
        else:
            count = self._anc.get(anc) or self._anc_cell(anc)
        return [*head, settle, count, fever, scope, advice, ""]

    def _decided(self, result: Result) -> tuple[list[str], str, str, str, str]:
        """The cells of a result other than the count: those of each distinct decision are
        worked out once, settle_with by the result's own search."""
        decision = result.decision
        # What the cells depend on besides the ANC and settle_with (as decision_json has them).
        key = (result.severity, result.urgency, result.urgency_certain, result.fever,
               result.advice_ids, decision.scope)
        known = self._decisions.get(key)
        if known is None:
            if len(self._decisions) >= _MAX_DECISIONS:
                self._decisions.clear()
            known = self._decisions[key] = decision_cells(result)
        head, fever, scope, advice = known
        settle = () if result.urgency_certain else result.settle_with
        return head, ";".join(settle), fever, scope, advice

    def _anc_cell(self, anc: Any) -> str:
        """As Result.anc_cells_per_ul and decision_json write a count that is not whole."""
        if len(self._anc) >= _MAX_DECISIONS:
            self._anc.clear()
        text = self._anc[anc] = _decimal_text(anc) or _cell(_decimal(anc) or
                                                            json_number(Fraction(anc)))
        return text


    def _header(self) -> None:
        # An input key named like an output column (possible in JSON Lines) keeps its values
        # under a marked name rather than being overwritten by the result.
        taken = {"line", *RESULT_COLUMNS}
        header = ["line", *(f"{k} (input)" if k in taken else
                            f"{k} [{self.units[k].name}]" if k in self.units else k
                            for k in self.inputs), *RESULT_COLUMNS]
        self.csv = csv.writer(self.stream)
        self._end = self.csv.dialect.lineterminator
        self.csv.writerow(header)

    def finish(self) -> None:
        """After the last row: a CSV file of no rows still gets its header when its columns
        are known (a CSV's header), as the DuckDB and Spark engines write it."""
        if self.fmt == "csv" and self.csv is None and self.inputs:
            self._header()

    def write(self, row: Row, written: Any, error: str | None) -> None:
        if self.fmt == "jsonl":
            fields = result_fields(None, error) if error is not None else written
            out = {"line": row.line}
            if "id" in row.data:
                out["id"] = row.data["id"]
            out.update(fields)
            self.stream.write(dumps(out, default=_json_default) + "\n")  # exact numbers
            return
        if self.csv is None:
            if not self.inputs:  # rows given without their columns: the first row's keys
                self.inputs = list(row.data)
            self._header()
        raw = row.cells
        if raw is not None and row.columns is not self._columns:
            if list(row.columns or ()) == self.inputs:  # once per header list
                self._columns = row.columns
            else:
                raw = None
        if raw is not None:
            cells = [str(row.line), *raw]
        else:
            data = row.data
            cells = [str(row.line), *(c if type(c) is str else _cell(c)
                                      for c in map(data.get, self.inputs))]
        if error is not None:
            cells += _NO_RESULT
            cells.append(error)
        else:
            cells += written
        # As csv.writer writes it (QUOTE_MINIMAL): a cell is quoted only when it holds a comma,
        # a quote or a line break, a quote inside doubled. Joining here costs a tenth of
        # writerow, which examines every character through the dialect's rules (a sixth of a
        # batch's time). Every cell is a str: the count of commas shows none is inside a cell.
        text = ",".join(cells)
        if text.count(",") != len(cells) - 1 or '"' in text or "\r" in text or "\n" in text:
            text = ",".join([_quoted(cell) for cell in cells])
        self.stream.write(text + self._end)


def _quoted(cell: str) -> str:
    if "," in cell or '"' in cell or "\r" in cell or "\n" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _scaled(value: Fraction) -> tuple[int, int] | None:
    """(value × 10^places, places) for a value whose decimal ends (units._decimal_places: from
    the denominator's factors, not json_number's trial multiplications); None for any other
    value."""
    places = _decimal_places(value)
    if places is None:
        return None
    return value.numerator * 10**places // value.denominator, places  # whole: exact


def _decimal(value: Fraction) -> Decimal | None:
    """json_number's Decimal for a value whose decimal ends; None for any other value
    (json_number then writes it)."""
    found = _scaled(value)
    if found is None:
        return None
    scaled, places = found
    return Decimal((0 if scaled >= 0 else 1, tuple(map(int, str(abs(scaled)))), -places))


def _decimal_text(value: Fraction) -> str | None:
    """str(_decimal(value)) written from the digits, without building the Decimal (a count's
    cell on every row whose count is not whole); None where that would be in exponent form
    (Decimal writes 5E-7 when the point is more than six places left of the first digit) or
    _decimal gives None."""
    found = _scaled(value)
    if found is None:
        return None
    scaled, places = found
    digits = str(abs(scaled))
    point = len(digits) - places  # Decimal's "leftdigits": where the point goes
    if point <= -6:
        return None
    sign = "-" if scaled < 0 else ""
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    return f"{sign}{digits[:point]}.{digits[point:]}"
