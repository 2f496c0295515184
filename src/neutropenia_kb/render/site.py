"""The website's generated pages: which item lives on which page, and each page as Markdown.

The MkDocs plugin hands these strings to MkDocs in memory. Layout lives in
``templates/site/*.md.j2``; everything a page says comes from the knowledge base, and every
authored string is escaped for HTML *and* Markdown unless it is a field meant to hold Markdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from jinja2 import Environment
from markupsafe import Markup, escape

from neutropenia_kb.kb.kinds import page_of, section_pages
from neutropenia_kb.kb.model import Item, KnowledgeBase, Level, Section, Source, by_group
from neutropenia_kb.kb.text import (
    HTML_SPECIAL,
    band_range,
    expand,
    markdown_subset,
    service_line,
    value_of,
)
from neutropenia_kb.render.checker import checker_context
from neutropenia_kb.render.env import make_env
from neutropenia_kb.render.leaflet_table import LEAFLETS, VARIANTS, file_name
from neutropenia_kb.render.site_signs import signs


@dataclass(frozen=True)
class PageSpec:
    file: str  # the page's path in the site, e.g. "overview.md"
    title: str
    template: str
    reminder: bool = True  # open with the short "if you have a temperature of ..." reminder
    # Search weight (mkdocs-material's front matter ``search: boost``): the pages a patient acts
    # on rank above the others for everyday words such as "temperature" or "38".
    boost: float | None = None


# Nav order. Titles are page names, not clinical wording.
CHECKER_PAGE = PageSpec("checker.md", "Check your result", "checker.md.j2", reminder=False)
PAGES: tuple[PageSpec, ...] = (
    PageSpec("index.md", "Home", "index.md.j2", reminder=False, boost=2),
    PageSpec("overview.md", "Overview", "overview.md.j2"),
    PageSpec("symptoms.md", "Symptoms", "symptoms.md.j2", reminder=False, boost=2),
    PageSpec("causes.md", "Causes", "causes.md.j2"),
    PageSpec("diagnosis.md", "Diagnosis and tests", "diagnosis.md.j2"),
    PageSpec("treatment.md", "Treatment", "treatment.md.j2"),
    PageSpec("living.md", "Living with neutropenia", "living.md.j2"),
    PageSpec("help.md", "When to get help", "help.md.j2", reminder=False, boost=3),
    CHECKER_PAGE,  # its runtime reads input as engine/patient.py does (tests/checker proves it)
    PageSpec("glossary.md", "Glossary", "glossary.md.j2", reminder=False),
    PageSpec("sources.md", "Sources and review", "sources.md.j2", reminder=False),
)

# Where the topics of each overview.yaml `section` are shown.
# Topic section → page: the parts table of kb/kinds.py.
SECTION_PAGE: Mapping[str, str] = section_pages()


@dataclass(frozen=True)
class LeafletLink:
    page: str
    file: str  # name under <site>/leaflets/, as written by render.leaflet_build.build_leaflets
    title: str  # "Neutropenia: what you need to know"
    variant: str  # "large print, US Letter"


_VARIANT_LABEL = {"a4": "A4", "letter": "US Letter"}


def leaflet_links() -> tuple[LeafletLink, ...]:
    """Every leaflet in every variant, on the pages of the sections it covers — derived from
    render.leaflet_table's one table, so the file names the site links are the ones it builds."""
    links = []
    for leaflet in LEAFLETS:
        pages = dict.fromkeys(SECTION_PAGE[s] for s in leaflet.sections if s in SECTION_PAGE)
        for page in pages:
            for variant in VARIANTS:
                size = _VARIANT_LABEL[variant.size]
                label = f"large print, {size}" if variant.large_print else size
                links.append(LeafletLink(page, file_name(leaflet, variant), leaflet.title, label))
    return tuple(links)


LEAFLET_DIR = "leaflets"

# Admonition type per urgency level: Material adds an icon and the label word, so the level is
# never told by colour alone.
LEVEL_ADMONITION: Mapping[str, str] = {
    "emergency": "danger", "contact_provider": "warning", "routine": "info",
}

# ---- escaping -------------------------------------------------------------------------------

# Characters that would start Markdown (or attr_list / table) syntax inside plain text.
# One pass that escapes HTML and Markdown together: escaping one after the other would escape
# the '#' of the entities made by the first.
_MD_SPECIAL = {**HTML_SPECIAL, **{c: f"&#{ord(c)};" for c in "\\`*_[]{}|#!"}}
_LINE_BREAK = re.compile(r"\r\n|[\r\n]")


def md_plain(value: object) -> Markup:
    """Authored plain text (titles, terms, examples): shown exactly as written, never as
    HTML or Markdown, and on one line (a line break would end the heading or table row it sits
    in and let the next line start a block of its own)."""
    if isinstance(value, Markup):
        return value
    one_line = _LINE_BREAK.sub(" ", str(value))
    return Markup("".join(_MD_SPECIAL.get(c, c) for c in one_line))


def md_text(kb: KnowledgeBase, value: str) -> Markup:
    """Authored ``text``: placeholders expanded; emphasis, lists and http(s) links kept; HTML,
    images, headings, admonitions, code, tables and attribute lists shown as plain characters."""
    return Markup(markdown_subset(expand(kb, value).strip()))


def url_link(url: str) -> Markup:
    """A source's web address as a link; anything but http(s) is shown as text only."""
    if not re.match(r"^https?://[^\s<>\"'()\[\]]+$", url):
        return md_plain(url)
    return Markup(f"[{md_plain(url)}]({url})")


# ---- which item is where --------------------------------------------------------------------


def item_pages(kb: KnowledgeBase) -> dict[str, str]:
    """Item id → the page that holds its anchor (kb/kinds.py says which kind goes where)."""
    pages: dict[str, str] = {}
    for item in kb.items():
        page = page_of(item)
        if page is not None:
            pages.setdefault(item.id, page)
    return pages


def _page_items(kb: KnowledgeBase, pages: Mapping[str, str], page: str) -> list[Item]:
    return [item for item in kb.items() if pages.get(item.id) == page]


@dataclass(frozen=True)
class CitedSource:
    source: Source
    sections: tuple[tuple[str, str], ...]  # (anchor, section title)


def source_anchor(source_id: str, section_id: str | None = None) -> str:
    # Hyphens never occur in item ids, so these anchors cannot collide with an item's.
    return f"src-{source_id}" + (f"-{section_id}" if section_id else "")


def cited_sources(kb: KnowledgeBase, items: Iterable[Item]) -> list[CitedSource]:
    """The sources cited by ``items``, in bibliography order, each with the sections cited."""
    wanted: dict[str, list[str]] = {}
    for item in items:
        for ref in item.sources:
            sections = wanted.setdefault(ref.source, [])
            if ref.section and ref.section not in sections:
                sections.append(ref.section)
    out = []
    for source in kb.sources:
        if source.id in wanted:
            order = [s.id for s in source.sections]
            ids = sorted(wanted[source.id], key=lambda s: order.index(s) if s in order else len(order))
            out.append(CitedSource(source, tuple(
                (source_anchor(source.id, sid), (source.section(sid) or _unknown(sid)).title)
                for sid in ids)))
    return out


def _unknown(section_id: str) -> Section:
    return Section(section_id, section_id)


def review_dates(kb: KnowledgeBase, items: Sequence[Item]) -> tuple[str, str]:
    """(last reviewed, next review) of a page: the oldest review on it is the honest date."""
    last = [i.review.last_reviewed for i in items if i.review and i.review.last_reviewed]
    nxt = [i.review.next_review for i in items if i.review and i.review.next_review]
    default_last, default_next = kb.meta.last_reviewed, kb.meta.next_review
    if len(last) < len(items):
        last.append(default_last)
    if len(nxt) < len(items):
        nxt.append(default_next)
    return min(last, default=default_last), min(nxt, default=default_next)


# ---- rendering --------------------------------------------------------------------------------


class _Links:
    """``link(id)`` in templates: a Markdown link to the item, relative to the current page."""

    def __init__(self, kb: KnowledgeBase, pages: Mapping[str, str], current: str) -> None:
        self.kb, self.pages, self.current = kb, pages, current

    def __call__(self, item_id: str) -> Markup:
        item = self.kb.by_id.get(item_id)
        title = md_plain(expand(self.kb, item.title)) if item else md_plain(item_id)
        page = self.pages.get(item_id)
        if page is None:
            return title
        target = f"#{item_id}" if page == self.current else f"{page}#{item_id}"
        return Markup(f"[{title}]({target})")


def make_site_env(kb: KnowledgeBase) -> Environment:
    env = make_env(kb, templates="site", filters={
        "md_plain": md_plain,
        "md_text": lambda value: md_text(kb, value),
        "band_range": lambda band: band_range(kb, band),
        "threshold_value": lambda t: value_of(kb, t.id, None),
        "source_anchor": lambda sid, sec=None: Markup(escape(source_anchor(sid, sec))),
        "anchor": lambda ident: Markup(f"{{: #{escape(ident)} }}"),
        "hx": lambda level: Markup("#" * int(level)),
        "html_id": lambda ident: Markup(escape(ident)),
        "url_link": url_link,
        "sentence": lambda text: f"{text[:1].upper()}{text[1:]}",
    })
    # Every {{ value }} that is not already Markup is escaped for Markdown too, so a template
    # cannot forget to: Markdown is only ever let through by md_text.
    env.finalize = md_plain
    return env


@dataclass(frozen=True)
class Call:
    """One line of "whom to call": a service as a publisher fills it in."""

    line: str  # "Your 24-hour number: ________" until a publisher writes the number in
    when: str  # when to use it, in plain words
    say: str | None = None  # what to say when calling


def calls(kb: KnowledgeBase) -> tuple[Call, ...]:
    """Every service of ``kb.services``, in file order; a knowledge base without services gives
    none, and the pages then name no number rather than invent one."""
    return tuple(Call(service_line(s), s.when, s.say) for s in kb.services)


def calls_for(kb: KnowledgeBase, level: Level | None) -> tuple[Call, ...]:
    """Every call, the one ``level`` names first (the one to make now), then file order."""
    first = level_call(kb, level) if level else None
    rest = tuple(c for c in calls(kb) if c != first)
    return (first, *rest) if first else rest


def level_call(kb: KnowledgeBase, level: Level) -> Call | None:
    """The service a level sends the reader to (``Level.service``), if the data names one."""
    service = kb.level_service(level.id)
    return None if service is None else Call(service_line(service), service.when, service.say)


@dataclass(frozen=True)
class ReviewStatus:
    reviewed: bool  # a clinical reviewer is recorded for this version (kb.meta.reviewed_by)
    notice: str  # what every page says about it; empty once reviewed


DRAFT_NOTICE = "Draft: not yet checked by a clinical reviewer."


def review_status(kb: KnowledgeBase) -> ReviewStatus:
    """Until a reviewer is recorded the content is a draft, and no page prints a review date as
    if a review had happened (issue 11, review honesty)."""
    reviewed = bool(kb.meta.reviewed_by)
    return ReviewStatus(reviewed, "" if reviewed else DRAFT_NOTICE)


def _front_matter(spec: PageSpec) -> str:
    return f"---\nsearch:\n  boost: {spec.boost}\n---\n\n" if spec.boost else ""


def render_pages(kb: KnowledgeBase, leaflets: Iterable[str] = ()) -> dict[str, str]:
    """Every generated page as Markdown, keyed by its file name in the site.

    ``leaflets`` are the PDF file names that exist under ``leaflets/`` in the built site.
    """
    env = make_site_env(kb)
    pages = item_pages(kb)
    built = set(leaflets)
    links = leaflet_links()
    all_signs = signs(kb)
    # The signs read with a thermometer whose most urgent answer is the most urgent level:
    # the home page's first screen and the reminder on topic pages lead with them.
    urgent_readings = [s for s in all_signs if s.reading and s.rank == 0]
    top = kb.levels[0] if kb.levels else None
    status = review_status(kb)
    out = {}
    for spec in PAGES:
        if spec.file == "sources.md":
            items = list(kb.items())
        elif spec.file == "index.md":
            items = [*(s.item for s in urgent_readings if s.item),
                     *(r for s in urgent_readings for r in s.actions[0].rules), *kb.levels[:1]]
        elif spec.file == "checker.md":  # what the checker words: its sources are theirs
            items = [*kb.levels, *kb.urgency_rules, *kb.symptoms, *kb.severity.out_of_scope]
        else:
            items = _page_items(kb, pages, spec.file)
        last, nxt = review_dates(kb, items)
        out[spec.file] = _front_matter(spec) + env.get_template(spec.template).render(
            page=spec,
            pages=PAGES,
            items=items,
            link=_Links(kb, pages, spec.file),
            sources=cited_sources(kb, items),
            last_reviewed=last,
            next_review=nxt,
            review=status,
            topics=[t for t in kb.topics if pages[t.id] == spec.file],
            signs=all_signs,
            urgent_readings=urgent_readings,
            reminder=urgent_readings[0] if spec.reminder and urgent_readings else None,
            top_level=top,
            top_call=level_call(kb, top) if top else None,
            calls=calls_for(kb, top),
            leaflets=_by_title(lf for lf in links if lf.page == spec.file and lf.file in built),
            leaflet_dir=LEAFLET_DIR,
            level_admonition=LEVEL_ADMONITION,
            causes_in=lambda group_id: [c for c in kb.causes if group_id in c.groups],
            grouped=by_group,
            **(checker_context(kb) if spec.file == "checker.md" else {}),
        )
    return out


def _by_title(links: Iterable[LeafletLink]) -> list[tuple[str, list[LeafletLink]]]:
    """[(leaflet title, its variant links)] in table order: one line per leaflet on the page."""
    grouped: dict[str, list[LeafletLink]] = {}
    for link in links:
        grouped.setdefault(link.title, []).append(link)
    return list(grouped.items())
