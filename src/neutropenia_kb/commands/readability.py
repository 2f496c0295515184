"""`nkb readability`: the reading grade of every patient-facing text, worst first."""

from __future__ import annotations

import argparse
from typing import Any

from neutropenia_kb import load
from neutropenia_kb.checks.readability import distribution, measure, worst_first
from neutropenia_kb.commands import add_rules_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "readability", help="reading grade of every patient text, worst first",
        description="Print the Flesch-Kincaid grade (and SMOG from 3 sentences) of every "
        "patient-facing text, worst first, with the limit kb.yaml sets for it.")
    add_rules_option(parser)
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="show only the N worst texts")
    parser.set_defaults(func=run)


def table(rows: list[list[str]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [c.rjust(w) if c[:1].isdigit() or c == "-" else c.ljust(w)
                 for c, w in zip(row, widths)]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    kb, docs = load(args.rules, with_docs=True)
    measurements = worst_first(measure(kb, docs))
    shown = measurements[: args.limit] if args.limit else measurements
    rows = [["id", "kind", "FK grade", "SMOG", "limit", "words"]]
    for m in shown:
        smog = f"{m.score.smog:.1f}" if m.score.smog is not None else "-"
        flag = " !" if m.over else ""
        rows.append([m.id, m.kind, f"{m.score.fk_grade:.1f}{flag}", smog, f"{m.limit:g}",
                     str(m.score.words)])
    print(table(rows))
    dist = distribution(measurements)
    over = sum(m.over for m in measurements)
    print(f"\n{len(measurements)} texts: {dist['<= 6']} at grade 6 or below, {dist['<= 8']} "
          f"above 6 up to 8, {dist['> 8']} above 8; {over} over their limit (marked !)")
    return 0
