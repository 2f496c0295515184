"""Personal leaflets: one for a patient file, or one per row of a CSV/JSON Lines batch.

Each row is evaluated and templated here (milliseconds); the layouts, the slow part, are
spread over worker processes (leaflet_build.render_many). File names come from the rows' ids,
one-to-one (core/output_files); a bad row or a name clash is reported through ``on_problem``
and the other leaflets are still written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from neutropenia_kb.core.output_files import MAX_NAME_BYTES, check_target, clash_key, file_stem, make_dir, write_bytes
from neutropenia_kb.core.problems import InputError, Problem, UsageError, show_value
from neutropenia_kb.engine.batch import Row, Rows, accepted_columns, format_of
from neutropenia_kb.engine.evaluate import evaluator_for
from neutropenia_kb.engine.patient_file import read_patient
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.render.leaflet import PersonalHtml, personal_parts_html, render_personal, render_personal_html
from neutropenia_kb.render.leaflet_build import cpu_count, render_many
from neutropenia_kb.render.leaflet_table import Variant


def personal_leaflet(kb: KnowledgeBase, patient_file: str, output: Path, variant: Variant) -> Path:
    """The leaflet of the patient in ``patient_file`` (or - for stdin), written to ``output``."""
    check_target(output, [] if patient_file == "-" else [Path(patient_file)], make_folder=True)
    result = evaluator_for(kb).evaluate(read_patient(patient_file))
    write_bytes(output, render_personal(kb, result, variant))
    return output


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


@dataclass(frozen=True)
class BatchOutcome:
    rows: int
    written: int
    failed: int


def read_rows(kb: KnowledgeBase, rows_path: Path) -> list[Row]:
    """Every row of the batch, read as `nkb evaluate` reads it (an empty symptoms cell means
    none was ticked)."""
    fmt = format_of(str(rows_path))
    if fmt is None:
        raise UsageError(f"--patients '{show_value(str(rows_path))}': give a .csv or .jsonl "
                         "file, one patient per row")
    try:
        stream = rows_path.open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read '{rows_path}': {exc.strerror}") from None
    with stream:
        return list(Rows(stream, fmt, accepted_columns(evaluator_for(kb)), rows_path))


def personal_leaflets(kb: KnowledgeBase, rows_path: Path, rows: list[Row], out_dir: Path,
                      variant: Variant, jobs: int | None, on_problem: Callable[[Problem], None],
                      on_written: Callable[[], None]) -> BatchOutcome:
    """One leaflet per row into ``out_dir``; each row without one is reported through
    ``on_problem``, each leaflet written through ``on_written`` (a progress bar)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out-dir '{out_dir}' is not a folder")
    make_dir(out_dir)
    paths, errors = plan_names(rows, out_dir)

    def fail(index: int, message: str) -> None:
        line = rows[index].line
        on_problem(Problem(rows_path, line, None, f"row {line}", f"{message}; no leaflet written"))

    failed = 0
    todo: list[tuple[int, tuple[PersonalHtml, Any]]] = []
    evaluate = evaluator_for(kb).evaluate
    for index, row in enumerate(rows):  # evaluating and templating take milliseconds: done here
        error = row.error or errors.get(index)
        if error is None:
            try:
                result = evaluate(row.data)
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
            on_written()
    return BatchOutcome(len(rows), written, failed)
