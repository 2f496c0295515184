"""Time the leaflets: the general leaflet, and N personalised ones (default 200), with the share of
time spent in WeasyPrint layout (HTML → positioned pages) as against templating and PDF writing.

    python benchmarks/leaflets.py [--rules rules] [--count 200]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from neutropenia_kb import load
from neutropenia_kb.render import leaflet as L

SEVERITIES = (2200, 1200, 700, 300, 80)


def patients(count: int) -> list[dict[str, object]]:
    rng = random.Random(6)  # the same 200 patients every run
    return [{"id": f"p{i}", "anc": rng.choice(SEVERITIES) + rng.randrange(0, 50),
             "temperature": f"{rng.choice((36.6, 37.4, 38.0, 38.9))} C",
             "on_chemotherapy": rng.random() < 0.6,
             "symptoms": rng.sample(["chills", "sore_throat", "cough", "rash"], rng.randrange(0, 3)),
             "age_years": rng.randrange(1, 90)} for i in range(count)]


def timed(kb: object, html_of: object, count: int) -> tuple[float, float, float, float]:
    """(template, layout, write, total) seconds summed over ``count`` renders."""
    t_html = t_layout = t_write = 0.0
    for i in range(count):
        t0 = time.perf_counter()
        html, variant = html_of(i)  # type: ignore[operator]
        t1 = time.perf_counter()
        doc = L.layout(html, variant)
        t2 = time.perf_counter()
        L.write(doc)
        t3 = time.perf_counter()
        t_html += t1 - t0
        t_layout += t2 - t1
        t_write += t3 - t2
    return t_html, t_layout, t_write, t_html + t_layout + t_write


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", default="rules")
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    kb = load(Path(args.rules))
    general = L.LEAFLETS[0]
    variant = L.Variant("a4")
    L.render_leaflet(kb, general, variant)  # warm up: fonts, stylesheet, templates

    h, lay, w, total = timed(kb, lambda i: (L.leaflet_html(kb, general, variant), variant), 3)
    print(f"general leaflet (A4, {general.max_pages}-page budget): {total / 3:.2f} s per build "
          f"(template {h / 3:.3f} s, WeasyPrint layout {lay / 3:.2f} s = {lay / total:.0%}, "
          f"PDF write {w / 3:.2f} s); mean of 3")

    rows = patients(args.count)
    t0 = time.perf_counter()
    results = [kb.evaluate(r) for r in rows]
    t_eval = time.perf_counter() - t0
    h, lay, w, total = timed(kb, lambda i: (L.personal_html(kb, results[i], variant), variant),
                             args.count)
    n = args.count
    print(f"{n} personalised leaflets: {total + t_eval:.1f} s in all, "
          f"{(total + t_eval) / n * 1000:.0f} ms per leaflet "
          f"(evaluate {t_eval / n * 1000:.1f} ms, template {h / n * 1000:.0f} ms, "
          f"WeasyPrint layout {lay / n * 1000:.0f} ms = {lay / (total + t_eval):.0%}, "
          f"PDF write {w / n * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
