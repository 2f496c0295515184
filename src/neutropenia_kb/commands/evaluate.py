"""`nkb evaluate PATIENT`: one patient (YAML/JSON file or - for stdin) or a batch (CSV/JSONL)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from neutropenia_kb import load
from neutropenia_kb.engine.batch import Rows, Summary, accepted_columns, column_units, format_of, jsonl_columns, run as run_batch
from neutropenia_kb.engine.evaluate import Result
from neutropenia_kb.kb.loader import load_text
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.kb.text import expand
from neutropenia_kb.core.output_files import atomic_output, check_target, write_text
from neutropenia_kb.engine.patient import read_json
from neutropenia_kb.core.units import Unit
from neutropenia_kb.core.json_text import dumps
from neutropenia_kb.core.problems import InputError, Problem, UsageError, render_all, show_value
from neutropenia_kb.kb.text import service_line
from neutropenia_kb.commands import add_rules_option
from neutropenia_kb.engine.scale import run_duckdb, run_spark
from neutropenia_kb.render.summary import summary_text


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="say how severe and how urgent, what to do, and why, for a patient",
        description="Evaluate one patient (a .yaml/.yml/.json file, or - to read YAML or JSON "
        "from stdin) or a batch (.csv or .jsonl, streamed row by row). A bad patient input "
        "exits with status 2 and names the field, the value and what is allowed; in a batch "
        "each bad row is reported by line and written out with an 'error' column (a CSV's "
        "header must name each column once, after an input or 'id'; a quoted cell closes on "
        "its own line). The output never replaces the input and is written whole or not at "
        "all.")
    parser.add_argument("patient", help="patient file (.yaml, .yml, .json), batch file (.csv, "
                        ".jsonl) or - for stdin")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output for one patient: a summary to read (text) or one JSON object")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="write to OUT instead of stdout (a batch's format follows OUT's "
                        "extension: .csv or .jsonl)")
    parser.add_argument("--unit", action="append", default=[], metavar="INPUT=UNIT",
                        help="a batch: the unit of the numbers written without one in a column, "
                        "e.g. --unit anc=10^9/L (a CSV header may say it too: 'anc [10^9/L]'); "
                        "without it a bare count below 100 is refused as ambiguous")
    parser.add_argument("--engine", choices=("python", "duckdb", "spark"), default="python",
                        help="how a batch is run: python (row by row, the reference engine; the "
                        "default), or, experimental, duckdb (the rules as SQL, embedded; also "
                        "reads and writes .parquet) or spark (the same SQL on Spark, see "
                        "--master). The SQL engines do not yet read bare numbers, decimal commas "
                        "and 'none' as version 1.2.0 of the rules does (issue 14): use them only "
                        "on results written with their units")
    parser.add_argument("--master", default="local[*]",
                        help="Spark master URL for --engine spark (default: local[*])")
    parser.add_argument("--verbose", action="store_true",
                        help="text output: add the full trace in the rule language, for audits")
    add_rules_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kb = load(args.rules)
    if args.patient != "-" and args.output and _scaled(args):
        return _scale(kb, Path(args.patient), Path(args.output), args)
    batch_format = None if args.patient == "-" else format_of(args.patient)
    units = dict(_unit_option(text) for text in args.unit)
    if batch_format is not None:
        return _batch(kb, Path(args.patient), batch_format, args.output, units)
    if units:
        raise UsageError("--unit is for a batch (.csv or .jsonl); in a patient file write the "
                         "unit with the number, e.g. anc: 0.8 10^9/L")
    try:
        result = kb.evaluate(read_patient(args.patient))
    except (InputError, UsageError) as exc:
        if args.format != "json":
            raise
        # A program asked for JSON: the error is JSON too, on stdout; people still read stderr.
        error = exc.to_json() if isinstance(exc, InputError) else {"message": str(exc)}
        print(dumps({"error": error}, indent=2))
        print(f"nkb: error: {exc}", file=sys.stderr)
        return exc.exit_code
    text = dumps(result.to_json(), indent=2) if args.format == "json" else summary_text(kb, result, verbose=args.verbose)
    if args.output:
        target = Path(args.output)
        check_target(target, [] if args.patient == "-" else [Path(args.patient)])
        write_text(target, text + "\n")
    else:
        print(text)
    return 0


def _scaled(args: argparse.Namespace) -> bool:
    """Whether a batch goes to a SQL engine (DuckDB or Spark) rather than row by row."""
    path = Path(args.patient)
    suffix = path.suffix.lower()
    if args.engine in ("duckdb", "spark"):
        return True
    if suffix == ".parquet" or Path(args.output).suffix.lower() == ".parquet":
        raise UsageError("Parquet is read and written by the SQL engines only: add "
                         "--engine duckdb (experimental, see nkb evaluate --help)")
    return False


def _scale(kb: KnowledgeBase, path: Path, target: Path, args: argparse.Namespace) -> int:
    check_target(target, [path])
    if not path.is_file():
        raise UsageError(f"cannot read '{show_value(str(path))}': no such file")
    if args.engine == "spark":
        errors = run_spark(kb, path, target, master=args.master)
    else:
        errors = run_duckdb(kb, path, target)
    if errors:
        print(f"nkb: {errors} rows had bad input; they are in the output with the 'error' "
              "column filled in", file=sys.stderr)
    return 2 if errors else 0


MAX_PATIENT_BYTES = 1_000_000  # a patient is a few lines; read no more than this from a file


def read_patient(name: str) -> Any:
    """A patient mapping from a file or stdin; YAML goes through our safe loader, JSON through
    patient.read_json (exact numbers, duplicate keys refused). Every fault, whatever the bytes,
    is a UsageError (exit 2) pointing at the file, with its line when one is known."""
    shown = show_value(name)
    if name == "-":
        raw = sys.stdin.buffer.read(MAX_PATIENT_BYTES + 1)
        path = Path("<stdin>")
    else:
        path = Path(name)
        if path.suffix.lower() not in (".yaml", ".yml", ".json"):
            raise UsageError(f"'{shown}': give a .yaml, .yml or .json patient, a .csv or .jsonl "
                             "batch, or - for stdin")
        try:
            with path.open("rb") as stream:
                raw = stream.read(MAX_PATIENT_BYTES + 1)
        except OSError as exc:
            raise UsageError(f"cannot read '{shown}': {exc.strerror}") from None
    if len(raw) > MAX_PATIENT_BYTES:
        raise UsageError(f"'{shown}' is over {MAX_PATIENT_BYTES:,} bytes; a patient file is a "
                         "few lines (for many patients, give a .csv or .jsonl batch)")
    if path.suffix.lower() == ".json" or raw.lstrip().startswith(b"{"):
        try:
            return read_json(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            problems = [_not_utf8(path, raw, exc)]
        except json.JSONDecodeError as exc:
            problems = [Problem(path, exc.lineno, exc.colno, "", exc.msg)]
        raise UsageError("the patient file cannot be read:\n" + render_all(problems))
    try:
        doc, problems = load_text(path, raw)
    except RecursionError:  # the loader recurses per level, and forever on `a: &x [*x]`
        problems = [Problem(path, None, None, "", "nested too deeply, or an alias ('*name') "
                            "refers to itself; a patient needs three levels at most")]
        doc = None
    if doc is None or problems:
        raise UsageError("the patient file cannot be read:\n" + render_all(problems))
    return doc.data


def _not_utf8(path: Path, raw: bytes, exc: UnicodeDecodeError) -> Problem:
    line = raw[: exc.start].count(b"\n") + 1
    column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
    return Problem(path, line, column, "", f"byte 0x{raw[exc.start]:02x} is not UTF-8; save "
                   "the file with UTF-8 encoding")


def _unit_option(text: str) -> tuple[str, str]:
    name, sep, unit = text.partition("=")
    if not sep or not name.strip() or not unit.strip():
        raise UsageError(f"--unit '{show_value(text)}': write INPUT=UNIT, e.g. --unit anc=10^9/L")
    return name.strip(), unit.strip()


def _batch(kb: KnowledgeBase, path: Path, fmt: str, output: str | None,
           option_units: dict[str, str]) -> int:
    out_format = format_of(output) if output else fmt
    if out_format is None:
        raise UsageError(f"-o {output}: a batch is written as .csv or .jsonl")
    target = Path(output) if output else None
    if target is not None:
        check_target(target, [path])  # before anything is read or written
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
        rows = Rows(source, fmt, accepted_columns(kb.evaluator), path)
        units = column_units(kb.evaluator, rows.units, option_units)
        columns = rows.columns or columns
        if target is None:
            summary_ = _stream(kb, rows, columns, sys.stdout, out_format, path, units,
                               progress=False)
        else:
            with atomic_output(target) as out:
                summary_ = _stream(kb, rows, columns, out, out_format, path, units,
                                   progress=sys.stderr.isatty())
    for problem in summary_.first_errors:
        print(problem.render(), file=sys.stderr)
    if summary_.errors:
        more = summary_.errors - len(summary_.first_errors)
        tail = f" ({more} more not shown)" if more > 0 else ""
        print(f"nkb: {summary_.errors} of {summary_.rows} rows had bad input{tail}; they are in "
              "the output with the 'error' column filled in", file=sys.stderr)
    if summary_.bugs:
        print(f"nkb: {summary_.bugs} row(s) met an internal error (a bug in nkb, not in your "
              "file); please report it with this output", file=sys.stderr)
        return 3
    return 2 if summary_.errors else 0


def _stream(kb: KnowledgeBase, rows: Rows, columns: list[str], out: TextIO, out_format: str,
            path: Path, units: dict[str, Unit], progress: bool) -> Summary:
    if not progress:
        return run_batch(kb.evaluator, rows, out, out_format, columns, source=path, units=units)
    from tqdm import tqdm

    with tqdm(unit=" rows", file=sys.stderr, mininterval=0.5) as bar:
        return run_batch(kb.evaluator, rows, out, out_format, columns, on_row=lambda: _tick(bar),
                         source=path, units=units)


def _tick(bar: Any) -> None:
    bar.update()
