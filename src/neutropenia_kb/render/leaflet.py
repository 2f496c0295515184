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
    LEAFLETS,
    TEMPLATES,
    Leaflet,
    Size,
    Variant,
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
def _stylesheet(size: Size, body_pt: int) -> "CSS":
    """The stylesheet of one variant, parsed once and reused (it is the same for every patient)."""
    from weasyprint import CSS

    from neutropenia_kb.render.leaflet_weasy import PackageFilesOnly

    # The base URL is where the fonts are; the fetcher serves nothing outside templates/leaflet.
    return CSS(string=css_text(size, body_pt), base_url=TEMPLATES.as_uri() + "/",
               font_config=_font_config(), url_fetcher=PackageFilesOnly())


def css_text(size: Size, body_pt: int) -> str:
    return str(_css_env().get_template("leaflet.css.j2").render(
        page_size="A4" if size == "a4" else "letter", body_pt=body_pt,
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
        stylesheets=[_stylesheet(variant.size, variant.body_pt)], font_config=_font_config())


def write(document: "Document") -> bytes:
    from neutropenia_kb.render.leaflet_weasy import fixed_font_dates

    # No PDF identifier: WeasyPrint then writes none, and the bytes depend only on the input.
    with fixed_font_dates():
        pdf = document.write_pdf(pdf_identifier=None)
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
PERSONAL_PARTS = LEAFLETS[0].parts


@dataclass(frozen=True)
class PersonalHtml:
    """A personal leaflet as two HTML documents: the patient's own pages, and the general
    sections, which are the same for every patient printed that day (so laid out once)."""

    own: str
    general: str


def personal_html(kb: "KnowledgeBase", result: ResultLike, variant: Variant = Variant(),
                  today: dt.date | None = None) -> str:
    """The whole personal leaflet as one HTML document (a preview; and the benchmark's
    baseline, which lays out the general sections again for every patient)."""
    return _personal(kb, result, variant, today, own=True, whole=True)


def personal_parts_html(kb: "KnowledgeBase", result: ResultLike, variant: Variant = Variant(),
                        today: dt.date | None = None) -> PersonalHtml:
    return PersonalHtml(_personal(kb, result, variant, today, own=True),
                        _personal(kb, result, variant, today, own=False))


def _personal(kb: "KnowledgeBase", result: ResultLike, variant: Variant, today: dt.date | None,
              *, own: bool, whole: bool = False) -> str:
    """``own``: the patient's pages (``whole``: with the general sections after them); else the
    general sections alone."""
    day = today or today_date()
    when = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    extra: dict[str, Any] = dict(printed=day, whole=whole)
    if own:  # the patient's pages: only the advice that applies
        template = "personal.html.j2"
        view = build_view(kb, PERSONAL_PARTS, advice_ids=frozenset(result.advice_ids))
        person: PersonalView = personal_view(kb, result, day)
        extra.update(person=person)
    else:  # the general sections alone do not depend on the patient
        template = "personal_general.html.j2"
        view = build_view(kb, PERSONAL_PARTS)
    return _html(kb, template, **_context(kb, PERSONAL_TITLE, variant, "booklet", view, when),
                 **extra)


def render_personal(kb: "KnowledgeBase", result: ResultLike, variant: Variant = Variant(),
                    today: dt.date | None = None) -> bytes:
    """A leaflet for one patient: their result first, then only the advice that applies, then
    the general sections. ``today`` is the date printed (default: SOURCE_DATE_EPOCH or today)."""
    return render_personal_html(personal_parts_html(kb, result, variant, today), variant)


# Stand-in pages make "Page X of Y" right with plain CSS counters in both documents: the
# patient's document ends with m blank pages standing for the general part, and the general
# part starts with n blank pages standing for the patient's; the stand-ins are dropped.
def _with_blanks(html: str, before: int = 0, after: int = 0) -> str:
    body = html.index(">", html.index("<body")) + 1
    end = html.rindex("</body>")
    return (html[:body] + '<div class="blank-before"></div>' * before + html[body:end]
            + '<div class="blank-after"></div>' * after + html[end:])


def render_personal_html(parts: PersonalHtml, variant: Variant) -> bytes:
    """Lay out the patient's pages, then append the general sections' cached layout, numbered
    on from them; the PDF metadata are those of the patient's document."""
    key = (parts.general, variant)
    general_pages = _GENERAL_PAGES.get(key)
    if general_pages is None:  # the first leaflet of this day and variant
        n = len(layout(parts.own, variant).pages)
        general_pages = len(_general_layout(parts.general, variant, n).pages) - n
        if len(_GENERAL_PAGES) >= 8:
            _GENERAL_PAGES.clear()
        _GENERAL_PAGES[key] = general_pages
    own = layout(_with_blanks(parts.own, after=general_pages), variant)
    n = len(own.pages) - general_pages
    general = _general_layout(parts.general, variant, n)
    return write(own.copy(own.pages[:n] + general.pages[n:]))


# How many pages the general part takes, by (html, variant): the same whatever page it starts on.
_GENERAL_PAGES: dict[tuple[str, Variant], int] = {}


# A batch has one general part per variant and day and the patient's pages take one to three
# pages, so a few entries serve a whole batch. Reusing laid-out pages is safe: writing a PDF
# only reads them (the bytes are the same as from a fresh layout; tests/leaflet checks it).
@lru_cache(maxsize=8)
def _general_layout(html: str, variant: Variant, own_pages: int) -> "Document":
    """The general part laid out after ``own_pages`` blank pages (drop them before use)."""
    return layout(_with_blanks(html, before=own_pages), variant)


def today_date() -> dt.date:
    fixed = _source_date_epoch()
    return fixed.date() if fixed is not None else dt.date.today()


def _source_date_epoch() -> dt.datetime | None:
    """SOURCE_DATE_EPOCH (the reproducible-builds convention) as a UTC time, when it is set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch else None


@atexit.register
def _release_fonts() -> None:
    """Drop the cached layouts, stylesheets and fonts while the interpreter is still whole:
    WeasyPrint's FontConfiguration.__del__ calls into modules that are gone by the final
    teardown ("Exception ignored in ... __del__: TypeError" on stderr at exit)."""
    for cached in (_general_layout, _stylesheet, _font_config):
        cached.cache_clear()
