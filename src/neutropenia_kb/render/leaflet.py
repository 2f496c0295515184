"""Printable PDF leaflets, rendered from Jinja HTML templates with WeasyPrint.

The one table of leaflets (slug, title, parts, page budget) is in leaflet_table.py; file names,
the build (leaflet_build.py) and the website's download links all derive from it. Output is reproducible: the PDF dates
come from SOURCE_DATE_EPOCH, or else from the knowledge base's review date, never from the clock.
Layout is the slow part (about 1 s a leaflet): personal leaflets reuse the general sections'
layout, and leaflet_build spreads many leaflets over worker processes.
"""

from __future__ import annotations

import atexit
import datetime as dt
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from neutropenia_kb.render.env import make_env
from neutropenia_kb.render.leaflet_content import LeafletView, build_view
from neutropenia_kb.render.leaflet_personal import PersonalView, ResultLike, personal_view
from neutropenia_kb.render.leaflet_table import (
    FONT_FAMILY,
    FONT_FILES,
    GENERAL_SLUG,
    LINE_HEIGHT,
    PDF_VARIANT,
    SMALL_LARGE_PRINT_PT,
    SMALL_PT,
    TEMPLATES,
    Leaflet,
    Variant,
    leaflet_by_slug,
)

if TYPE_CHECKING:
    from jinja2 import Environment
    from weasyprint import CSS, Document  # type: ignore[import-untyped]
    from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

    from neutropenia_kb.kb.model import KnowledgeBase


def build_time(kb: "KnowledgeBase") -> dt.datetime:
    """The timestamp written into the PDF: SOURCE_DATE_EPOCH if set (reproducible builds), else
    the knowledge base's last review date, so the same rules always give the same bytes."""
    fixed = _source_date_epoch()
    if fixed is not None:
        return fixed
    day = dt.date.fromisoformat(kb.meta.last_reviewed)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


# ---- rendering -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _font_config() -> "FontConfiguration":
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@lru_cache(maxsize=8)
def _stylesheet(variant: Variant) -> "CSS":
    """The stylesheet of one variant, parsed once and reused (it is the same for every patient)."""
    from weasyprint import CSS

    from neutropenia_kb.render.leaflet_weasy import PackageFilesOnly

    # The base URL is where the fonts are; the fetcher serves nothing outside templates/leaflet.
    return CSS(string=css_text(variant), base_url=TEMPLATES.as_uri() + "/",
               font_config=_font_config(), url_fetcher=PackageFilesOnly())


def css_text(variant: Variant) -> str:
    # Large print: one column, and no line under 12 pt (RNIB clear print); standard print keeps
    # lists of short items in two columns, which holds the general leaflet to its page budget.
    return str(_css_env().get_template("leaflet.css.j2").render(
        page_size="A4" if variant.size == "a4" else "letter", body_pt=variant.body_pt,
        small_pt=SMALL_LARGE_PRINT_PT if variant.large_print else SMALL_PT,
        line_height=LINE_HEIGHT, columns=not variant.large_print,
        font_family=FONT_FAMILY, fonts=FONT_FILES))


@lru_cache(maxsize=1)
def _css_env() -> "Environment":
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    # CSS is not HTML: no autoescape; values are numbers and names chosen in this module.
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                       autoescape=False)


def _html(kb: "KnowledgeBase", template: str, **context: Any) -> str:
    return _env(kb).get_template(template).render(**context)


# One environment per knowledge base, keyed by identity (a build renders 12 documents from one
# KB; a new environment would also recompile every template). The KB is kept with its
# environment, so its id cannot be reused while the entry exists.
_ENVS: dict[int, tuple["KnowledgeBase", "Environment"]] = {}


def _env(kb: "KnowledgeBase") -> "Environment":
    entry = _ENVS.get(id(kb))
    if entry is None or entry[0] is not kb:
        if len(_ENVS) >= 4:
            _ENVS.clear()
        entry = _ENVS[id(kb)] = (kb, make_env(kb, templates="leaflet", filters={"nbsp": _nbsp}))
    return entry[1]


def _nbsp(text: str) -> Markup:
    """Keep a number and its unit together on one line ('38.0 °C')."""
    from markupsafe import escape

    return Markup(str(escape(text)).replace(" ", "&#160;"))


def layout(html: str, variant: Variant) -> "Document":
    """WeasyPrint layout (the slow part): HTML → positioned pages. No base URL: nothing in a
    leaflet's HTML is a file to load, and a relative link must not become a file:// address
    naming the build folder."""
    from weasyprint import HTML

    from neutropenia_kb.render.leaflet_weasy import PackageFilesOnly

    return HTML(string=html, url_fetcher=PackageFilesOnly()).render(
        stylesheets=[_stylesheet(variant)], font_config=_font_config(), pdf_variant=PDF_VARIANT)


def write(document: "Document") -> bytes:
    from neutropenia_kb.render.leaflet_weasy import fixed_font_dates

    # No PDF identifier: WeasyPrint then writes none, and the bytes depend only on the input.
    with fixed_font_dates():
        pdf = document.write_pdf(pdf_identifier=None, pdf_variant=PDF_VARIANT)
    assert pdf is not None
    return bytes(pdf)


def _context(kb: "KnowledgeBase", title: str, variant: Variant, layout_name: str,
             view: LeafletView, when: dt.datetime) -> dict[str, Any]:
    return dict(
        title=title, view=view, variant=variant, layout=layout_name, meta=kb.meta,
        author=", ".join(kb.meta.written_by) or kb.meta.title,
        created=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def leaflet_html(kb: "KnowledgeBase", leaflet: Leaflet, variant: Variant = Variant()) -> str:
    view = build_view(kb, leaflet.parts)
    return _html(kb, "leaflet.html.j2",
                 **_context(kb, leaflet.title, variant, leaflet.layout, view, build_time(kb)))


def render_leaflet(kb: "KnowledgeBase", leaflet: Leaflet, variant: Variant = Variant()) -> bytes:
    return render_html(leaflet_html(kb, leaflet, variant), variant)


def render_html(html: str, variant: Variant) -> bytes:
    return write(layout(html, variant))


PERSONAL_TITLE = "Your neutropenia result and what to do"
# Most useful first: what to do at home, then treatment, then tests. The general sections are
# not repeated: a line points to the general leaflet.
PERSONAL_PARTS: tuple[str, ...] = ("living", "treatment", "diagnosis")


# Lines of the notes space: the full one, then the shorter ones tried in turn when the phone
# numbers and notes would otherwise start a page of their own.
NOTE_LINES: tuple[int, ...] = (4, 2, 0)


@dataclass(frozen=True)
class PersonalHtml:
    """A personal leaflet's HTML, ready for layout (a worker process gets this and a Variant):
    one document per size of the notes space (NOTE_LINES), the full one first."""

    versions: tuple[str, ...]


def personal_html(kb: "KnowledgeBase", result: ResultLike, variant: Variant = Variant(),
                  today: dt.date | None = None, note_lines: int = NOTE_LINES[0]) -> str:
    """The personal leaflet as one HTML document: the patient's result, what to do now, what
    would make it more urgent, then only the advice that applies."""
    day = today or today_date()
    when = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    view = build_view(kb, PERSONAL_PARTS, advice_ids=frozenset(result.advice_ids))
    person: PersonalView = personal_view(kb, result, day)
    return _html(kb, "personal.html.j2",
                 **_context(kb, PERSONAL_TITLE, variant, "booklet", view, when),
                 printed=day, person=person, general=leaflet_by_slug(GENERAL_SLUG).title,
                 note_lines=note_lines)


def personal_parts_html(kb: "KnowledgeBase", result: ResultLike, variant: Variant = Variant(),
                        today: dt.date | None = None) -> PersonalHtml:
    return PersonalHtml(tuple(personal_html(kb, result, variant, today, n) for n in NOTE_LINES))


def render_personal(kb: "KnowledgeBase", result: ResultLike, variant: Variant = Variant(),
                    today: dt.date | None = None) -> bytes:
    """A leaflet for one patient. ``today`` is the date printed (default: SOURCE_DATE_EPOCH or
    today)."""
    return render_personal_html(personal_parts_html(kb, result, variant, today), variant)


# Element ids of the end block (templates/leaflet/parts.html.j2: contacts, notes).
END_IDS = frozenset({"contacts", "notes"})


def render_personal_html(parts: PersonalHtml, variant: Variant) -> bytes:
    """Lay out the leaflet; while the phone numbers and notes alone would start a new page, lay
    it out again with a shorter notes space, then none (a page nearly empty helps no one)."""
    document = layout(parts.versions[0], variant)
    for html in parts.versions[1:]:
        if len(document.pages) == 1 or not set(document.pages[-1].anchors) <= END_IDS:
            break
        shorter = layout(html, variant)
        if len(shorter.pages) < len(document.pages):
            document = shorter
    return write(document)


def today_date() -> dt.date:
    fixed = _source_date_epoch()
    return fixed.date() if fixed is not None else dt.date.today()


def _source_date_epoch() -> dt.datetime | None:
    """SOURCE_DATE_EPOCH (the reproducible-builds convention) as a UTC time, when it is set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch else None


@atexit.register
def _release_fonts() -> None:
    """Drop the cached stylesheets and fonts while the interpreter is still whole:
    WeasyPrint's FontConfiguration.__del__ calls into modules that are gone by the final
    teardown ("Exception ignored in ... __del__: TypeError" on stderr at exit)."""
    for cached in (_stylesheet, _font_config):
        cached.cache_clear()
