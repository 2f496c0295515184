"""One module per `nkb` verb; each exposes ``register(subparsers)`` and ``run(args)``."""

from __future__ import annotations

import argparse
from pathlib import Path

from neutropenia_kb.core.problems import UsageError, show_value


def rules_folder(text: str | Path) -> Path:
    """The knowledge base folder a command was given; a missing one is a usage mistake (exit 2)
    for every verb alike."""
    path = Path(text)
    if not path.is_dir():
        raise UsageError(f"no such folder: {show_value(str(path))} (give the knowledge base "
                         "folder, the one holding kb.yaml)")
    return path


def _rules_type(text: str) -> Path:
    try:
        return rules_folder(text)
    except UsageError as exc:  # argparse turns this into its usage error, exit 2
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_rules_option(parser: argparse.ArgumentParser) -> None:
    """`--rules DIR`, the same for every command that reads the knowledge base; checked when
    the arguments are read (argparse also checks the default: it is given as text)."""
    parser.add_argument("--rules", type=_rules_type, default="rules", metavar="DIR",
                        help="the knowledge base folder (default: rules)")
