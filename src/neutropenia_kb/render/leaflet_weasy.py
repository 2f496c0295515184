"""What WeasyPrint may touch when it lays out and writes a leaflet: only the package's own fonts
and stylesheets (nothing from the network, the wider disk or data: URLs), and font subsets
stamped with the fonts' own dates rather than the clock, so the same HTML gives the same bytes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse  # type: ignore[import-untyped]

from neutropenia_kb.render.leaflet_table import FONT_DIR, FONT_FILES, TEMPLATES

_ALLOWED_SUFFIXES = {".ttf": "font/ttf", ".otf": "font/otf", ".css": "text/css"}


class RefusedURL(ValueError):
    """A leaflet asked for something outside the package's own fonts and stylesheets."""


class PackageFilesOnly(URLFetcher):  # type: ignore[misc]
    """A URL fetcher that serves files under templates/leaflet/ (fonts, stylesheets) and refuses
    every other address: http(s), data:, and file: outside that folder (symlinks resolved).
    A refusal is not fatal: WeasyPrint logs it and leaves the resource out, as a browser would."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        path = _package_file(url)
        if path is None:
            self.refused.append(url)
            raise RefusedURL(f"leaflets load only their own fonts and stylesheets; refused {url!r}")
        return URLFetcherResponse(path.as_uri(), path.read_bytes(),
                                  {"Content-Type": _ALLOWED_SUFFIXES[path.suffix]})


def _package_file(url: str) -> Path | None:
    """The file under TEMPLATES that ``url`` names, or None if it names anything else."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    try:
        path = Path(url2pathname(parts.path)).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if not path.is_relative_to(TEMPLATES) or path.suffix not in _ALLOWED_SUFFIXES:
        return None
    return path if path.is_file() else None


# ---- reproducible font subsets ------------------------------------------------------------
#
# WeasyPrint subsets each embedded font with HarfBuzz when libharfbuzz-subset is installed; else
# with fontTools, which writes the current time into the subset's `head.modified` unless
# SOURCE_DATE_EPOCH is set (fontTools.misc.timeTools.timestampNow reads it at each call).
# fontTools offers no other way to fix that date from outside (TTFont(recalcTimestamp=False) is
# WeasyPrint's to pass), so on that path alone, and only while a PDF is written, we set
# SOURCE_DATE_EPOCH to the fonts' own modification date, and restore the environment after.

_ENV_LOCK = threading.Lock()


def _harfbuzz_subsets() -> bool:
    """Whether WeasyPrint will subset fonts with HarfBuzz (its own test, read at call time; if
    WeasyPrint changes its internals, we assume fontTools, the safe side)."""
    from weasyprint.pdf import fonts  # type: ignore[import-untyped]

    harfbuzz_subset: Any = getattr(fonts, "harfbuzz_subset", None)
    harfbuzz: Any = getattr(fonts, "harfbuzz", None)
    try:
        return bool(harfbuzz_subset) and bool(harfbuzz.hb_version_atleast(4, 1, 0))
    except AttributeError:  # no such library object, or no such function in it
        return False


@lru_cache(maxsize=1)
def font_epoch() -> int:
    """The newest `head.modified` of the package's fonts, in seconds since 1970."""
    from fontTools.misc.timeTools import epoch_diff  # type: ignore[import-untyped]
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    stamps = [int(TTFont(FONT_DIR / name, lazy=True)["head"].modified) for name in FONT_FILES]
    return max(stamps) + int(epoch_diff)


@contextlib.contextmanager
def fixed_font_dates() -> Iterator[None]:
    """While writing a PDF: font subsets carry the fonts' own date, whichever subsetter runs."""
    before = os.environ.get("SOURCE_DATE_EPOCH")
    if (before or "").strip() or _harfbuzz_subsets():  # set by the caller, or not needed
        yield
        return
    with _ENV_LOCK:
        os.environ["SOURCE_DATE_EPOCH"] = str(font_epoch())
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("SOURCE_DATE_EPOCH", None)
            else:
                os.environ["SOURCE_DATE_EPOCH"] = before
