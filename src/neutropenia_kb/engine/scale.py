"""Running the rules over whole files: DuckDB embedded (the SQL backend), Spark, or Python.

Every engine writes the rows batch.py writes, in the same order, with the same errors. DuckDB
streams (COPY … TO) under a memory limit; rows whose numbers carry more than SCALE decimals into
arithmetic, or whose bad symptom wants a "did you mean", are answered by the Python engine
through a UDF (sql_backend.Query.exact_flag), so every answer stays the exact one.
"""

from __future__ import annotations

import functools
import heapq
import importlib.util
import io
import json
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence, cast

from neutropenia_kb.core.output_files import atomic_path
from neutropenia_kb.core.problems import Problem, UsageError, did_you_mean, render_all
from neutropenia_kb.engine.batch import (
    KEEP_ERRORS,
    MAX_ERROR_CHARS,
    RESULT_COLUMNS,
    Rows,
    Summary,
    accepted_columns,
    check_header,
)
from neutropenia_kb.engine.batch_write import Writer
from neutropenia_kb.engine.evaluate import evaluator_for
from neutropenia_kb.engine.sql_backend import compile_sql
from neutropenia_kb.engine.sql_cells import Lookup, Source, Wording
from neutropenia_kb.engine.sql_lookup import OPTIONS, cell_lookup, copy_out, ordered_copy, quote
from neutropenia_kb.engine.sql_settle import DECIDED, decide_function, region_parts, settle_function

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase

FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# Measured on this 2-core machine (lab feed, CSV to CSV, best of 3, in fresh processes):
# DuckDB's start-up (about 1.4 s: its import, sqlglot, the cell lookups, planning) is paid
# back from some 40,000 rows. CPU s, Python engine against DuckDB: 10,000 rows 0.59 / 1.55,
# 20,000 1.01 / 1.67, 40,000 (1.3 MiB) 1.95 / 1.87, 80,000 3.61 / 2.30. 1.5 MiB is about
# 45,000 rows.
DUCKDB_FROM_BYTES = 3 * 512 * 1024
# DuckDB holds finished row groups to write them in order, up to this limit. Side by side on
# 3 and 10 million lab rows, 512 MB ran as fast as 1 GB (10M: 100.1 against 99.4 s) with a
# peak of 591 against 918 MiB (446, 517, 591 MiB at 1, 3, 10 million rows); 384 MB was 25 %
# slower and 256 MB 90 % slower (it spills).
MEMORY_LIMIT = "512MB"
# rows per row group of the temporary files: each thread reads one at a time, and DuckDB
# holds a few finished ones in memory to write them in order (100,000: 695 MiB peak at
# 1,000,000 rows; 20,480: 510 MiB, as fast)
ROW_GROUP = 20_480


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"'{path}': give a .csv, .jsonl or .parquet file")
    return fmt


def _csv_header(path: Path, kb: "KnowledgeBase") -> list[str]:
    with path.open("rb") as stream:
        rows = Rows(stream, "csv", accepted_columns(evaluator_for(kb)), path)
    if rows.units:  # the SQL reads a bare number in the input's default unit only
        raise UsageError(f"{path}: units in the header ({', '.join(sorted(rows.units))}) are "
                         "read by --engine python only")
    return rows.columns


class NotRowForRow(UsageError):
    """A CSV an SQL engine would read in other rows than the Python engine does: a blank line,
    a cell over two lines, a row of more or fewer cells than the header, bytes that are not
    UTF-8, a carriage return inside a line. The Python engine reads it row by row and words
    each bad row; `nkb evaluate` hands such a file to it."""


def count_lines(path: Path) -> int:
    """The lines of a CSV as batch.py numbers them: its newlines, one more for an unfinished
    last line, less the blank lines at its end (no engine reads them). Counted in 16 MiB
    blocks (~0.07 s for 1,000,000 lab rows)."""
    lines, tail = 0, b""
    with path.open("rb") as stream:
        while block := stream.read(1 << 24):
            lines += block.count(b"\n")
            tail = (tail + block[-65536:])[-65536:]
    text = tail.rstrip(b" \t\r\n\x0b\x0c")
    if len(text) == len(tail):  # an unfinished last line with something on it
        return lines + 1
    # past the last character: the newline that ends its line, then one per blank line
    return lines - max(tail.count(b"\n", len(text)) - 1, 0)


def csv_trouble(kb: "KnowledgeBase", path: Path) -> str | None:
    """Why an SQL engine's CSV reader could read ``path`` in other rows than batch.py (the
    first line that shows it), or None: a line batch.py skips as blank or cannot split into
    the header's cells (a quote left open, more or fewer cells, bytes that are not UTF-8, an
    over-long line or cell), a carriage return or a NUL inside a cell. Spark, which reads a bad
    line its own way rather than refusing it, asks this first; batch.py's own reader, so
    about 1.5 s for 1,000,000 rows."""
    with path.open("rb") as stream:
        rows = Rows(stream, "csv", accepted_columns(evaluator_for(kb)), path)
        expected = 2  # the line after the header, which a blank line before it would move
        for row in rows:
            if row.line != expected:
                return f"line {expected} is blank"
            if row.error is not None:
                return f"line {row.line}: {row.error}"
            for cell in row.cells or ():
                if "\r" in cell:
                    return f"line {row.line} has a carriage return inside a cell"
                if "\x00" in cell:  # Spark's CSV reader drops it
                    return f"line {row.line} has a NUL character inside a cell"
            expected = row.line + 1
    return None


def auto_engine(kb: "KnowledgeBase", path: Path, target: Path, units: bool) -> str:
    """The engine of `nkb evaluate FILE -o OUT` when none is named: "duckdb" for a CSV-to-CSV
    batch of at least DUCKDB_FROM_BYTES with a header DuckDB can use (no units in it or by
    --unit), with DuckDB installed; "python" for everything else, which it reads and words as
    it always has. A file DuckDB then finds it would not read row for row as batch.py does
    (run_duckdb's NotRowForRow) goes to the Python engine too."""
    from neutropenia_kb.core.problems import NkbError

    if units or path.suffix.lower() != ".csv" or target.suffix.lower() != ".csv":
        return "python"
    try:
        if path.stat().st_size < DUCKDB_FROM_BYTES:
            return "python"
        import duckdb  # noqa: F401 (the scale extra)
    except (OSError, ImportError):
        return "python"
    try:
        _csv_header(path, kb)
    except (OSError, NkbError):
        return "python"  # the Python engine reports the problem in its own words
    return "duckdb"


def connect(kb: "KnowledgeBase", memory_limit: str = MEMORY_LIMIT, threads: int | None = None,
            progress: bool = False, functions: bool = True) -> Any:
    """A DuckDB connection for the query, with its functions (``functions``; else
    add_functions later: registering the first one imports numpy)."""
    import duckdb

    # DuckDB's progress bar (on by default) prints to standard output: only when asked
    # (nkb evaluate on a terminal), never into a file or pipe a library's caller reads
    con = duckdb.connect(config={"memory_limit": memory_limit,
                                 "preserve_insertion_order": True})
    for option in ("enable_progress_bar", "enable_progress_bar_print"):
        con.execute(f"SET {option} = {str(progress).lower()}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    # The query runs on every thread, and DuckDB keeps the rows' order through scans and
    # projections, not joins: its optimizer turns an IN list of 6 or more constants (the
    # yes/no words) into a join, which put whole blocks of rows out of place. Kept as IN, the
    # plan is scans and projections only (tests/engine/test_sql_backend.py checks it).
    con.execute("SET disabled_optimizers = 'in_clause'")
    if functions:
        add_functions(kb, con)
    return con


def add_functions(kb: "KnowledgeBase", con: Any) -> None:
    """The Python functions the query calls (the rare rows' words and decisions)."""
    symptoms = sorted(evaluator_for(kb).parser.symptoms)

    # pure (one knowledge base's symptom ids), and the same few misspellings recur in a feed;
    # bounded, so a file of all-distinct bad items costs memory no more than 4,096 entries
    @functools.lru_cache(maxsize=4096)
    def hint(item: str) -> str:
        return did_you_mean(item, symptoms)

    con.create_function("nkb_hint", hint, ["VARCHAR"], "VARCHAR", side_effects=False)
    con.create_function("nkb_settle", settle_function(evaluator_for(kb)), ["VARCHAR"], "VARCHAR",
                        side_effects=False)
    if by_region(kb):
        struct = "STRUCT(" + ", ".join(f"{name} VARCHAR" for name in DECIDED) + ")"
        # type: the stubs name an enum whose module moved between versions; the text works in all
        con.create_function("nkb_decide", decide_function(evaluator_for(kb)), ["BIGINT"], struct,
                            type=cast(Any, "arrow"), side_effects=False)


def duckdb_query(kb: "KnowledgeBase", relation: str, columns: Sequence[str],
                 passthrough: Sequence[str], lookup: Lookup | None = None) -> str:
    """The SQL text for DuckDB over ``relation`` (with a ``line`` column)."""
    from sqlglot import exp

    evaluator = evaluator_for(kb)
    program = evaluator.program
    inputs = [c for c in columns if c in evaluator.parser.specs]
    source = Source(exp.to_table(relation), tuple(inputs), "line", tuple(passthrough),
                    ordered=False)
    select = compile_sql(program, Wording.of(evaluator.parser), source, "duckdb", hint="nkb_hint",
                         settle="nkb_settle", lookup=lookup,
                         decide="nkb_decide" if by_region(kb) else None)
    return select.sql(dialect="duckdb", copy=False)


class PythonRows:
    """The Python engine's result cells for the rows the SQL hands it, as batch.py writes them
    (its Writer, which keeps each region key's decision), as JSON text: names, cells → text."""

    def __init__(self, kb: "KnowledgeBase") -> None:
        self.writer = Writer(io.StringIO(), "csv", [], {}, evaluator_for(kb))

    def __call__(self, names: Sequence[str], cells: Sequence[Any]) -> str:
        from neutropenia_kb.core.problems import InputError, show_value

        data = {k: ("" if v is None else v) for k, v in zip(names, cells)}
        try:
            out = self.writer.written(data, None)
        except InputError as exc:
            out = [""] * (len(RESULT_COLUMNS) - 1) + [show_value(str(exc), MAX_ERROR_CHARS)]
        return json.dumps(out)


def run_duckdb(kb: "KnowledgeBase", path: Path, target: Path, memory_limit: str = MEMORY_LIMIT,
               threads: int | None = None, progress: bool = False) -> Summary:
    """Evaluate every row of ``path`` into ``target`` (CSV, JSON Lines or Parquet by suffix);
    returns what batch.run returns: the rows, the rows with an error and the first of them by
    line, so `nkb evaluate` reports a file the same way whichever engine read it.
    ``progress``: DuckDB's progress bar on standard output (a terminal's). The file is
    written whole or not at all (DuckDB writes a temporary file renamed onto ``target``); a
    CSV that DuckDB would not read row for row as the Python engine does raises NotRowForRow
    before anything is written."""
    in_fmt, out_fmt = file_format(path), file_format(target)
    if in_fmt not in ("csv", "parquet"):
        raise UsageError("JSON Lines go through --engine python")
    # the functions are added once the file is read (_numbered)
    con = connect(kb, memory_limit, threads, progress, functions=False)
    try:
        with atomic_path(target) as written:
            return _numbered(kb, con, path, written, in_fmt, out_fmt)
    finally:
        con.close()


def _import_modules() -> None:
    try:
        import numpy  # noqa: F401
        import pyarrow.compute  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:  # then DuckDB says so, or the rules are judged in SQL (by_region)
        pass


def by_region(kb: "KnowledgeBase") -> bool:
    """Whether the query decides once per region key through nkb_decide: when the rules read
    inputs only by region (sql_settle.region_parts) and pyarrow is there for the function."""
    return region_parts(evaluator_for(kb).program) is not None and \
        importlib.util.find_spec("pyarrow") is not None


def _numbered(kb: "KnowledgeBase", con: Any, path: Path, target: Path, in_fmt: str,
              out_fmt: str) -> Summary:
    """The view ``src`` over ``path`` (``line`` and the cells as text), then the query."""
    # Counting a CSV row's line by ROW_NUMBER() OVER () (a streaming window) puts the whole
    # query on one thread. So the cells are first written, in order (~1.4 µs a row), to a
    # temporary Parquet file, whose row numbers are the lines and whose row groups the query
    # reads on every thread. The file goes next to the target (the system's temp may be in
    # memory) and is removed; both steps stream.
    with tempfile.TemporaryDirectory(prefix=".nkb-", dir=target.parent) as tmp:
        if in_fmt == "csv":
            names = _csv_header(path, kb)
            types = ", ".join(f"'{n}': 'VARCHAR'" for n in names)
            numbered = Path(tmp) / "lines.parquet"
            # The functions' modules (numpy, which DuckDB imports for the first; pyarrow) take
            # ~0.35 s to import: on a thread of their own while DuckDB, which lets go of
            # Python's lock, copies the file
            threading.Thread(target=_import_modules, daemon=True).start()
            _copy_rows(con, path, types, numbered)
            # the file's rows in order (a batch copy): row n of it is line n + 2 of the CSV
            con.execute("CREATE VIEW src AS SELECT file_row_number + 2 AS line, * FROM "
                        f"read_parquet('{quote(str(numbered))}', file_row_number = true)")
        else:
            con.execute(f"CREATE VIEW raw AS SELECT * FROM read_parquet('{quote(str(path))}')")
            names = [r[0] for r in con.execute("DESCRIBE raw").fetchall()]
            problems = check_header(names, accepted_columns(evaluator_for(kb)), path, 1)
            if problems:
                raise UsageError(f"{path}: the columns cannot be used; nothing was evaluated:\n"
                                 + render_all(problems))
            cast = ", ".join(f'CAST("{n}" AS VARCHAR) AS "{n}"' for n in names)
            # file_row_number counts from 0 and, unlike ROW_NUMBER() OVER (), lets every
            # thread read
            con.execute(f"CREATE VIEW src AS SELECT file_row_number + 1 AS line, {cast} FROM "
                        f"read_parquet('{quote(str(path))}', file_row_number = true)")
        add_functions(kb, con)
        return _evaluate(kb, con, names, path, target, out_fmt, Path(tmp))


def _copy_rows(con: Any, path: Path, types: str, numbered: Path) -> None:
    """The CSV's cells, in order, into the Parquet file ``numbered``; NotRowForRow unless each
    of its lines (but the header) is one row of it, as batch.py reads them. DuckDB refuses a
    row of more or fewer cells, bytes that are not UTF-8, a stray carriage return (strict
    mode); it reads a cell over two lines as one and skips a blank line, which the count of
    lines against rows shows."""
    import duckdb

    try:
        copied = con.execute(
            f"COPY (SELECT * FROM read_csv('{quote(str(path))}', header = true, "
            f"columns = {{{types}}}, quote = '\"', escape = '\"', delim = ',', "
            f"auto_detect = false, strict_mode = true)) TO '{quote(str(numbered))}' "
            f"(FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE {ROW_GROUP})").fetchone()
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        # DuckDB's first line names the line ("CSV Error on Line: 7"); the rest is its advice
        raise NotRowForRow(f"{path}: DuckDB cannot read it row by row as the python engine "
                           f"does ({str(exc).splitlines()[0]})") from None
    rows, lines = int(copied[0]) if copied else 0, count_lines(path)
    if rows + 1 != lines:
        raise NotRowForRow(f"{path}: DuckDB reads {rows:,} rows from its {lines - 1:,} lines "
                           "after the header (a blank line or a quoted cell over two lines), "
                           "the python engine one row a line")


def _split(kb: "KnowledgeBase", names: Sequence[str]) -> tuple[list[str], list[str]]:
    """A file's columns: (passed through as they are, the inputs), each in the file's order."""
    specs = evaluator_for(kb).parser.specs
    return [n for n in names if n not in specs], [n for n in names if n in specs]


def _evaluate(kb: "KnowledgeBase", con: Any, names: list[str], path: Path, target: Path,
              out_fmt: str, tmp: Path) -> Summary:
    """run_duckdb's query over the view ``src`` (``line`` and the cells as text) into target."""
    passthrough, inputs = _split(kb, names)
    query = duckdb_query(kb, "src", names, passthrough, cell_lookup(kb, con, "src", inputs))
    arg_names = list(names)  # the whole row: Python's message for an empty row quotes it
    python_rows = PythonRows(kb)
    con.create_function("nkb_python", lambda cells: python_rows(arg_names, cells),
                        ["VARCHAR[]"], "VARCHAR", null_handling="special", side_effects=False)
    args = "[" + ", ".join(f'"{n}"' for n in arg_names) + "]::VARCHAR[]"
    # Each row with an error passes through nkb_seen once (CASE calls it for those rows only):
    # the count and the first KEEP_ERRORS by line without reading the written file back.
    # DuckDB's threads call it in any order, so the lowest lines are kept in a bounded heap.
    summary = Summary()
    first: list[tuple[int, str]] = []  # max-heap by line: (-line, message)
    lock = threading.Lock()

    def seen_error(line: int, text: str) -> str:
        with lock:
            summary.errors += 1
            if len(first) < KEEP_ERRORS:
                heapq.heappush(first, (-line, text))
            elif line < -first[0][0]:
                heapq.heapreplace(first, (-line, text))
        return text

    con.create_function("nkb_seen", seen_error, ["BIGINT", "VARCHAR"], "VARCHAR",
                        side_effects=True)
    fixed = ", ".join(
        f"CASE WHEN exact_in_sql THEN \"{col}\" ELSE NULLIF(json_extract_string(py, '$[{i}]'), '') "
        f"END AS \"{col}\"" for i, col in enumerate(RESULT_COLUMNS))
    fixed = fixed.replace(' AS "error"', ' AS "error0"')
    counted = 'CASE WHEN "error0" IS NOT NULL THEN nkb_seen(line, "error0") END AS "error"'

    keep = ", ".join(f'"{n}"' for n in ["line", *passthrough, *inputs])
    shown = ", ".join(f'"{c}"' for c in RESULT_COLUMNS if c != "error")
    final = (f"SELECT {keep}, {shown}, {counted} FROM (SELECT {keep}, {fixed} FROM (SELECT *, "
             f"CASE WHEN NOT exact_in_sql THEN nkb_python({args}) END AS py FROM ({query}) q) r) e")
    # DuckDB writes Parquet on every thread in the rows' order (its batch copy), but CSV and
    # JSON only in a plain copy, which does not keep the order of a parallel query (seen:
    # whole blocks of 2,048 rows out of place). So those are written to a temporary Parquet
    # file first, then copied out by every thread, each its own stretch of rows, the parts
    # joined in order (sql_lookup.copy_out).
    parquet = f"FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE {ROW_GROUP}"
    direct = f"COPY ({final}) TO '{quote(str(target))}' ({OPTIONS[out_fmt]})"
    # DuckDB (2.0) writes CSV and JSON by a batch copy as it does Parquet, but a version that
    # does not would put the rows out of order: asked of the same scan without the query's
    # projections (which keep the order: test_duckdb_plan_keeps_the_order), to plan it once
    probe = f"COPY (SELECT line FROM src) TO '{quote(str(target))}' ({OPTIONS[out_fmt]})"
    if out_fmt == "parquet" or ordered_copy(con, probe):
        written = con.execute(direct).fetchone()
    else:
        done = tmp / "rows.parquet"
        written = con.execute(f"COPY ({final}) TO '{quote(str(done))}' ({parquet})").fetchone()
        copy_out(con, done, target, out_fmt, int(written[0]) if written else 0, tmp, ROW_GROUP)
    summary.rows = int(written[0]) if written else 0
    summary.first_errors = [Problem(path, -minus, None, f"row {-minus}", text)
                            for minus, text in sorted(first, reverse=True)]
    return summary
