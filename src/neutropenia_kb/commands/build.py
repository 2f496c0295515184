"""`nkb build [RULES] [--out build]`: check the knowledge base before anything is built.

For now the build is the validation (every problem at once, nothing written on an error); the
site and leaflet steps are added on top of it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..loader import rule_files
from ..problems import KbError, UsageError, render_all
from ..validate import validate_dir
from .validate import summary


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "build", help="validate the knowledge base and build its outputs",
        description="Validate the knowledge base; on any error list every problem and build "
        "nothing.")
    parser.add_argument("rules", nargs="?", type=Path, default=Path("rules"),
                        help="the knowledge base folder (default: rules)")
    parser.add_argument("--out", type=Path, default=Path("build"),
                        help="where outputs are written (default: build)")
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.rules.is_dir():
        raise UsageError(f"no such folder: {args.rules} (give the knowledge base folder, the "
                         "one holding kb.yaml)")
    kb, problems = validate_dir(args.rules)
    if kb is None or (args.strict and problems):
        raise KbError(problems)
    if problems:  # warnings: shown, not fatal
        print(render_all(problems), file=sys.stderr)
    print(summary(args.rules, problems, len(list(rule_files(args.rules)))), file=sys.stderr)
    return 0
