"""`nkb new KIND ID`: append a new item with every required field, explained, to its file."""

from __future__ import annotations

import argparse
from typing import Any

from neutropenia_kb.authoring.scaffold import KINDS, new_item
from neutropenia_kb.commands import add_rules_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "new", help="add a new item (with TODO fields) to the right rules file",
        description="Append a new item of KIND with id ID to its file in rules/, with every "
        "required field and a comment on each. Comments and order in the file are kept. Fill "
        "in the TODO fields, then run nkb validate.")
    parser.add_argument("kind", metavar="KIND", choices=sorted(KINDS),
                        help=f"one of: {', '.join(KINDS)}")
    parser.add_argument("id", metavar="ID", help="the new id: lower case, digits and _")
    add_rules_option(parser)
    parser.add_argument("--title", default=None, help="the patient-facing title (or term)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    made = new_item(args.rules, args.kind, args.id, title=args.title)
    print(f"{made.path}:{made.line}: added {made.kind} '{made.id}'; fill in the TODO fields "
          "and the sources, then run: nkb validate")
    return 0
