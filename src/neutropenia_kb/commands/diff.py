"""`nkb diff OLD NEW`: the clinical changes between two versions, as Markdown for a PR."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neutropenia_kb.authoring.diff import diff, to_markdown


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diff", help="clinical changes between two versions, in words (Markdown)",
        description="Compare two versions of the knowledge base and print the changed "
        "decisions (thresholds, bands, conditions, urgency levels) in words, then added, "
        "removed and changed items, as Markdown for a pull request. OLD and NEW are folders, "
        "git revisions (HEAD~1, main, a tag; REV:path for another folder than rules) or "
        "WORKTREE for the working tree's rules/.")
    parser.add_argument("old", metavar="OLD", help="the earlier version")
    parser.add_argument("new", metavar="NEW", help="the later version")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="write the report to this file instead of printing it")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    text = to_markdown(diff(args.old, args.new))
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0
