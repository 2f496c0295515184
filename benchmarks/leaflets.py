"""Time the leaflets in one run: the general leaflet; build_leaflets (all of them) serial against
parallel; and N personalised leaflets by the old path (the whole leaflet laid out per patient)
against the new one (the general sections' layout reused), with the share in WeasyPrint layout.

    python benchmarks/leaflets.py [--rules rules] [--count 40] [--skip-build]

--count 200 is the issue's batch; the default is lower because the old path takes ~1.5 s each.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from neutropenia_kb import evaluate, load
from neutropenia_kb.render import leaflet as L
from neutropenia_kb.render import leaflet_table as T
from neutropenia_kb.render.leaflet_build import build_leaflets, cpu_count, render_many

SEVERITIES = (2200, 1200, 700, 300, 80)


def patients(count: int) -> list[dict[str, object]]:
    rng = random.Random(6)  # the same patients every run
    return [{"id": f"p{i}", "anc": rng.choice(SEVERITIES) + rng.randrange(0, 50),
             "temperature": f"{rng.choice((36.6, 37.4, 38.0, 38.9))} C",
             "on_chemotherapy": rng.random() < 0.6,
             "symptoms": rng.sample(["chills", "sore_throat", "cough", "rash"], rng.randrange(0, 3)),
             "age_years": rng.randrange(1, 90)} for i in range(count)]


class LayoutClock:
    """Adds up the time spent in L.layout, however the render path reaches it (the new path
    calls it through its caches)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._layout = L.layout

    def __enter__(self) -> "LayoutClock":
        def timed_layout(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return self._layout(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0

        L.layout = timed_layout
        return self

    def __exit__(self, *exc: object) -> None:
        L.layout = self._layout


def timed(render: Callable[[int], bytes], count: int) -> tuple[float, float]:
    """(total, layout) seconds over ``count`` renders."""
    with LayoutClock() as clock:
        t0 = time.perf_counter()
        for i in range(count):
            render(i)
        total = time.perf_counter() - t0
    return total, clock.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", default="rules")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--skip-build", action="store_true", help="leave out build_leaflets")
    args = parser.parse_args()
    kb = load(Path(args.rules))
    general = T.LEAFLETS[0]
    variant = T.Variant("a4")
    L.render_leaflet(kb, general, variant)  # warm up: fonts, stylesheet, templates
    print(f"{cpu_count()} CPU(s) available to this process")

    t0 = time.perf_counter()
    html = L.leaflet_html(kb, general, variant)
    t_html = time.perf_counter() - t0
    total, lay = timed(lambda i: L.render_html(html, variant), 3)
    print(f"general leaflet (A4, {general.max_pages}-page budget): {total / 3 + t_html:.2f} s "
          f"per build (template {t_html:.3f} s, WeasyPrint layout {lay / 3:.2f} s = "
          f"{lay / (total + 3 * t_html):.0%}); mean of 3")

    if not args.skip_build:
        jobs = len(T.LEAFLETS) * len(T.VARIANTS)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            serial = build_leaflets(kb, Path(tmp, "serial"), workers=1)
            t_serial = time.perf_counter() - t0
            t0 = time.perf_counter()
            parallel = build_leaflets(kb, Path(tmp, "parallel"))
            t_parallel = time.perf_counter() - t0
            same = all(a.read_bytes() == b.read_bytes() for a, b in zip(serial, parallel))
            build_leaflets(kb, Path(tmp, "c1"), cache_dir=Path(tmp, "cache"))
            t0 = time.perf_counter()
            build_leaflets(kb, Path(tmp, "c2"), cache_dir=Path(tmp, "cache"))
            t_cached = time.perf_counter() - t0
        workers = min(cpu_count(), jobs)
        print(f"build_leaflets ({jobs} PDFs): serial {t_serial:.1f} s, parallel ({workers} "
              f"workers) {t_parallel:.1f} s = {t_serial / t_parallel:.2f}x, "
              f"{'identical' if same else 'DIFFERENT'} bytes; unchanged rebuild from the cache "
              f"{t_cached:.2f} s")

    n = args.count
    results = [evaluate(kb, r) for r in patients(n)]
    t0 = time.perf_counter()
    whole = [L.personal_html(kb, r, variant) for r in results]
    t_whole_html = time.perf_counter() - t0
    t0 = time.perf_counter()
    parts = [L.personal_parts_html(kb, r, variant) for r in results]
    t_parts_html = time.perf_counter() - t0
    old, old_lay = timed(lambda i: L.render_html(whole[i], variant), n)
    old += t_whole_html
    new, new_lay = timed(lambda i: L.render_personal_html(parts[i], variant), n)
    new += t_parts_html
    print(f"{n} personalised leaflets, per leaflet: old path (whole leaflet laid out each time) "
          f"{old / n * 1000:.0f} ms (layout {old_lay / old:.0%}); new path (general sections "
          f"laid out once per page offset) {new / n * 1000:.0f} ms (layout {new_lay / new:.0%}, "
          f"first-use layouts included); {old / new:.1f}x faster")
    workers = min(cpu_count(), max(1, n // 10))
    if workers > 1:
        t0 = time.perf_counter()
        for _ in render_many(L.render_personal_html, [(p, variant) for p in parts], workers):
            pass
        t_par = time.perf_counter() - t0 + t_parts_html
        print(f"  new path in {workers} worker processes: {t_par / n * 1000:.0f} ms per leaflet "
              f"({old / t_par:.1f}x the old path)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
