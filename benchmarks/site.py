"""How the website build grows with the knowledge base: the real rules/ and copies 10x and 100x
larger (every symptom, cause, test, treatment, precaution and glossary term replicated under
new ids), each built with the real mkdocs.yml in one run. Also times the live-reload path: an
edit to rules/ until the pages are regenerated in memory. Leaflets are off (they are PDFs, not
pages; `nkb leaflet` has its own timing).

    python benchmarks/site.py
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "site"))

from nkb_site_build import build_site  # noqa: E402

from neutropenia_kb import load  # noqa: E402
from neutropenia_kb.render.site import render_pages  # noqa: E402

# file → the list of items to replicate in it
REPLICATE = {"symptoms.yaml": "symptoms", "causes.yaml": "causes", "tests.yaml": "tests",
             "treatments.yaml": "treatments", "precautions.yaml": "precautions",
             "glossary.yaml": "terms"}
_ITEM = re.compile(r"^  - id: (\w+)\n(?:(?!  - ).*\n|\n)*", re.MULTILINE)


def synthesise(dest: Path, factor: int) -> int:
    """Copy rules/ to ``dest`` with each replicated list ``factor`` times as long. Items are
    copied as YAML text (comments and all), renamed ``<id>_xN``; references are left pointing
    at the originals, so the copy validates like the real one."""
    shutil.copytree(REPO / "rules", dest)
    count = 0
    for name, key in REPLICATE.items():
        path = dest / name
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        head, sep, body = text.partition(f"\n{key}:\n")
        # The list runs to the next top-level key (or the end of the file).
        end = re.search(r"^\S", body, re.MULTILINE)
        items, tail = (body[: end.start()], body[end.start():]) if end else (body, "")
        copies = [items]
        for n in range(2, factor + 1):
            copies.append(_ITEM.sub(lambda m: m.group(0).replace(
                f"  - id: {m.group(1)}\n", f"  - id: {m.group(1)}_x{n}\n", 1), items))
        path.write_text(head + sep + "".join(copies) + tail, encoding="utf-8")
        count += len(yaml.safe_load(path.read_text(encoding="utf-8"))[key] or ())
    return count


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for factor in (1, 10, 100):
            rules = Path(tmp) / f"rules-{factor}"
            items = synthesise(rules, factor)
            start = time.perf_counter()
            built = build_site(Path(tmp) / f"out-{factor}", rules)
            seconds = time.perf_counter() - start
            if built.returncode != 0:
                print(built.log[-3000:], file=sys.stderr)
                return 1
            start = time.perf_counter()
            render_pages(load(rules))  # what a rules/ edit costs before MkDocs renders HTML
            regen = time.perf_counter() - start
            rows.append((factor, items, seconds, regen))
    base = rows[0]
    print(f"{'size':>5} {'items':>7} {'mkdocs build':>13} {'ratio':>6} {'regenerate':>11} {'ratio':>6}")
    for factor, items, seconds, regen in rows:
        print(f"{factor:>4}x {items:>7} {seconds:>12.2f}s {seconds / base[2]:>6.1f}"
              f" {regen:>10.3f}s {regen / base[3]:>6.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
