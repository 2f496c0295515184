"""The same knowledge base gives the same PDF bytes in two separate processes, whichever font
subsetter WeasyPrint uses: HarfBuzz's, or fontTools' (which stamps the clock into each font
subset unless told otherwise). Each render runs in its own process, as two `nkb` runs would."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

# A child process renders the one-page fridge sheet without SOURCE_DATE_EPOCH. With "fonttools"
# it hides HarfBuzz's subsetter from WeasyPrint, in that process only, as on a machine without
# libharfbuzz-subset0 (WeasyPrint tests for the library at each subset, in pdf/fonts.py).
CHILD = """
import json, logging, os, sys
from pathlib import Path
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
import weasyprint.pdf.fonts
if sys.argv[1] == "fonttools":
    weasyprint.pdf.fonts.harfbuzz_subset = None
import neutropenia_kb
from neutropenia_kb.render.leaflet import render_leaflet
from neutropenia_kb.render.leaflet_table import LEAFLETS
from neutropenia_kb.render.leaflet_weasy import _harfbuzz_subsets, font_epoch
kb = neutropenia_kb.load(Path(sys.argv[2]))
Path(sys.argv[3]).write_bytes(render_leaflet(kb, LEAFLETS[2]))
print(json.dumps({"harfbuzz": _harfbuzz_subsets(), "font_epoch": font_epoch(),
                  "env_after": os.environ.get("SOURCE_DATE_EPOCH")}))
"""


def render_in_child(subsetter: str, rules: Path, out: Path) -> tuple[bytes, dict[str, object], str]:
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    done = subprocess.run([sys.executable, "-c", CHILD, subsetter, str(rules), str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return out.read_bytes(), json.loads(done.stdout.splitlines()[-1]), done.stderr


def embedded_font_dates(pdf: bytes) -> set[int]:
    """`head.modified` of every font subset embedded in ``pdf``."""
    from fontTools.ttLib import TTFont

    dates = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            descendant = font.get_object()["/DescendantFonts"][0].get_object()
            data = descendant["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()
            dates.add(TTFont(io.BytesIO(data))["head"].modified)
    return dates


@pytest.mark.parametrize("subsetter", ["harfbuzz", "fonttools"])
def test_two_processes_give_identical_bytes(subsetter: str, rules_dir: Path,
                                            tmp_path: Path) -> None:
    first, info, log = render_in_child(subsetter, rules_dir, tmp_path / "1.pdf")
    if subsetter == "harfbuzz" and not info["harfbuzz"]:
        pytest.skip("libharfbuzz-subset0 is not installed (scripts/setup installs it)")
    assert info["harfbuzz"] is (subsetter == "harfbuzz")
    if subsetter == "fonttools":
        assert "Using fontTools instead of HarfBuzz-Subset" in log  # the fallback really ran
    # A child takes seconds to start and lay out, so the two writes fall in different seconds:
    # a clock stamped into the fonts would show as different bytes.
    second, _, _ = render_in_child(subsetter, rules_dir, tmp_path / "2.pdf")
    assert first == second
    # The subsets carry the fonts' own date, and the environment is left as it was found.
    from fontTools.misc.timeTools import epoch_diff

    assert embedded_font_dates(first) == {int(info["font_epoch"]) - int(epoch_diff)}  # type: ignore[call-overload]
    assert info["env_after"] is None
