"""Rendering many leaflets at once: the layouts (the slow part, one CPU each) spread over worker
processes, and an optional cache of finished PDFs keyed by everything that goes into them.

The HTML is built in the calling process (milliseconds); a worker gets strings and a Variant, lays
out, writes and returns the bytes: the same function the serial path calls, so the same bytes.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence, TypeVar

from neutropenia_kb.render.leaflet import css_text, leaflet_html, render_html
from neutropenia_kb.render.leaflet_table import FONT_DIR, FONT_FILES, LEAFLETS, VARIANTS, Leaflet, Variant, file_name

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase

A = TypeVar("A")


def cpu_count() -> int:
    """The CPUs this process may run on (a container or `taskset` may allow fewer than exist)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def render_many(render: Callable[[A, Variant], bytes], jobs: Sequence[tuple[A, Variant]],
                workers: int | None = None) -> Iterator[tuple[int, bytes]]:
    """(index of the job, PDF) for every job: in order when serial (one CPU or one job), else as
    the workers finish. ``render`` must be a module-level function (it is sent by name)."""
    count = min(workers or cpu_count(), len(jobs))
    if count <= 1:
        for index, (arg, variant) in enumerate(jobs):
            yield index, render(arg, variant)
        return
    # spawn, not fork: the parent may hold Pango/fontconfig state and a FontConfiguration whose
    # temporary font files a forked child would share; a fresh process costs ~0.5 s, once.
    context = multiprocessing.get_context("spawn")
    # longest first, so no worker is left with a big leaflet at the end while the other waits
    order = sorted(range(len(jobs)), key=lambda i: -_size(jobs[i][0]))
    with ProcessPoolExecutor(count, mp_context=context) as pool:
        futures = {pool.submit(render, jobs[i][0], jobs[i][1]): i for i in order}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _size(arg: object) -> int:
    return len(arg) if isinstance(arg, str) else len(str(arg))


def build_all(jobs: Sequence[tuple[Path, str, Variant]], workers: int | None = None,
              cache_dir: Path | None = None) -> list[Path]:
    """Write each (path, html, variant) job's PDF to its path; returns the paths in job order."""
    todo: list[tuple[Path, str, Variant]] = []
    for path, html, variant in jobs:
        path.parent.mkdir(parents=True, exist_ok=True)
        cached = cache_dir / f"{cache_key(html, variant)}.pdf" if cache_dir else None
        if cached is not None and cached.is_file():
            shutil.copyfile(cached, path)
        else:
            todo.append((path, html, variant))
    for index, pdf in render_many(render_html, [(html, v) for _, html, v in todo], workers):
        path, html, variant = todo[index]
        path.write_bytes(pdf)
        if cache_dir is not None:
            _store(cache_dir, cache_key(html, variant), pdf)
    return [path for path, _, _ in jobs]


def cache_key(html: str, variant: Variant) -> str:
    """Everything the PDF depends on: the HTML (which carries the dates), the variant's CSS, the
    fonts, WeasyPrint's and pydyf's versions and this package's rendering code."""
    sha = hashlib.sha256(_tools_digest().encode())
    for part in (css_text(variant), html):
        sha.update(b"\0" + part.encode("utf-8"))
    return sha.hexdigest()


@lru_cache(maxsize=1)
def _tools_digest() -> str:
    import pydyf  # type: ignore[import-untyped]
    import weasyprint  # type: ignore[import-untyped]

    sha = hashlib.sha256(f"weasyprint {weasyprint.__version__} pydyf {pydyf.__version__}".encode())
    here = Path(__file__).resolve().parent
    for path in (*(FONT_DIR / name for name in FONT_FILES), *sorted(here.glob("leaflet*.py"))):
        sha.update(path.read_bytes())
    return sha.hexdigest()


def _store(cache_dir: Path, key: str, pdf: bytes) -> None:
    # written aside, then renamed: a build running at the same time never reads half a file
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f".{key}.{os.getpid()}.part"
    partial.write_bytes(pdf)
    os.replace(partial, cache_dir / f"{key}.pdf")


def build_leaflets(kb: "KnowledgeBase", out_dir: Path,
                   leaflets: Sequence[Leaflet] = LEAFLETS,
                   variants: Sequence[Variant] = VARIANTS, *,
                   workers: int | None = None, cache_dir: Path | None = None) -> list[Path]:
    """Write every leaflet in every variant into ``out_dir``; returns the paths written, in
    table order. The layouts run in parallel (``workers``: default one per CPU); with
    ``cache_dir``, a PDF whose inputs are unchanged is copied from there, not laid out again."""
    jobs = [(out_dir / file_name(lf, v), leaflet_html(kb, lf, v), v)
            for lf in leaflets for v in variants]
    return build_all(jobs, workers=workers, cache_dir=cache_dir)
