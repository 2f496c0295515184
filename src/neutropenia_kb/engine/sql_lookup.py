"""The DuckDB engine's helpers around its one query (engine/scale.py): each distinct cell of an
input read once into a list the query looks up (sql_cells.Lookup), and the finished rows
copied out in order by every thread."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from neutropenia_kb.engine.evaluate import evaluator_for
from neutropenia_kb.engine.sql_backend import cell_table
from neutropenia_kb.engine.sql_cells import CellGroup, Lookup, Source, Wording

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase

# An input with more distinct cells than this is read on every row (cell_lookup): DuckDB
# copies the list of a looked-up input for every chunk of 2,048 rows, which costs about
# 0.17 µs a row for 1,000 cells, 0.6 µs for 4,000, 1.8 µs for 16,000 (8 fields, measured),
# while reading a number cell on its row costs about 2 µs.
MAX_CELLS = 4096


def cell_lookup(kb: "KnowledgeBase", con: Any, relation: str,
                inputs: Sequence[str]) -> Lookup:
    """The inputs whose cells are read once per distinct cell (sql_cells.Lookup), into DuckDB
    variables on ``con``: those not given, and those given with at most MAX_CELLS distinct
    cells. DuckDB copies such a list for every chunk of 2,048 rows it reads, so an input
    with more is read on every row; that also bounds the memory whatever the file."""
    from sqlglot import exp

    evaluator = evaluator_for(kb)
    program, wording = evaluator.program, Wording.of(evaluator.parser)
    counts = con.execute("SELECT " + ", ".join(
        [f'approx_count_distinct("{x}")' for x in inputs] + ["0"]) + f" FROM {relation}"
    ).fetchone()
    # each input looked up has its cells numbered by a DuckDB ENUM of them, the missing cell
    # after the last (code count + 1)
    looked: list[tuple[str, str, int]] = []  # (input, its ENUM type, how many cells)
    for i, (x, guess) in enumerate(zip(inputs, counts)):
        if guess > MAX_CELLS:
            continue
        kind = f"nkb_e{i}"
        con.execute(f'CREATE TYPE {kind} AS ENUM (SELECT DISTINCT "{x}" FROM {relation} '
                    f'WHERE "{x}" IS NOT NULL)')
        looked.append((x, kind, con.execute(f"SELECT len(enum_range(NULL::{kind}))").fetchone()[0]))
    groups = []
    if looked:
        # One query reads every looked-up input's cells (a cell's reading depends on that cell
        # alone): row k holds the k-th cell of each input (NULL past its last, which is also
        # the missing cell's reading), kept in a temporary table, one list per input cut
        # from it. One query to build and plan rather than one per input.
        top = max(count for _x, _k, count in looked) + 1
        cells = ", ".join(f'enum_range(NULL::{kind})[nkb__code] AS "{x}"' for x, kind, _n in looked)
        table = f"(SELECT nkb__code, {cells} FROM range(1, {top + 1}) r(nkb__code))"
        source = Source(exp.maybe_parse(table, dialect="duckdb"), tuple(x for x, _k, _n in looked),
                        "nkb__code")
        only = {x for x, _k, _n in looked}
        select, names = cell_table(program, wording, source, only, hint="nkb_hint")
        con.execute(f"CREATE TEMP TABLE nkb_cell_readings AS {select.sql(dialect='duckdb', copy=False)}")
        for i, (x, kind, count) in enumerate(looked):
            mine = tuple(name for name in names if name.rsplit("__", 1)[0] == x)
            fields = ", ".join(f'"{name}" := "{name}"' for name in mine)
            con.execute(f"SET VARIABLE nkb_cells{i} = (SELECT list(struct_pack({fields}) ORDER BY "
                        f"nkb__code) FROM nkb_cell_readings WHERE nkb__code <= {count + 1})")
            code = f'CAST(enum_code(CAST("{x}" AS {kind})) AS INTEGER) + 1'
            index = f"COALESCE({code}, {count + 1})" if count else "1"
            groups.append(CellGroup(f"nkb_cells{i}", exp.maybe_parse(index, dialect="duckdb"),
                                    mine, frozenset({x})))
    # one group of a single row for all the inputs the file does not give
    absent = {i.id for i in program.inputs} - set(inputs)
    if absent:
        source = Source(exp.maybe_parse("(SELECT 1 AS nkb__code)", dialect="duckdb"), (),
                        "nkb__code")
        select, names = cell_table(program, wording, source, absent, hint="nkb_hint")
        fields = ", ".join(f'"{name}" := "{name}"' for name in names)
        variable = f"nkb_cells{len(groups)}"
        con.execute(f"SET VARIABLE {variable} = (SELECT list(struct_pack({fields})) FROM "
                    f"({select.sql(dialect='duckdb', copy=False)}) q)")
        groups.append(CellGroup(variable, exp.maybe_parse("1", dialect="duckdb"), names,
                                frozenset(absent)))
    return Lookup(tuple(groups))


# CSV lines end in CRLF, as the csv module writes them for the Python engine: the same file
# whichever engine wrote it
OPTIONS = {"csv": "FORMAT csv, HEADER true, NEW_LINE '\\r\\n'", "jsonl": "FORMAT json",
           "parquet": "FORMAT parquet"}


def ordered_copy(con: Any, copy: str) -> bool:
    """Whether DuckDB runs this COPY as a batch copy, which writes the rows in their order
    from every thread (its plan's top operator); otherwise the rows go out through copy_out."""
    plan = con.execute(f"EXPLAIN {copy}").fetchall()
    return any("Batch Copy To File" in str(row[1]).split("\n", 2)[0] for row in plan)


def copy_out(con: Any, done: Path, target: Path, out_fmt: str, rows: int, tmp: Path,
             row_group: int) -> None:
    """The rows of ``done`` (Parquet, in order) into ``target`` as CSV or JSON Lines, in order.
    A plain copy keeps the order on one thread only, so each thread copies its own stretch of
    rows to a part file, and the parts are joined in order."""
    from concurrent.futures import ThreadPoolExecutor

    threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    count = max(1, min(threads, rows // row_group))
    step = -(-rows // count)
    parts = [tmp / f"part{i}" for i in range(count)]

    def part(i: int) -> None:
        # the header once, in the first part
        options = OPTIONS[out_fmt].replace("HEADER true", f"HEADER {str(i == 0).lower()}")
        cursor = con.cursor()
        try:
            cursor.execute(f"COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet("
                           f"'{quote(str(done))}', file_row_number = true) WHERE "
                           f"file_row_number >= {i * step} AND file_row_number < "
                           f"{(i + 1) * step}) TO '{quote(str(parts[i]))}' ({options})")
        finally:
            cursor.close()

    with ThreadPoolExecutor(count) as pool:
        list(pool.map(part, range(count)))  # list(): a part's error is raised here
    with target.open("wb") as out:
        for path in parts:  # the temporary directory removes them
            with path.open("rb") as stream:
                shutil.copyfileobj(stream, out, 1 << 20)


def quote(text: str) -> str:
    """A text inside a SQL string literal."""
    return text.replace("'", "''")
