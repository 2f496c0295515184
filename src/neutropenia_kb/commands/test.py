"""`nkb test`: run the YAML rule cases (tests/cases/*.yaml) and, with --coverage, list gaps."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neutropenia_kb import evaluator_for, load
from neutropenia_kb.commands import add_rules_option
from neutropenia_kb.core.problems import KbError, UsageError
from neutropenia_kb.engine.cases import case_files, coverage, load_cases, run_case


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "test", help="run the rule cases in tests/cases/*.yaml",
        description="Run rule cases (inputs plus expected outputs, written in YAML). Exit status "
        "1 if a case fails or a case file is broken. --coverage also lists every rule, band and "
        "advice condition no case made true, and every boundary not tested on both sides in "
        "every accepted unit (and fails if any).")
    parser.add_argument("cases", nargs="*", default=["tests/cases"],
                        help="case files or folders (default: tests/cases)")
    add_rules_option(parser)
    parser.add_argument("--coverage", action="store_true",
                        help="list what no case exercised")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kb = load(args.rules)
    files = case_files(Path(c) for c in args.cases)
    missing = [str(f) for f in files if not f.is_file()]
    if missing or not files:
        raise UsageError(f"no case files at {', '.join(missing or args.cases)}")
    outcomes, broken = [], []
    for path in files:
        cases, problems = load_cases(path)
        broken += problems
        outcomes += [run_case(evaluator_for(kb), case) for case in cases]
    if broken:
        raise KbError(broken)
    failed = [o for o in outcomes if not o.passed]
    for outcome in failed:
        print(outcome.report())
        print()
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed "
          f"({len(files)} file{'s' if len(files) != 1 else ''})")
    gaps: list[str] = []
    if args.coverage:
        gaps = coverage(evaluator_for(kb), outcomes)
        print("coverage: " + ("every rule, band, advice condition and boundary exercised"
                              if not gaps else f"{len(gaps)} not exercised:"))
        for gap in gaps:
            print(f"  {gap}")
    return 1 if failed or gaps else 0
