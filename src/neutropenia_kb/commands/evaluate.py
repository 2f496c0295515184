"""`nkb evaluate PATIENT`: one patient (YAML/JSON file or - for stdin) or a batch (CSV/JSONL)."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from neutropenia_kb import evaluate, evaluator_for, load
from neutropenia_kb.commands import add_rules_option
from neutropenia_kb.core.output_files import check_target, write_text
from neutropenia_kb.engine.batch import format_of
from neutropenia_kb.engine.batch_file import evaluate_file
from neutropenia_kb.engine.patient_file import read_patient
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.render.nurse_summary import nurse_summary


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
    add_rules_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kb = load(args.rules)
    batch_format = None if args.patient == "-" else format_of(args.patient)
    if batch_format is not None:
        return _batch(kb, Path(args.patient), batch_format, args.output)
    patient = read_patient(args.patient)
    result = evaluate(kb, patient)
    text = json.dumps(result.to_json(), indent=2, ensure_ascii=False) if args.format == "json" \
        else nurse_summary(kb, result)
    if args.output:
        target = Path(args.output)
        check_target(target, [] if args.patient == "-" else [Path(args.patient)])
        write_text(target, text + "\n")
    else:
        print(text)
    return 0


def _batch(kb: KnowledgeBase, path: Path, fmt: str, output: str | None) -> int:
    target = Path(output) if output else None
    with ExitStack() as stack:
        on_row = None
        if target is not None and sys.stderr.isatty():
            from tqdm import tqdm

            bar = stack.enter_context(tqdm(unit=" rows", file=sys.stderr, mininterval=0.5))

            def on_row() -> None:
                bar.update()
        summary = evaluate_file(evaluator_for(kb), path, fmt, target, sys.stdout, on_row)
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
