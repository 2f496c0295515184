"""`nkb leaflet`: the printable PDF leaflets, general ones or one per patient."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from neutropenia_kb import load
from neutropenia_kb.engine.batch import Row, Rows, accepted_columns, format_of
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.core.output_files import MAX_NAME_BYTES, check_target, clash_key, file_stem, make_dir, \
    write_bytes
from neutropenia_kb.core.problems import InputError, Problem, UsageError, show_value
from neutropenia_kb.commands import add_rules_option


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
    from neutropenia_kb.render.leaflet import LEAFLETS, SIZES, Variant, build_leaflets

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
    from neutropenia_kb.render.leaflet import render_personal
    from neutropenia_kb.commands.evaluate import read_patient

    if output is None:
        raise UsageError("--patient needs -o OUT.pdf (where to write the leaflet)")
    check_target(output, [] if patient_file == "-" else [Path(patient_file)], make_folder=True)
    result = kb.evaluate(read_patient(patient_file))
    write_bytes(output, render_personal(kb, result, variant))
    print(output)
    return 0


def plan_names(rows: list[Row], out_dir: Path) -> tuple[dict[int, Path], dict[int, str]]:
    """One file per row, or an error: (row index → leaflet path, row index → why none).

    Rows whose names clash (the same id, ids that differ only in case or Unicode form, an empty
    id named row-N beside an id 'row-N') all get an error naming the others and no leaflet. We
    refuse rather than number them: a leaflet under another patient's name, or a '-2' copy
    nobody can tell apart, could reach the wrong patient."""
    paths: dict[int, Path] = {}
    errors: dict[int, str] = {}
    claims: dict[str, list[int]] = {}
    shown: dict[int, str] = {}
    for index, row in enumerate(rows):
        if row.error is not None:
            continue
        given = str(row.data.get("id") or "").strip()
        stem = file_stem(given) if given else f"row-{row.line}"
        shown[index] = f"row {row.line} (id '{show_value(given)}')" if given else \
            f"row {row.line} (no id, so named {stem})"
        if len(stem.encode("utf-8")) > MAX_NAME_BYTES:
            errors[index] = f"the id is too long to name a file ({len(given):,} characters)"
            continue
        paths[index] = out_dir / f"{stem}.pdf"
        claims.setdefault(clash_key(stem), []).append(index)
    for group in claims.values():
        if len(group) > 1:
            names = sorted({paths[i].name for i in group})
            where = f"'{names[0]}'" if len(names) == 1 else (
                " and ".join(f"'{n}'" for n in names) + ", one file where case or Unicode form "
                "is not told apart")
            for index in group:
                others = " and ".join(shown[i] for i in group if i != index)
                errors[index] = (f"{shown[index]} and {others} would be written to the same "
                                 f"file, {where}; give each row its own id")
            for index in group:
                del paths[index]
    return paths, errors


# A worker first lays out the general sections (about 2 s) before its cache pays off, so each
# one should get a good number of leaflets; a short batch is faster in this process alone.
LEAFLETS_PER_WORKER = 10


def _batch(kb: KnowledgeBase, rows_path: Path, out_dir: Path, variant: Any,
           jobs: int | None) -> int:
    from neutropenia_kb.render.leaflet import PersonalHtml, personal_parts_html, render_personal_html
    from neutropenia_kb.render.leaflet_build import cpu_count, render_many

    fmt = format_of(str(rows_path))
    if fmt is None:
        raise UsageError(f"--patients '{show_value(str(rows_path))}': give a .csv or .jsonl "
                         "file, one patient per row")
    try:
        stream = rows_path.open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read '{rows_path}': {exc.strerror}") from None
    with stream:
        # The rows `nkb evaluate` reads: an empty symptoms cell means none was ticked.
        rows = list(Rows(stream, fmt, accepted_columns(kb.evaluator), rows_path))
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out-dir '{out_dir}' is not a folder")
    make_dir(out_dir)
    paths, errors = plan_names(rows, out_dir)
    bar: Any = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(rows), unit="leaflet", file=sys.stderr)

    def fail(index: int, message: str) -> None:
        line = rows[index].line
        text = Problem(rows_path, line, None, f"row {line}", f"{message}; no leaflet "
                       "written").render()
        print(text, file=sys.stderr) if bar is None else bar.write(text, file=sys.stderr)
        if bar is not None:
            bar.update(1)

    failed = 0
    todo: list[tuple[int, tuple[PersonalHtml, Any]]] = []
    for index, row in enumerate(rows):  # evaluating and templating take milliseconds: done here
        error = row.error or errors.get(index)
        if error is None:
            try:
                result = kb.evaluate(row.data)
            except InputError as exc:
                error = str(exc)
            except RecursionError:
                error = "a value is nested too deeply to read"
            else:
                todo.append((index, (personal_parts_html(kb, result, variant), variant)))
        if error is not None:
            failed += 1
            fail(index, error)
    written = 0
    workers = jobs or min(cpu_count(), max(1, len(todo) // LEAFLETS_PER_WORKER))
    for number, pdf in render_many(render_personal_html, [job for _, job in todo], workers):
        index = todo[number][0]
        try:
            write_bytes(paths[index], pdf)  # a new file renamed into place: never through a link
        except UsageError as exc:
            failed += 1
            fail(index, str(exc))
        else:
            written += 1
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    print(f"{written} leaflet(s) written to {out_dir}; {failed} row(s) failed",
          file=sys.stderr)
    return 2 if failed else 0
