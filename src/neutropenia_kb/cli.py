"""The `nkb` command: parse arguments, call one library function, print, choose the exit code.

Exit status: 0 fine; 1 content problems (knowledge base errors, failing rule cases);
2 usage mistakes or bad patient input; 3 a bug. Every error the library raises on purpose is an
NkbError carrying its exit_code; the library never prints or exits; only this module does.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from typing import Sequence

from neutropenia_kb import __version__
from neutropenia_kb.core.problems import KbError, NkbError, UsageError, did_you_mean, render_all

# One module per verb under commands/, each with register(subparsers) setting func=run(args).
COMMANDS = ("build", "validate", "evaluate", "test", "leaflet", "readability", "status", "diff",
            "new", "serve", "export", "sql")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        wrong = re.search(r"invalid choice: '([^']*)'", message)
        if wrong:
            message += did_you_mean(wrong.group(1), COMMANDS)
        raise UsageError(message)


def make_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; given the arguments, only the command they name, when they name one.
    Each command's module imports what it runs (mkdocs for build, DuckDB and sqlglot for
    evaluate, …): all of them take ~0.5 s, which `nkb evaluate patient.json` need not wait."""
    parser = _Parser(prog="nkb", description="Neutropenia knowledge base: validate the rules, "
                     "evaluate patients, build the website and leaflets.")
    parser.add_argument("--version", action="version", version=f"nkb {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on failure")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    # nkb's own options take no value, so the first word that is not an option is the command
    named = next((a for a in argv or () if not a.startswith("-")), None)
    for name in (named,) if named in COMMANDS else COMMANDS:
        importlib.import_module(f"neutropenia_kb.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    try:
        parser = make_parser(argv)
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"nkb: error: {exc}", file=sys.stderr)
        return exc.exit_code
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NkbError as exc:
        if isinstance(exc, KbError):
            print(render_all(exc.problems), file=sys.stderr)
            errors = sum(p.severity == "error" for p in exc.problems)
            print(f"nkb: {errors} error(s) in the knowledge base; nothing was built",
                  file=sys.stderr)
        else:
            print(f"nkb: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`nkb evaluate big.csv | head`): not an error of ours or theirs.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:
        if getattr(args, "debug", False):
            raise
        import traceback

        print("nkb: internal error (a bug in nkb, not in your files); please report it with "
              "this output:", file=sys.stderr)
        traceback.print_exc(limit=-3, file=sys.stderr)
        return 3
