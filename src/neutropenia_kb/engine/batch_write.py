"""Writing a batch's rows: CSV or JSON Lines, the input cells then the decisions of each row.

A million rows go through here, so the cells of a decision are worked out once per distinct
decision (there are few) and each CSV row is one csv.writer call on a list of strings.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from fractions import Fraction
from typing import Any, Mapping, NamedTuple, Sequence, TextIO

from neutropenia_kb.core.json_text import dumps
from neutropenia_kb.core.units import Unit, json_number
from neutropenia_kb.engine.evaluate import Result

RESULT_COLUMNS = ("severity", "urgency", "urgency_certain", "settle_with", "anc_cells_per_ul",
                  "fever", "scope_warnings", "advice_ids", "error")
_MAX_DECISIONS = 4096  # distinct decisions kept: a knowledge base has a few dozen


class Row(NamedTuple):
    """One row as read: its physical line, its cells by column, and why it could not be read."""

    line: int
    data: dict[str, Any]
    error: str | None = None


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


class Writer:
    """``written(result)`` turns a result into what ``write`` writes (call it where a fault in
    it is caught as the row's); ``write(row, written, error)`` writes one row."""

    def __init__(self, stream: TextIO, fmt: str, columns: Sequence[str],
                 units: Mapping[str, Unit], anc_input: str = "anc") -> None:
        self.stream = stream
        self.fmt = fmt
        self.inputs = list(columns)
        self.units = units  # echoed in the header, so the bare numbers are read as they were
        self.csv: Any = None
        self.anc_input = anc_input  # the severity input, whose count the anc column shows
        self._decisions: dict[tuple[Any, ...], tuple[list[str], str, str, str]] = {}

    def written(self, result: Result) -> Any:
        if self.fmt == "jsonl":
            return result_fields(result, None)
        decision = result.decision
        # What the cells depend on besides the ANC and settle_with (as decision_json has them).
        key = (result.severity, result.urgency, result.urgency_certain, result.fever,
               result.advice_ids, decision.scope)
        known = self._decisions.get(key)
        if known is None:
            if len(self._decisions) >= _MAX_DECISIONS:
                self._decisions.clear()
            fields = result.decision_json()
            known = self._decisions[key] = (
                [_cell(fields["severity"]), _cell(fields["urgency"]),
                 _cell(fields["urgency_certain"])],
                _cell(fields["fever"]), _cell(fields["scope_warnings"]),
                _cell(fields["advice_ids"]))
        head, fever, scope, advice = known
        # Read past the cached properties (anc_cells_per_ul, settle_with): Python 3.11 takes a
        # lock on each first access, a tenth of a row's time.
        anc = result.patient.values.get(self.anc_input)
        settle = () if result.urgency_certain else result.settle_with
        return [*head, ";".join(settle) if settle else "",
                "" if anc is None else _anc_cell(anc), fever, scope, advice, ""]

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
            # An input key named like an output column (possible in JSON Lines) keeps its values
            # under a marked name rather than being overwritten by the result.
            taken = {"line", *RESULT_COLUMNS}
            header = ["line", *(f"{k} (input)" if k in taken else
                                f"{k} [{self.units[k].name}]" if k in self.units else k
                                for k in self.inputs), *RESULT_COLUMNS]
            self.csv = csv.writer(self.stream)
            self.csv.writerow(header)
        data = row.data
        cells = [row.line, *(c if type(c) is str else _cell(c) for c in map(data.get, self.inputs))]
        if error is not None:
            cells += _NO_RESULT
            cells.append(error)
        else:
            cells += written
        self.csv.writerow(cells)


def _anc_cell(anc: Any) -> str:
    if type(anc) is int:
        return str(anc)  # what json_number and _cell make of a whole count
    return _cell(json_number(Fraction(anc)))  # as Result.anc_cells_per_ul and decision_json
