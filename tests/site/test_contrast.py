"""WCAG 2.1 AA contrast (4.5:1 for body text) of the colour pairs our stylesheet uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

# (text, background) pairs as they are used in site/stylesheets/extra.css.
PAIRS = [
    ("kb-blue", "kb-white"),          # links; header background with white text
    ("kb-blue-dark", "kb-white"),     # hover and focus
    ("kb-text", "kb-white"),          # body text and page titles
    ("kb-white", "kb-emergency"),     # emergency box title
    ("kb-text", "kb-emergency-bg"),   # emergency box text
    ("kb-blue", "kb-emergency-bg"),   # links inside the emergency box
    ("kb-muted", "kb-white"),         # review dates
    ("kb-footer-muted", "kb-footer-bg"),  # the footer's copyright line
    ("kb-muted", "kb-code-bg"),       # variables and comments in code examples
    ("kb-text", "kb-draft-bg"),       # the draft notice
    ("kb-blue-dark", "kb-draft-bg"),  # its link
]


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") < 4.5  # a grey that fails, so the check can fail


@pytest.mark.parametrize("fg,bg", PAIRS)
def test_colour_pairs_meet_aa(repo: Path, fg: str, bg: str) -> None:
    css = (repo / "site" / "stylesheets" / "extra.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--(kb-[a-z-]+):\s*(#[0-9a-fA-F]{6})", css))
    assert contrast(colours[fg], colours[bg]) >= 4.5, (fg, bg)
