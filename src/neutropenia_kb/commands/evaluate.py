"""`nkb evaluate PATIENT`: one patient (YAML/JSON file or - for stdin) or a batch (CSV/JSONL)."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from neutropenia_kb import evaluate, evaluator_for, load
from neutropenia_kb.commands import add_rules_option
from neutropenia_kb.core.json_text import dumps
from neutropenia_kb.core.output_files import check_target, write_text
from neutropenia_kb.core.problems import InputError, UsageError, show_value
from neutropenia_kb.engine.batch import Summary, format_of
from neutropenia_kb.engine.batch_file import evaluate_file
from neutropenia_kb.engine.patient_file import read_patient
from neutropenia_kb.kb.model import KnowledgeBase
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
    parser.add_argument("--engine", choices=("auto", "python", "duckdb", "spark"),
                        default="auto",
                        help="how a batch is run: python (row by row, the reference engine), "
                        "duckdb (the rules as SQL, embedded; also reads and writes .parquet) or "
                        "spark (the same SQL on Spark, see --master). The default, auto, runs a "
                        "CSV-to-CSV batch of 1.5 MiB (about 45,000 rows) or more on duckdb, where "
                        "it is several times faster (no units in the header, no --unit), and "
                        "everything else on python. duckdb and spark give every row the python "
                        "engine's decisions and errors (rows whose exact words only Python has "
                        "are answered by it); a CSV they would read in other rows (a row of more "
                        "or fewer cells, a blank line, a cell over two lines, bytes not UTF-8) "
                        "is evaluated by python instead, with a note; units in the header and "
                        "--unit are read by the python engine only")
    parser.add_argument("--master", default="local[*]",
                        help="Spark master URL for --engine spark (default: local[*])")
    parser.add_argument("--verbose", action="store_true",
                        help="text output: add the full trace in the rule language, for audits")
    add_rules_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kb = load(args.rules)
    engine = _sql_engine(args, kb) if args.patient != "-" and args.output else None
    if engine is not None:
        return _scale(kb, Path(args.patient), Path(args.output), args, engine)
    batch_format = None if args.patient == "-" else format_of(args.patient)
    units = dict(_unit_option(text) for text in args.unit)
    if batch_format is not None:
        return _batch(kb, Path(args.patient), batch_format, args.output, units)
    if units:
        raise UsageError("--unit is for a batch (.csv or .jsonl); in a patient file write the "
                         "unit with the number, e.g. anc: 0.8 10^9/L")
    try:
        result = evaluate(kb, read_patient(args.patient))
    except (InputError, UsageError) as exc:
        if args.format != "json":
            raise
        # A program asked for JSON: the error is JSON too, on stdout; people still read stderr.
        error = exc.to_json() if isinstance(exc, InputError) else {"message": str(exc)}
        print(dumps({"error": error}, indent=2))
        print(f"nkb: error: {exc}", file=sys.stderr)
        return exc.exit_code
    text = dumps(result.to_json(), indent=2) if args.format == "json" \
        else summary_text(kb, result, verbose=args.verbose)
    if args.output:
        target = Path(args.output)
        check_target(target, [] if args.patient == "-" else [Path(args.patient)])
        write_text(target, text + "\n")
    else:
        print(text)
    return 0


def _sql_engine(args: argparse.Namespace, kb: KnowledgeBase) -> str | None:
    """The SQL engine (duckdb or spark) a batch with -o goes to, or None: row by row."""
    path = Path(args.patient)
    engine = args.engine
    if engine == "auto" and not args.unit:
        # the SQL engines' modules (sqlglot, ~0.2 s) only for a batch
        from neutropenia_kb.engine.scale import auto_engine

        engine = auto_engine(kb, path, Path(args.output), False)
    if engine in ("duckdb", "spark"):
        return str(engine)
    if path.suffix.lower() == ".parquet" or Path(args.output).suffix.lower() == ".parquet":
        raise UsageError("Parquet is read and written by the SQL engines only: add "
                         "--engine duckdb (or spark)")
    return None


def _scale(kb: KnowledgeBase, path: Path, target: Path, args: argparse.Namespace,
           engine: str) -> int:
    check_target(target, [path])
    if args.unit:  # the SQL reads a bare number in the input's default unit only
        raise UsageError("--unit is read by --engine python only")
    if not path.is_file():
        raise UsageError(f"cannot read '{show_value(str(path))}': no such file")
    from neutropenia_kb.engine.scale import NotRowForRow, run_duckdb

    try:
        if engine == "spark":
            from neutropenia_kb.engine.spark import run_spark

            return _report(run_spark(kb, path, target, master=args.master))
        # a progress bar as the Python engine's: only when both streams are a terminal
        # (DuckDB draws it on standard output)
        terminal = sys.stdout.isatty() and sys.stderr.isatty()
        return _report(run_duckdb(kb, path, target, progress=terminal))
    except NotRowForRow as exc:
        # nothing is written yet: the Python engine reads the file row by row and words each
        # bad row; said when the engine was asked for, quiet when auto chose it
        if target.suffix.lower() == ".parquet":
            raise UsageError(f"{exc}; the python engine, which reads such a file row by row, "
                             "writes .csv or .jsonl: give -o a .csv or .jsonl name") from None
        if args.engine != "auto":
            print(f"nkb: {exc}; the python engine evaluates it instead", file=sys.stderr)
        return _batch(kb, path, "csv", str(target), {})


def _unit_option(text: str) -> tuple[str, str]:
    name, sep, unit = text.partition("=")
    if not sep or not name.strip() or not unit.strip():
        raise UsageError(f"--unit '{show_value(text)}': write INPUT=UNIT, e.g. --unit anc=10^9/L")
    return name.strip(), unit.strip()


def _batch(kb: KnowledgeBase, path: Path, fmt: str, output: str | None,
           option_units: dict[str, str]) -> int:
    target = Path(output) if output else None
    with ExitStack() as stack:
        on_row = None
        if target is not None and sys.stderr.isatty():
            from tqdm import tqdm

            bar = stack.enter_context(tqdm(unit=" rows", file=sys.stderr, mininterval=0.5))

            def on_row() -> None:
                bar.update()
        summary = evaluate_file(evaluator_for(kb), path, fmt, target, sys.stdout, on_row,
                                option_units)
    return _report(summary)


def _report(summary: Summary) -> int:
    """The first bad rows and the count on stderr; the exit status."""
    for problem in summary.first_errors:
        print(problem.render(), file=sys.stderr)
    if summary.errors:
        more = summary.errors - len(summary.first_errors)
        tail = f" ({more} more not shown)" if more > 0 else ""
        print(f"nkb: {summary.errors} of {summary.rows} rows had bad input{tail}; they are in "
              "the output with the 'error' column filled in", file=sys.stderr)
    if summary.bugs:
        print(f"nkb: {summary.bugs} row(s) met an internal error (a bug in nkb, not in your "
              "file); please report it with this output", file=sys.stderr)
        return 3
    return 2 if summary.errors else 0
