"""`nkb leaflet`: the printable PDF leaflets, general ones or one per patient."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from neutropenia_kb import load
from neutropenia_kb.commands import add_rules_option
from neutropenia_kb.core.problems import Problem, UsageError
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.render.leaflet_batch import personal_leaflet, personal_leaflets, read_rows
from neutropenia_kb.render.leaflet_build import build_leaflets
from neutropenia_kb.render.leaflet_table import LEAFLETS, SIZES, Variant


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "leaflet", help="build the printable PDF leaflets (general, or one per patient)",
        description="Without --patient/--patients: write every general and topic leaflet, in A4 "
        "and US Letter, normal and large print, into --out-dir. With --patient FILE -o OUT.pdf: "
        "one personal leaflet (the patient's result first). With --patients FILE.csv: one "
        "personal leaflet per row into --out-dir, named after the row's 'id' column (characters "
        "other than letters, digits, '-' and '_' written as %XX), else row-LINE; a bad row, or "
        "rows whose file names would clash, are reported and the others are still written. "
        "A file is written whole or not at all, and replaces a symlink rather than following it.")
    add_rules_option(parser)
    parser.add_argument("--out-dir", type=Path, default=None, metavar="DIR",
                        help="folder for the leaflets (default: build/leaflets)")
    parser.add_argument("--patient", metavar="FILE", help="a patient file (.yaml, .yml, .json)")
    parser.add_argument("-o", "--output", type=Path, metavar="OUT.pdf",
                        help="where to write the personal leaflet (with --patient)")
    parser.add_argument("--patients", metavar="FILE.csv", type=Path,
                        help="a CSV (or JSON Lines) file of patients, one personal leaflet per "
                        "row")
    parser.add_argument("--size", choices=("a4", "letter"), default=None,
                        help="paper size (personal leaflets: default a4; general leaflets: "
                        "default both)")
    parser.add_argument("--large-print", action="store_true",
                        help="large print (body text 16 pt); general leaflets: only large print")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="worker processes for the layouts (default: one per CPU)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.patient and args.patients:
        raise UsageError("give either --patient FILE or --patients FILE.csv, not both")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs needs a number of processes, 1 or more")
    if args.output and not args.patient:
        raise UsageError("-o/--output goes with --patient; use --out-dir for the other forms")
    kb = load(args.rules)
    out_dir: Path = args.out_dir or Path("build/leaflets")
    variant = Variant(args.size or "a4", args.large_print)
    if args.patient:
        if args.output is None:
            raise UsageError("--patient needs -o OUT.pdf (where to write the leaflet)")
        print(personal_leaflet(kb, args.patient, args.output, variant))
        return 0
    if args.patients:
        return _batch(kb, args.patients, out_dir, variant, args.jobs)
    sizes = (args.size,) if args.size else SIZES
    prints = (True,) if args.large_print else (False, True)
    written = build_leaflets(kb, out_dir, LEAFLETS,
                             [Variant(s, lp) for lp in prints for s in sizes], workers=args.jobs)
    for path in written:
        print(path)
    return 0


def _batch(kb: KnowledgeBase, rows_path: Path, out_dir: Path, variant: Variant,
           jobs: int | None) -> int:
    rows = read_rows(kb, rows_path)
    bar: Any = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(rows), unit="leaflet", file=sys.stderr)

    def report(problem: Problem) -> None:
        print(problem.render(), file=sys.stderr) if bar is None else \
            bar.write(problem.render(), file=sys.stderr)
        if bar is not None:
            bar.update(1)

    outcome = personal_leaflets(kb, rows_path, rows, out_dir, variant, jobs, report,
                                (lambda: bar.update(1)) if bar is not None else (lambda: None))
    if bar is not None:
        bar.close()
    print(f"{outcome.written} leaflet(s) written to {out_dir}; {outcome.failed} row(s) failed",
          file=sys.stderr)
    return 2 if outcome.failed else 0
