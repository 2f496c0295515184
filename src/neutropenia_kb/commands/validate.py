"""`nkb validate [PATH]`: every problem of the knowledge base at once, one a line, at file:line:col."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from neutropenia_kb.checks.validate import validate_dir
from neutropenia_kb.core.problems import UsageError, count, has_errors, render_all, summary
from neutropenia_kb.kb.loader import rule_files


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate", help="check the knowledge base and list every problem at file:line:column",
        description="Check every rules/*.yaml file (YAML syntax, schema, ids, references, "
        "placeholders, rule conditions, readability, review dates) and list all problems at "
        "once, sorted by file and line. Exit status 1 on any error (or warning with --strict).")
    parser.add_argument("path", nargs="?", type=Path, default=Path("rules"),
                        help="the knowledge base folder, or one file in it (default: rules)")
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text: one problem a line (default); json: an array for tools")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path: Path = args.path
    if not path.exists():
        raise UsageError(f"no such folder or file: {path} (give the knowledge base folder, "
                         "the one holding kb.yaml)")
    folder = path if path.is_dir() else path.parent
    kb, problems = validate_dir(folder)
    if path.is_file():  # one file asked for: the whole base is checked, only its lines shown
        problems = [p for p in problems if p.file is not None and p.file.name == path.name]
    if problems or args.format == "json":
        print(render_all(problems, args.format))
    print(summary(path, problems, len(list(rule_files(folder))), args.strict), file=sys.stderr)
    blank = [s.id for s in kb.services if not s.phone] if kb is not None else []
    if blank:
        # A note, not a warning: a released knowledge base leaves the numbers to its publisher,
        # so --strict must still pass; said once, not once per service.
        print(f"{folder / 'kb.yaml'}: note: {count(len(blank), 'service')} "
              f"{'has' if len(blank) == 1 else 'have'} no phone number ({', '.join(blank)}): "
              "outputs print a blank to write it in; fill in `phone:` under `services:`",
              file=sys.stderr)
    return 1 if has_errors(problems, args.strict) else 0
