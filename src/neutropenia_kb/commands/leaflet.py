"""`nkb leaflet`: the printable PDF leaflets, general ones or one per patient."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .. import load
from ..batch import read_rows
from ..model import KnowledgeBase
from ..problems import InputError, UsageError
from . import add_rules_option


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "leaflet", help="build the printable PDF leaflets (general, or one per patient)",
        description="Without --patient/--patients: write every general and topic leaflet, in A4 "
        "and US Letter, normal and large print, into --out-dir. With --patient FILE -o OUT.pdf: "
        "one personal leaflet (the patient's result first). With --patients FILE.csv: one "
        "personal leaflet per row into --out-dir, named after the row's 'id' column, else its "
        "line number; a bad row is reported and the others are still written.")
    add_rules_option(parser)
    parser.add_argument("--out-dir", type=Path, default=None, metavar="DIR",
                        help="folder for the leaflets (default: build/leaflets)")
    parser.add_argument("--patient", metavar="FILE", help="a patient file (.yaml, .yml, .json)")
    parser.add_argument("-o", "--output", type=Path, metavar="OUT.pdf",
                        help="where to write the personal leaflet (with --patient)")
    parser.add_argument("--patients", metavar="FILE.csv", type=Path,
                        help="a CSV of patients, one personal leaflet per row")
    parser.add_argument("--size", choices=("a4", "letter"), default=None,
                        help="paper size (personal leaflets: default a4; general leaflets: "
                        "default both)")
    parser.add_argument("--large-print", action="store_true",
                        help="large print (body text 16 pt); general leaflets: only large print")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="worker processes for the layouts (default: one per CPU)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..render.leaflet import LEAFLETS, SIZES, Variant, build_leaflets

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
        return _one(kb, args.patient, args.output, variant)
    if args.patients:
        return _batch(kb, args.patients, out_dir, variant, args.jobs)
    sizes = (args.size,) if args.size else SIZES
    prints = (True,) if args.large_print else (False, True)
    written = build_leaflets(kb, out_dir, LEAFLETS,
                             [Variant(s, lp) for lp in prints for s in sizes], workers=args.jobs)
    for path in written:
        print(path)
    return 0


def _one(kb: KnowledgeBase, patient_file: str, output: Path | None, variant: Any) -> int:
    from ..render.leaflet import render_personal
    from .evaluate import read_patient

    if output is None:
        raise UsageError("--patient needs -o OUT.pdf (where to write the leaflet)")
    result = kb.evaluate(read_patient(patient_file))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(render_personal(kb, result, variant))
    print(output)
    return 0


def _safe_name(text: str) -> str:
    name = "".join(c if c.isalnum() or c in "-_." else "-" for c in text.strip()).strip(".-")
    return name or "patient"


# A worker first lays out the general sections (about 2 s) before its cache pays off, so each
# one should get a good number of leaflets; a short batch is faster in this process alone.
LEAFLETS_PER_WORKER = 10


def _batch(kb: KnowledgeBase, csv_path: Path, out_dir: Path, variant: Any,
           jobs: int | None) -> int:
    from ..render.leaflet import PersonalHtml, personal_parts_html, render_personal_html
    from ..render.leaflet_build import cpu_count, render_many

    try:
        with csv_path.open(encoding="utf-8-sig", newline="") as stream:
            # The rows `nkb evaluate` reads: an empty symptoms cell means none was ticked.
            rows = list(read_rows(stream, "csv"))
    except OSError as exc:
        raise UsageError(f"cannot read '{csv_path}': {exc.strerror}") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    bar: Any = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(rows), unit="leaflet", file=sys.stderr)

    def say(message: str) -> None:
        print(message, file=sys.stderr) if bar is None else bar.write(message, file=sys.stderr)

    failed = 0
    todo: list[tuple[Path, tuple[PersonalHtml, Any]]] = []
    for line, row in rows:  # evaluating and templating take milliseconds: done here, in order
        name = _safe_name(str(row.get("id") or f"row-{line}"))
        try:
            result = kb.evaluate(row)
        except InputError as exc:
            failed += 1
            say(f"{csv_path}:{line}: error: row {line}: {exc}; no leaflet written")
            if bar is not None:
                bar.update(1)
        else:
            todo.append((out_dir / f"{name}.pdf",
                         (personal_parts_html(kb, result, variant), variant)))
    workers = jobs or min(cpu_count(), max(1, len(todo) // LEAFLETS_PER_WORKER))
    for index, pdf in render_many(render_personal_html, [job for _, job in todo], workers):
        todo[index][0].write_bytes(pdf)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    print(f"{len(rows) - failed} leaflet(s) written to {out_dir}; {failed} row(s) failed",
          file=sys.stderr)
    return 2 if failed else 0

