"""One module per `nkb` verb; each exposes ``register(subparsers)`` and ``run(args)``."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_rules_option(parser: argparse.ArgumentParser) -> None:
    """`--rules DIR`, the same for every command that reads the knowledge base."""
    parser.add_argument("--rules", type=Path, default=Path("rules"), metavar="DIR",
                        help="the knowledge base folder (default: rules)")
