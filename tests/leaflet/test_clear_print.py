"""Clear print and accessibility, read back from the built PDFs: tagged structure with title and
language, headings kept with what follows them, and no line under 12 pt in large print."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from pdf_tags import heading_ends, page_contents, structure_types
from pypdf import PdfReader

from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.render import leaflet as L
from neutropenia_kb.render import leaflet_table as T


def test_every_leaflet_is_tagged_with_title_language_and_headings(
        kb: KnowledgeBase, built: dict[str, Path]) -> None:
    titles = {T.file_name(lf, v): lf.title for lf in T.LEAFLETS for v in T.VARIANTS}
    for name, path in built.items():
        reader = PdfReader(path)
        root = reader.trailer["/Root"]
        assert "/StructTreeRoot" in root, name
        assert root["/Lang"] == kb.meta.language
        assert bool(root["/MarkInfo"]["/Marked"])
        assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])  # the title, not the file name
        assert reader.metadata is not None and reader.metadata.title == titles[name]
        types = structure_types(path)
        assert {"/H1", "/H3", "/P", "/L", "/LI"} <= types, name
        if "when-to-get-help" not in name:  # the fridge sheet has no section headings
            assert {"/H2", "/Sect"} <= types, name
        # reading order: the title first, then the body
        first = page_contents(path)[0]
        assert "/H1" in first[0], name


def test_no_heading_ends_a_page(built: dict[str, Path]) -> None:
    stranded = {name: pages for name, path in built.items() if (pages := heading_ends(path))}
    assert not stranded


def test_the_check_finds_a_stranded_heading(kb: KnowledgeBase, tmp_path: Path) -> None:
    """The check above can fail: a heading allowed to break from its text, pushed down page 1
    by a spacer until it is the last thing on the page, is found."""
    html = L.leaflet_html(kb, T.leaflet_by_slug("preventing-infection-at-home"))
    found = []
    for height in range(200, 262, 6):
        push = (f'<div style="height: {height}mm"></div>'
                '<h2 style="break-after: auto">Stranded</h2>')
        path = tmp_path / f"{height}.pdf"
        path.write_bytes(L.render_html(html.replace("<main>", "<main>" + push, 1),
                                       T.Variant("a4")))
        found += heading_ends(path)
        if found:
            break
    assert found == [1]


def font_sizes(path: Path) -> Counter[float]:
    """Characters by font size (pt, as printed: the text matrix and the page's scaling applied)."""
    sizes: Counter[float] = Counter()

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            scale = (tm[0] ** 2 + tm[1] ** 2) ** 0.5 * (cm[0] ** 2 + cm[1] ** 2) ** 0.5
            sizes[round(size * scale, 1)] += len(text.strip())

    for page in PdfReader(path).pages:
        page.extract_text(visitor_text=visit)
    return sizes


def test_large_print_has_no_line_under_12_pt(built: dict[str, Path]) -> None:
    for name, path in built.items():
        sizes = font_sizes(path)
        if "large-print" in name:
            assert min(sizes) >= 12, (name, sorted(sizes))
            assert sizes.most_common(1)[0][0] >= 16, name  # the body
        else:
            assert min(sizes) < 12, name  # the check measures: standard print has small footers


@pytest.mark.parametrize("size", T.SIZES)
def test_large_print_is_one_column(size: T.Size) -> None:
    def two_columns(css: str) -> list[str]:
        # the fridge sheet's blanks for phone numbers are a form, two to a line, not text
        return [line for line in css.splitlines()
                if "columns: 2" in line and not line.startswith("body.fridge .contact-lines")]

    assert not two_columns(L.css_text(T.Variant(size, True)))
    assert two_columns(L.css_text(T.Variant(size)))  # standard print: lists in two columns
