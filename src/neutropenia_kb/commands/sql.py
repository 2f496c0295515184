"""`nkb sql`: print a view definition of the rules for a data team's own database."""

from __future__ import annotations

import argparse
import re
from typing import Any

from neutropenia_kb import load
from neutropenia_kb.commands import add_rules_option
from neutropenia_kb.core.problems import UsageError, show_value
from neutropenia_kb.engine.evaluate import evaluator_for
from neutropenia_kb.engine.sql_backend import view_sql
from neutropenia_kb.engine.sql_cells import Wording
from neutropenia_kb.engine.sql_expr import DIALECTS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sql", help="print the rules as a SQL view (DuckDB, Spark SQL, PostgreSQL)",
        description="Print a CREATE VIEW that a data team can install in its own database: it "
        "reads a table with one text column per input (anc, temperature, ... as a lab feed or "
        "a form writes them, units included) and gives every row its severity, urgency, "
        "certainty, settle-with questions, advice ids and error, as `nkb evaluate` does, with "
        "the knowledge base's version and decisions fingerprint in a comment and in columns. "
        "Differences from the Python engine, if any, are listed in "
        "tests/engine/accepted_divergences.yaml.")
    parser.add_argument("--dialect", choices=DIALECTS, default="duckdb",
                        help="the database's SQL dialect (default: duckdb)")
    parser.add_argument("--table", default="patients", metavar="NAME",
                        help="the table the view reads (default: patients)")
    add_rules_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", args.table):
        raise UsageError(f"--table '{show_value(args.table)}': give a table name of letters, "
                         "digits and _ (optionally schema.table)")
    kb = load(args.rules)
    evaluator = evaluator_for(kb)
    print(view_sql(evaluator.program, Wording.of(evaluator.parser), args.dialect, args.table),
          end="")
    return 0
