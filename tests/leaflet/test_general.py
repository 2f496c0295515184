"""General and topic leaflets: every section present, within budget, metadata, font, bytes."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from leaflet_pdf import ARTEFACTS, pdf_text, words
from pypdf import PdfReader

from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.kb.text import band_range, expand
from neutropenia_kb.render import leaflet as L
from neutropenia_kb.render import leaflet_table as T
from neutropenia_kb.render.leaflet_content import PART_HEADINGS
from neutropenia_kb.render.site import leaflet_links

GENERAL = T.leaflet_by_slug("neutropenia-what-you-need-to-know")
HELP = T.leaflet_by_slug("when-to-get-help")
HOME = T.leaflet_by_slug("preventing-infection-at-home")


def test_file_names_are_the_contract_with_the_website(built: dict[str, Path]) -> None:
    expected = {f"{slug}-{suffix}.pdf"
                for slug in ("neutropenia-what-you-need-to-know", "preventing-infection-at-home",
                             "when-to-get-help")
                for suffix in ("a4", "letter", "large-print-a4", "large-print-letter")}
    assert set(built) == expected
    links = leaflet_links()
    assert {lf.file for lf in links} == expected  # every file the site links is built
    assert [lf.file for lf in links if lf.page == "help.md" and lf.variant == "A4"] == [
        "neutropenia-what-you-need-to-know-a4.pdf", "when-to-get-help-a4.pdf"]


@pytest.mark.parametrize("name", ["neutropenia-what-you-need-to-know-a4.pdf",
                                  "neutropenia-what-you-need-to-know-large-print-letter.pdf"])
def test_general_leaflet_has_every_section_and_item(kb: KnowledgeBase, built: dict[str, Path],
                                                    name: str) -> None:
    text = pdf_text(built[name])
    for part in GENERAL.parts:
        assert PART_HEADINGS[part] in text, part
    titles = [i.title for i in (*kb.topics, *kb.symptoms, *kb.causes, *kb.tests, *kb.treatments,
                                *kb.precautions, *kb.levels, *kb.urgency_rules)]
    titles += [g.title for grouping in kb.cause_groupings for g in grouping.groups]
    titles += [g.title for g in (*kb.treatment_groups, *kb.precaution_groups)]
    titles += [s.title for s in kb.sources]
    missing = [t for t in titles if words(t) not in text]
    assert not missing
    for band in kb.severity.bands:  # the table prints the evaluator's own edges
        assert band.title in text and band_range(kb, band) in text
    # texts with placeholders print the threshold values, with the glyphs the font must carry
    assert "38.0 °C (100.4 °F)" in text and "cells/µL" in text
    assert kb.meta.version in text


def test_unreviewed_content_says_draft_on_every_page_and_prints_no_review_date(
        kb: KnowledgeBase, built: dict[str, Path]) -> None:
    assert not kb.meta.reviewed_by  # the shipped rules record no reviewer yet
    for name, path in built.items():
        for page in PdfReader(path).pages:
            text = words(page.extract_text() or "")
            assert "DRAFT: not yet checked by a clinical reviewer" in text, name
            assert "eviewed" not in text.replace("not yet checked by a clinical reviewer", "")
        assert "21 November 2026" not in pdf_text(path), name  # kb.last_reviewed, not a review


def test_reviewed_content_prints_its_reviewer_and_dates(kb: KnowledgeBase) -> None:
    from dataclasses import replace

    reviewed = replace(kb, meta=replace(kb.meta, reviewed_by=("Dr A Reviewer",)))
    html = L.leaflet_html(reviewed, HELP)
    assert "Reviewed 21 November 2026 by Dr A Reviewer" in html and "DRAFT" not in html


def test_topic_leaflets_show_their_parts(kb: KnowledgeBase, built: dict[str, Path]) -> None:
    home = pdf_text(built["preventing-infection-at-home-a4.pdf"])
    assert all(words(p.title) in home for p in kb.precautions)
    # a topic leaflet stays on its topic: no cause is shown (its title followed by its text)
    assert not [c.id for c in kb.causes
                if f"{words(c.title)} {words(expand(kb, c.text))[:30]}" in home]
    fridge = pdf_text(built["when-to-get-help-a4.pdf"])
    assert all(words(r.title) in fridge for r in kb.urgency_rules)
    assert all(words(expand(kb, lv.text)) in fridge for lv in kb.levels)
    assert "38.0 °C (100.4 °F)" in fridge  # the fever threshold is on the fridge sheet
    # the most urgent part first: the emergency box, then the others, then the phone numbers
    levels = sorted(kb.levels, key=lambda lv: lv.rank)
    at = [fridge.index(lv.title) for lv in levels] + [fridge.index("Phone numbers")]
    assert at == sorted(at)
    general = pdf_text(built["neutropenia-what-you-need-to-know-a4.pdf"])
    assert general.index(levels[0].title) < general.index("About neutropenia")


@pytest.mark.parametrize("leaflet", T.LEAFLETS, ids=lambda lf: lf.slug)
def test_page_budget_at_12_pt(built: dict[str, Path], leaflet: T.Leaflet) -> None:
    """Budgets are A4 pages (the issue's terms); Letter is 3 % smaller, so a booklet may take
    one page more there, but the fridge sheet stays one page on both."""
    assert leaflet.max_pages is not None
    a4 = len(PdfReader(built[T.file_name(leaflet, T.Variant("a4"))]).pages)
    assert a4 <= leaflet.max_pages
    letter = len(PdfReader(built[T.file_name(leaflet, T.Variant("letter"))]).pages)
    assert letter <= leaflet.max_pages + (leaflet.layout == "booklet")


def test_fridge_sheet_is_exactly_one_page(built: dict[str, Path]) -> None:
    for variant in T.VARIANTS:  # large print too: it is the copy most likely on a fridge
        assert len(PdfReader(built[T.file_name(HELP, variant)]).pages) == 1, variant


def test_page_x_of_y_on_every_page(built: dict[str, Path]) -> None:
    reader = PdfReader(built["neutropenia-what-you-need-to-know-large-print-a4.pdf"])
    total = len(reader.pages)
    assert total > 1
    for number, page in enumerate(reader.pages, start=1):
        assert f"Page {number} of {total}" in (page.extract_text() or "")


def test_metadata(kb: KnowledgeBase, built: dict[str, Path]) -> None:
    reader = PdfReader(built["when-to-get-help-letter.pdf"])
    info = reader.metadata
    assert info is not None
    assert info.title == "When to get help"
    assert info.author == ", ".join(kb.meta.written_by)
    assert reader.trailer["/Root"]["/Lang"] == kb.meta.language
    assert info["/CreationDate"].startswith("D:" + kb.meta.last_reviewed.replace("-", ""))


def test_letter_and_a4_page_sizes(built: dict[str, Path]) -> None:
    a4 = PdfReader(built["when-to-get-help-a4.pdf"]).pages[0].mediabox
    letter = PdfReader(built["when-to-get-help-letter.pdf"]).pages[0].mediabox
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)
    assert (round(float(letter.width)), round(float(letter.height))) == (612, 792)


def test_shipped_font_covers_the_units_and_is_embedded(built: dict[str, Path]) -> None:
    for font_file in T.FONT_FILES:
        cmap = TTFont(T.FONT_DIR / font_file).getBestCmap()
        assert all(ord(c) in cmap for c in "µ°×⁹≥"), font_file
    assert (T.FONT_DIR / "LICENSE").read_text().count("Bitstream") > 1
    page = PdfReader(built["neutropenia-what-you-need-to-know-a4.pdf"]).pages[0]
    fonts = page["/Resources"]["/Font"]
    names = {str(fonts[k].get_object()["/BaseFont"]) for k in fonts}
    # the family name of our @font-face rule: the shipped file, never a system font
    assert names and all("NKB-DejaVu-Sans-Condensed" in n for n in names), names
    for key in fonts:  # embedded, not merely named
        descendant = fonts[key].get_object().get("/DescendantFonts")
        font = descendant[0].get_object() if descendant else fonts[key].get_object()
        descriptor = font["/FontDescriptor"].get_object()
        assert any(k in descriptor for k in ("/FontFile2", "/FontFile3", "/FontFile"))


def _body_size(path: Path) -> float:
    """The most common font size of the text on page 2 (the body, not the headings)."""
    sizes: Counter[float] = Counter()

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            scale = (tm[0] ** 2 + tm[1] ** 2) ** 0.5 * (cm[0] ** 2 + cm[1] ** 2) ** 0.5
            sizes[round(size * scale, 1)] += len(text)

    PdfReader(path).pages[1].extract_text(visitor_text=visit)
    return sizes.most_common(1)[0][0]


def test_large_print_body_is_at_least_16_pt(built: dict[str, Path]) -> None:
    assert T.Variant("a4", True).body_pt >= 16
    assert _body_size(built["neutropenia-what-you-need-to-know-large-print-a4.pdf"]) >= 16
    assert _body_size(built["neutropenia-what-you-need-to-know-a4.pdf"]) == pytest.approx(12, abs=0.2)


def test_same_input_gives_identical_bytes(kb: KnowledgeBase, built: dict[str, Path],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    again = L.render_leaflet(kb, HELP, T.Variant("a4"))
    assert again == built["when-to-get-help-a4.pdf"].read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14T22:13:20Z
    first = L.render_leaflet(kb, HELP, T.Variant("a4"))
    assert first == L.render_leaflet(kb, HELP, T.Variant("a4"))
    info = PdfReader(io.BytesIO(first)).metadata
    assert info is not None and info["/CreationDate"].startswith("D:20231114221320")
    assert first != again


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_page_one_rendered_for_a_visual_check(built: dict[str, Path]) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for name in ("neutropenia-what-you-need-to-know-a4.pdf", "when-to-get-help-a4.pdf"):
        stem = ARTEFACTS / name.removesuffix(".pdf")
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                        str(built[name]), str(stem)], check=True)
        png = stem.with_suffix(".png")
        assert png.stat().st_size > 10_000  # a page with content, not a blank sheet
