"""The one table of leaflets and their variants: slug, title, parts, page budget, paper sizes.

File names, the build (leaflet_build.py), the PDF layout (leaflet.py) and the website's download
links (site.py) all derive from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from neutropenia_kb.render.leaflet_content import ALL_PARTS

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "leaflet"
FONT_DIR = TEMPLATES / "fonts"
# Condensed: 10 % narrower than DejaVu Sans at the same size, so 12 pt text fits the page budgets;
# it covers µ ° × ⁹ ≥ (Liberation Sans, narrower still, lacks ⁹).
FONT_FILES = ("DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf")
FONT_FAMILY = "NKB DejaVu Sans Condensed"

Size = Literal["a4", "letter"]
SIZES: tuple[Size, ...] = ("a4", "letter")
BODY_PT = 12  # the page budgets are stated at 12 pt body text
LARGE_PRINT_PT = 16  # large print: body text at least 16 pt
SMALL_PT = 9  # standard print: running header and footer, sources
SMALL_LARGE_PRINT_PT = 12  # large print: no line smaller than this, headers and footers included
LINE_HEIGHT = 1.2  # clear print asks for space between lines; 1.2 keeps the page budgets
# Tagged PDF (structure tree, language, title in the window bar) for screen readers; the
# PDF/UA-1 variant turns tags on and writes the UA identification into the XMP metadata.
PDF_VARIANT = "pdf/ua-1"


# The most urgent part first: when to get help opens the leaflet, where no one can miss it.
GENERAL_PARTS: tuple[str, ...] = ("help", "about", "severity", "symptoms", "causes", "diagnosis",
                                  "treatment", "living", "sources")


@dataclass(frozen=True)
class Leaflet:
    """One leaflet of the table: what it shows and how many pages it may take (A4, 12 pt)."""

    slug: str
    title: str
    parts: tuple[str, ...]
    max_pages: int | None
    layout: Literal["booklet", "fridge"] = "booklet"
    # the knowledge-base sections (overview.yaml `section`) whose web pages link this leaflet
    sections: tuple[str, ...] = ()


GENERAL_SLUG = "neutropenia-what-you-need-to-know"
# Page budgets (A4, 12 pt). They were 4 and 2 pages for version 1.0.0's content in two columns
# of run-in text at 1.06 line spacing. Version 1.1.0 added about half as much again (sepsis
# signs, low temperature, line signs, painkillers, thermometer, Duffy-null; 7 more sources), and
# clear print (issue 11) asks for block headings and 1.2 line spacing, so they are now 7 and 4.
# The fridge sheet stays one page in every variant: it shows each sign by its title (with the
# whole text where it prints a number, such as the fever threshold).
LEAFLETS: tuple[Leaflet, ...] = (
    # The glossary is left out of the general leaflet: the issue makes it optional, and the
    # website carries it.
    Leaflet(GENERAL_SLUG, "Neutropenia: what you need to know",
            GENERAL_PARTS, 7, sections=ALL_PARTS[:-2]),
    Leaflet("preventing-infection-at-home", "Preventing infection at home",
            ("help", "living", "sources"), 4, sections=("living",)),
    Leaflet("when-to-get-help", "When to get help", ("help",), 1, layout="fridge",
            sections=("help", "symptoms")),
)


@dataclass(frozen=True)
class Variant:
    size: Size = "a4"
    large_print: bool = False

    @property
    def suffix(self) -> str:
        return f"large-print-{self.size}" if self.large_print else self.size

    @property
    def body_pt(self) -> int:
        return LARGE_PRINT_PT if self.large_print else BODY_PT


VARIANTS: tuple[Variant, ...] = tuple(Variant(s, lp) for lp in (False, True) for s in SIZES)


def leaflet_by_slug(slug: str) -> Leaflet:
    return next(lf for lf in LEAFLETS if lf.slug == slug)


def file_name(leaflet: Leaflet, variant: Variant = Variant()) -> str:
    """'when-to-get-help-large-print-letter.pdf' — stable: the website links these names."""
    return f"{leaflet.slug}-{variant.suffix}.pdf"
