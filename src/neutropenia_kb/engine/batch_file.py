"""A batch file (CSV or JSON Lines) evaluated row by row into a file or a stream.

Streams: a million rows never sit in memory. The output never replaces the input and is
written whole or not at all (core/output_files). Each bad row is written with its error; the
returned Summary says how many, for the caller to report.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO, Callable, Mapping, TextIO

from neutropenia_kb.core.output_files import atomic_output, check_target
from neutropenia_kb.core.problems import UsageError
from neutropenia_kb.engine.batch import Rows, Summary, accepted_columns, column_units, format_of, jsonl_columns, run
from neutropenia_kb.engine.evaluate import Evaluator


def evaluate_file(evaluator: Evaluator, path: Path, fmt: str, output: Path | None, stdout: TextIO,
                  on_row: Callable[[], None] | None = None,
                  option_units: Mapping[str, str] | None = None) -> Summary:
    """Evaluate the batch ``path`` (format ``fmt``) into ``output`` (its format from its
    extension), or into ``stdout`` in ``fmt`` when there is no output file. ``on_row`` is called
    after each row (a progress bar), only when writing a file. ``option_units`` gives the unit
    of a column's bare numbers (``--unit anc=10^9/L``), as a header ``anc [10^9/L]`` may."""
    out_format = format_of(str(output)) if output else fmt
    if out_format is None:
        raise UsageError(f"-o {output}: a batch is written as .csv or .jsonl")
    if output is not None:
        check_target(output, [path])  # before anything is read or written
    with ExitStack() as stack:
        try:
            source: BinaryIO = stack.enter_context(path.open("rb"))
        except OSError as exc:
            raise UsageError(f"cannot read '{path}': {exc.strerror}") from None
        columns: list[str] = []
        if fmt == "jsonl" and out_format == "csv":
            # CSV needs every column before the first row: a first pass over the file (a pipe
            # is spooled to a temporary file first, so that it can be read twice).
            if not source.seekable():
                spool = stack.enter_context(tempfile.TemporaryFile())
                shutil.copyfileobj(source, spool)
                source = spool
            source.seek(0)
            columns = jsonl_columns(source)
            source.seek(0)
        rows = Rows(source, fmt, accepted_columns(evaluator), path)
        units = column_units(evaluator, rows.units, dict(option_units or {}))
        columns = rows.columns or columns
        if output is None:
            return run(evaluator, rows, stdout, out_format, columns, source=path, units=units)
        with atomic_output(output) as out:
            return run(evaluator, rows, out, out_format, columns, on_row=on_row, source=path,
                       units=units)
