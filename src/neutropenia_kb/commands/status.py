"""`nkb status`: what is due for review, what lacks sources, and who reviewed what."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from neutropenia_kb import load
from neutropenia_kb.checks.review import DUE_WITHIN_DAYS, status
from neutropenia_kb.commands import add_rules_option
from neutropenia_kb.core.problems import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status", help="review dates due, items without sources, who reviewed what",
        description="List what is due for review (overdue first), items that cite no source, "
        "and who reviewed what.")
    add_rules_option(parser)
    parser.add_argument("--within", type=int, default=DUE_WITHIN_DAYS, metavar="DAYS",
                        help=f"also list reviews due in the next DAYS days "
                        f"(default: {DUE_WITHIN_DAYS})")
    parser.add_argument("--today", default=None, metavar="YYYY-MM-DD",
                        help="the date to compare review dates with (default: today)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
    except ValueError:
        raise UsageError(f"--today '{args.today}' is not a date like 2026-11-21") from None
    kb, docs = load(args.rules, with_docs=True)
    report = status(kb, docs, today, args.within)
    print(f"Knowledge base {kb.meta.id} version {kb.meta.version}, on {today.isoformat()}")
    print(f"\nDue for review (within {args.within} days):")
    for due in report.due:
        state = "OVERDUE" if due.overdue(today) else "due"
        last = f", last reviewed {due.last_reviewed}" if due.last_reviewed else ""
        print(f"  {state:8} {due.next_review.isoformat()}  {due.id} ({due.file}{last})")
    if not report.due:
        print("  nothing")
    print("\nWithout sources:")
    for ident, kind, file in report.unsourced:
        print(f"  {ident} ({kind}, {file})")
    if not report.unsourced:
        print("  none")
    print("\nReviewed by:")
    for who, what, when in report.reviewed:
        print(f"  {who}: {what}" + (f" ({when})" if when else ""))
    if not report.reviewed:
        print("  nobody is recorded yet (kb.reviewed_by in kb.yaml, review.reviewed_by on items)")
    return 0
