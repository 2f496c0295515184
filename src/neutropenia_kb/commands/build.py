"""`nkb build`: validate the knowledge base, then build the website and the leaflets
(neutropenia_kb/build.py does the work; this module reads the arguments and prints)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from neutropenia_kb.build import build
from neutropenia_kb.commands import rules_folder
from neutropenia_kb.core.problems import Problem, render_all, summary


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "build", help="validate the knowledge base, then build the website and the leaflets",
        description="Validate the knowledge base; on any error list every problem and build "
        "nothing. Otherwise build the website into OUT/site and the PDF leaflets into "
        "OUT/leaflets.")
    parser.add_argument("rules", nargs="?", type=Path, default=Path("rules"),
                        help="the knowledge base folder (default: rules)")
    parser.add_argument("--out", type=Path, default=Path("build"),
                        help="where outputs are written (default: build)")
    parser.add_argument("--config", type=Path, default=Path("mkdocs.yml"),
                        help="the website's MkDocs configuration (default: mkdocs.yml)")
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.add_argument("--no-site", action="store_true", help="only validate and build leaflets")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rules_folder(args.rules)

    def validated(warnings: Sequence[Problem], files: int) -> None:
        if warnings:  # shown, not fatal
            print(render_all(warnings), file=sys.stderr)
        print(summary(args.rules, warnings, files), file=sys.stderr)

    built = build(args.rules, args.out, config=args.config, strict=args.strict,
                  site=not args.no_site, on_validated=validated)
    if built.site is not None:
        print(f"website: {built.site}/index.html", file=sys.stderr)
    print(f"leaflets: {len(built.written)} PDFs in {built.leaflets}/", file=sys.stderr)
    print(f"built in {built.seconds:.1f} s", file=sys.stderr)
    return 0
