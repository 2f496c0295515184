"""Streaming batches: CSV or JSON Lines in, CSV or JSON Lines out, one row at a time.

Memory stays flat whatever the file size: rows are read, evaluated and written one by one. Every
row is accounted for: a row that cannot be read (bad UTF-8, a broken quote, too many or too few
cells, an oversized line or cell, JSON that is invalid or nested too deep) or evaluated is written
out with its physical line number and its `error` column filled in, and the other rows go on.
A header that cannot be used (a repeated or unknown column) stops the file before any row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Collection, Iterable, Iterator, Mapping, Sequence, TextIO

from neutropenia_kb.core.json_text import DuplicateKey, loads
from neutropenia_kb.core.problems import InputError, Problem, UsageError, did_you_mean, render_all, show_value
from neutropenia_kb.core.units import Unit

# Row, the result columns and cells are written in batch_write.py; callers find them here too.
from neutropenia_kb.engine.batch_write import RESULT_COLUMNS as RESULT_COLUMNS
from neutropenia_kb.engine.batch_write import Row as Row
from neutropenia_kb.engine.batch_write import Writer
from neutropenia_kb.engine.batch_write import _cell as _cell
from neutropenia_kb.engine.batch_write import result_fields as result_fields
from neutropenia_kb.engine.evaluate import Evaluator
from neutropenia_kb.engine.patient import PASSTHROUGH

KEEP_ERRORS = 20  # messages kept for the summary; all bad rows are in the output anyway
# A patient row is a few hundred bytes. Longer lines are skipped in chunks, never held whole;
# cells are held to the csv module's own default limit, which spreadsheet exports stay below.
MAX_LINE_BYTES = 1 << 20
MAX_CELL_CHARS = 131_072
MAX_ERROR_CHARS = 1_000
MAX_NUMBER_DIGITS = 1_000  # JSON integers; Python refuses over 4,300 digits with a bare ValueError


@dataclass
class Summary:
    rows: int = 0
    errors: int = 0
    bugs: int = 0  # rows that raised something other than our own errors (exit status 3)
    first_errors: list[Problem] = field(default_factory=list)


class _Fault(Exception):
    """A row that cannot be read; the message goes into that row's error column."""


def format_of(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return None


def accepted_columns(evaluator: Evaluator) -> list[str]:
    """The column names a batch may have: the knowledge base's inputs and the passthrough ones."""
    return [*sorted(PASSTHROUGH), *evaluator.parser.specs]


def physical_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes without the line ending); None for a line over MAX_LINE_BYTES, which
    is skipped in chunks so that one huge line costs no memory."""
    readline = stream.readline
    number = 0
    while True:
        chunk = readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return
        number += 1
        if number == 1 and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]  # the byte-order mark spreadsheets put first
        if chunk.endswith(b"\n"):
            chunk = chunk[:-2] if chunk.endswith(b"\r\n") else chunk[:-1]
        elif len(chunk) > MAX_LINE_BYTES:
            while chunk and not chunk.endswith(b"\n"):
                chunk = readline(1 << 16)
            yield number, None
            continue
        yield number, chunk


def _decode(raw: bytes | None) -> str:
    if raw is None:
        raise _Fault(f"the line is longer than {MAX_LINE_BYTES:,} bytes; a patient row is a "
                     "few hundred")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        column = len(raw[:exc.start].decode("utf-8", "replace")) + 1
        raise _Fault(f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at column {column}; save "
                     "the file as UTF-8 (CSV UTF-8 in a spreadsheet)") from None


def split_cells(text: str) -> list[str]:
    """The cells of one CSV line (RFC 4180 quoting). A quoted cell must close on its own line:
    no input holds a line break, so a quote left open is one row's fault, not a reason to read
    the rows after it as part of this one."""
    if '"' not in text:
        return text.split(",")
    cells: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            start, parts = i, []
            i += 1
            while True:
                j = text.find('"', i)
                if j < 0:
                    raise _Fault(f"the quote opened at column {start + 1} is not closed on this "
                                 "line (a cell cannot span lines)")
                parts.append(text[i:j])
                if text.startswith('"', j + 1):  # "" inside quotes is one quote character
                    parts.append('"')
                    i = j + 2
                    continue
                i = j + 1
                break
            cells.append("".join(parts))
            if i == n:
                return cells
            if text[i] != ",":
                raise _Fault(f"the quoted cell opened at column {start + 1} goes on after its "
                             f"closing quote (column {i}); quote the whole cell, and write a "
                             "quote inside it as \"\"")
            i += 1
        else:
            j = text.find(",", i)
            if j < 0:
                cells.append(text[i:])
                return cells
            cells.append(text[i:j])
            i = j + 1


def split_header(name: str) -> tuple[str, str | None]:
    """'anc [10^9/L]' → ('anc', '10^9/L'): a column may declare the unit of its bare numbers."""
    if name.endswith("]") and "[" in name:
        column, _, unit = name[:-1].partition("[")
        return column.strip(), unit.strip()
    return name, None


def column_units(evaluator: Evaluator, header: Mapping[str, str],
                 option: Mapping[str, str]) -> dict[str, Unit]:
    """The unit of bare numbers per column, from the header (``anc [10^9/L]``) and from
    ``--unit anc=10^9/L``; raises UsageError for an unknown input or unit, or when the two
    disagree."""
    for name, unit in option.items():
        if name in header and header[name] != unit:
            raise UsageError(f"--unit {show_value(name)}={show_value(unit)} disagrees with the "
                             f"header, which says '{show_value(name)} [{show_value(header[name])}]'")
    return evaluator.parser.column_units({**header, **option})


def check_header(names: Sequence[str], accepted: Collection[str] | None,
                 source: Path | None, line: int) -> list[Problem]:
    """Every problem with a CSV header: a repeated column (which value would count?), an
    unnamed or unknown one (its values would be dropped or make every row fail)."""
    problems = []
    seen: dict[str, int] = {}
    for number, name in enumerate(names, start=1):
        where = f"column {number}"
        if not name:
            problems.append(Problem(source, line, None, where, "the column has no name; name it "
                                    "after an input or delete it"))
        elif name in seen:
            problems.append(Problem(source, line, None, where, f"'{show_value(name)}' repeats "
                                    f"column {seen[name]}; give each input once"))
        elif accepted is not None and name not in accepted:
            problems.append(Problem(source, line, None, where, f"'{show_value(name)}' is not an "
                                    "input" + (did_you_mean(name, accepted) or ".")
                                    + " The columns allowed are: " + ", ".join(accepted)))
        seen.setdefault(name, number)
    return problems


class Rows:
    """The rows of one batch stream. A CSV header is read and checked on creation (UsageError,
    before anything is evaluated); ``columns`` is that header (empty for JSON Lines, whose
    columns ``jsonl_columns`` finds)."""

    def __init__(self, stream: BinaryIO, fmt: str, accepted: Collection[str] | None = None,
                 source: Path | None = None) -> None:
        self.fmt = fmt
        self.lines = physical_lines(stream)
        self.columns: list[str] = []
        self.units: dict[str, str] = {}  # units declared in the header: 'anc [10^9/L]'
        if fmt == "csv":
            self.columns = self._header(accepted, source)

    def _header(self, accepted: Collection[str] | None, source: Path | None) -> list[str]:
        name = str(source) if source is not None else "the batch"
        for number, raw in self.lines:
            if raw is not None and not raw.strip():
                continue
            try:
                split = [split_header(cell.strip()) for cell in split_cells(_decode(raw))]
            except _Fault as exc:
                raise UsageError(f"{name}:{number}: the header cannot be read: {exc}") from None
            names = [column for column, _unit in split]
            self.units = {column: unit for column, unit in split if unit is not None}
            problems = check_header(names, accepted, source, number)
            if problems:
                raise UsageError(f"{name}: the header cannot be used; nothing was evaluated:\n"
                                 + render_all(problems))
            return names
        raise UsageError(f"{name} is empty: a CSV batch starts with a header line naming its "
                         "columns, e.g. id,anc,temperature")

    def __iter__(self) -> Iterator[Row]:
        if self.fmt == "csv":
            return self._csv()
        return self._jsonl()

    def _csv(self) -> Iterator[Row]:
        columns = self.columns
        width = len(columns)
        new = tuple.__new__
        for number, raw in self.lines:
            if raw is not None and not raw.strip():
                continue
            try:
                text = _decode(raw)
                cells = split_cells(text)
                if len(cells) != width:
                    more = len(cells) - width
                    raise _Fault(f"{abs(more)} cell{'s' if abs(more) != 1 else ''} "
                                 f"{'more' if more > 0 else 'fewer'} than the header "
                                 f"({width} column{'s' if width != 1 else ''})")
                if len(text) > MAX_CELL_CHARS:
                    _check_cell_sizes(columns, cells)
            except _Fault as exc:
                yield Row(number, {}, str(exc))
                continue
            # tuple.__new__ builds the NamedTuple without its Python-level __new__
            yield new(Row, (number, dict(zip(columns, cells)), None, cells, columns))

    def _jsonl(self) -> Iterator[Row]:
        for number, raw in self.lines:
            if raw is not None and not raw.strip():
                continue
            try:
                yield Row(number, _json_object(_decode(raw)))
            except _Fault as exc:
                yield Row(number, {}, str(exc))


def _check_cell_sizes(columns: Sequence[str], cells: Sequence[str]) -> None:
    for name, cell in zip(columns, cells):
        if len(cell) > MAX_CELL_CHARS:
            raise _Fault(f"{name}: the cell holds {len(cell):,} characters; at most "
                         f"{MAX_CELL_CHARS:,}")


def _no_constant(name: str) -> Any:
    raise _Fault(f"{name} is not a number a patient input can have")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _Fault(f"a number with {len(text):,} digits; at most {MAX_NUMBER_DIGITS:,}")
    return int(text)


def _json_object(text: str) -> dict[str, Any]:
    """One JSON Lines row, read exactly (decimals as Decimal, as YAML's are)."""
    try:
        value = loads(text, parse_int=_int, parse_constant=_no_constant)
    except DuplicateKey as exc:
        raise _Fault(f"the key '{show_value(exc.key)}' is given twice; give each input "
                     "once") from None
    except json.JSONDecodeError as exc:
        raise _Fault(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise _Fault("the JSON is nested too deeply to read; a patient row is one flat "
                     "object") from None
    except ValueError as exc:
        raise _Fault(f"not valid JSON ({show_value(str(exc))})") from None
    if not isinstance(value, dict):
        raise _Fault("each line must be a JSON object such as {\"anc\": 800}")
    return value


def jsonl_columns(stream: BinaryIO) -> list[str]:
    """Every key of every readable row, in first-seen order: the CSV columns for JSON Lines in
    (a first pass, so a key that only a late row has is not dropped)."""
    seen: dict[str, None] = {}
    for _, raw in physical_lines(stream):
        if raw is None or not raw.strip():
            continue
        try:
            seen.update(dict.fromkeys(_json_object(_decode(raw))))
        except _Fault:
            continue
    return list(seen)


def run(evaluator: Evaluator, rows: Iterable[Row], out: TextIO, fmt: str,
        columns: Sequence[str] = (), on_row: Callable[[], None] | None = None,
        source: Path | None = None, units: Mapping[str, Unit] | None = None) -> Summary:
    """Evaluate every row and write it to ``out`` in ``fmt`` (CSV: the input ``columns``, then
    the results); returns counts and the first errors, placed at ``source``'s lines. Never raises
    for a row: each fault is written in that row."""
    summary = Summary()
    writer = Writer(out, fmt, columns, units or {}, evaluator)
    written = writer.written
    for row in rows:
        summary.rows += 1
        error = row.error
        result: Any = None
        if error is None:
            try:
                result = written(row.data, units)
            except InputError as exc:
                error = str(exc)
            except RecursionError:
                error = "a value is nested too deeply to read; inputs are flat values or lists"
            except MemoryError:
                raise
            except Exception as exc:  # a bug: reported in its row, the batch still goes on
                summary.bugs += 1
                error = (f"internal error (a bug in nkb, not in this row; please report it): "
                         f"{type(exc).__name__}: {show_value(str(exc))}")
        if error is not None:
            error = show_value(error, MAX_ERROR_CHARS)  # a 1 MB value must not give a 1 MB cell
            summary.errors += 1
            if len(summary.first_errors) < KEEP_ERRORS:
                summary.first_errors.append(Problem(source, row.line, None, f"row {row.line}",
                                                    error))
        writer.write(row, result, error)
        if on_row is not None:
            on_row()
    writer.finish()
    return summary
