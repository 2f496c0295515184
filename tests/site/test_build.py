"""The real site builds strictly, and every generated page carries what a hospital needs."""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser
from pathlib import Path

from nkb_site_build import Built, build_site

from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.render.site import DRAFT_NOTICE, PAGES, leaflet_links
from neutropenia_kb.render.site_signs import signs


def test_real_site_builds_strictly_with_no_warnings(real_site: Built) -> None:
    assert "WARNING" not in real_site.log
    assert "ERROR" not in real_site.log
    for spec in PAGES:
        assert (real_site.site / spec.file.replace(".md", ".html")).is_file()


def test_generated_pages_are_not_written_into_the_source_tree(real_site: Built, repo: Path) -> None:
    for spec in PAGES:
        assert not (repo / "site" / spec.file).exists()


def test_every_generated_page_shows_its_sources(real_site: Built) -> None:
    for spec in PAGES:
        html = (real_site.site / spec.file.replace(".md", ".html")).read_text(encoding="utf-8")
        if spec.file != "sources.md":
            assert 'id="page-sources"' in html, spec.file
            assert 'href="sources.html#src-' in html, spec.file


def _all_pages(site: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(site.glob("*.html"))}


def test_until_a_reviewer_is_recorded_every_page_says_draft(real_site: Built,
                                                            kb: KnowledgeBase) -> None:
    assert kb.meta.reviewed_by == ()  # the real knowledge base has no reviewer yet
    pages = _all_pages(real_site.site)
    assert {"index.html", "about.html", "authoring.html", "404.html"} <= set(pages)
    for name, html in pages.items():
        assert DRAFT_NOTICE in _page_text(html), name  # hand-written pages too (the banner)
        assert not re.search(r"Last reviewed", _page_text(html)), name
    about = _page_text(pages["about.html"])
    assert "review" in about and not re.search(r"clinical authors (keep and )?review", about)


def test_with_a_reviewer_pages_show_review_dates_and_no_draft_notice(rules_copy: Path,
                                                                      tmp_path: Path) -> None:
    kb_yaml = rules_copy / "kb.yaml"
    text = kb_yaml.read_text(encoding="utf-8")
    assert text.count("  reviewed_by: []\n") == 1
    kb_yaml.write_text(text.replace("  reviewed_by: []\n", "  reviewed_by: [A. Reviewer]\n"),
                       encoding="utf-8")
    built = build_site(tmp_path / "out", rules_copy)
    assert built.returncode == 0, built.log
    pages = _all_pages(built.site)
    for spec in PAGES:
        seen = _page_text(pages[spec.file.replace(".md", ".html")])
        assert re.search(r"Last reviewed: \d{1,2} \w+ \d{4}\.", seen), spec.file
    for name, html in pages.items():
        assert DRAFT_NOTICE not in _page_text(html), name
        assert 'class="md-banner' not in html, name
    assert "Reviewed by: A. Reviewer" in _page_text(pages["sources.html"])


def test_every_item_has_an_anchor_on_its_page(real_site: Built, kb: KnowledgeBase) -> None:
    from neutropenia_kb.render.site import item_pages

    for item_id, page in item_pages(kb).items():
        html = (real_site.site / page.replace(".md", ".html")).read_text(encoding="utf-8")
        assert f'id="{item_id}"' in html, (item_id, page)


def _page_text(html_text: str) -> str:
    """What a reader sees: tags stripped, entities decoded (the site writes ' as &#39; and so on)."""
    return html_lib.unescape(re.sub(r"<[^>]*>", "", html_text))


def test_reviewer_notes_never_reach_the_site(real_site: Built, kb: KnowledgeBase) -> None:
    raw = "".join(p.read_text(encoding="utf-8") for p in real_site.site.glob("*.html"))
    seen = _page_text(raw)
    # The comparison can fail: authored text around a quote or an ampersand, which the raw HTML
    # holds only as an entity, is found in what the reader sees.
    quoted = [i.text[max(0, m.start() - 15):m.start() + 15]
              for i in kb.items() for m in re.finditer(r"[\"'&]", i.text)]
    assert any(w in seen and w not in raw for w in quoted)
    noted = [i for i in kb.items() if i.note]
    assert noted
    for item in noted:
        if item.kind != "fact":  # facts are conditions, not shown as items of their own
            assert item.title in seen, item.id  # the item is on the site ...
        assert item.note is not None and item.note[:40] not in seen, item.id  # ... its note is not


class _Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._tag: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"h1", "h2", "h3"} or (tag == "p" and ("class", "admonition-title") in attrs):
            self._tag, self._text = tag, ""

    def handle_data(self, data: str) -> None:
        if self._tag:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if self._tag == tag:
            self.found.append((tag, self._text.replace("¶", "").strip()))
            self._tag = None


def test_help_page_puts_the_emergency_first_in_words_and_structure(real_site: Built,
                                                                   kb: KnowledgeBase) -> None:
    parser = _Headings()
    parser.feed((real_site.site / "help.html").read_text(encoding="utf-8"))
    h2 = [text for tag, text in parser.found if tag == "h2"]
    assert h2[0] == "Signs and what to do"  # by sign first ...
    levels = [lv.title for lv in kb.levels]
    assert h2[1: 1 + len(levels)] == levels  # ... then the rules, most urgent level first
    titles = [text for tag, text in parser.found if tag == "p"]
    assert titles[0] == kb.levels[0].action  # the first box says what to do, in words
    for rule in kb.urgency_rules:
        assert ("h3", rule.title) in parser.found


def test_help_and_symptoms_pages_list_signs_most_urgent_first(real_site: Built,
                                                              kb: KnowledgeBase) -> None:
    found = signs(kb)
    for page, anchor in (("help.html", lambda s: f"sign-{s.id}"),
                         ("symptoms.html", lambda s: s.item.id if s.item else f"sign-{s.id}")):
        html = (real_site.site / page).read_text(encoding="utf-8")
        at = [html.index(f'id="{anchor(s)}"') for s in found]
        assert at == sorted(at), page  # in the order of signs(): most urgent first
        body = _page_text(html)
        for sign in found:
            for action in sign.actions:
                assert f"{action.action}: " in body, (page, sign.id)
    ranks = [s.rank for s in found]
    assert ranks == sorted(ranks) and ranks[0] == 0


def test_topic_pages_carry_a_conditional_reminder_not_an_alarm(real_site: Built,
                                                               kb: KnowledgeBase) -> None:
    fever = next(s for s in signs(kb) if s.reading and s.rank == 0)
    for spec in PAGES:
        html = (real_site.site / spec.file.replace(".md", ".html")).read_text(encoding="utf-8")
        body = html[html.index("<article"):html.index("</article>")]
        if spec.reminder:
            assert f"If you have {fever.reading}:" in _page_text(body), spec.file
            assert 'class="admonition danger"' not in body, spec.file
    home = _page_text((real_site.site / "index.html").read_text(encoding="utf-8"))
    assert f"If you have {fever.reading}" in home


def test_leaflets_are_in_the_site_and_linked_from_their_pages(real_site: Built) -> None:
    links = leaflet_links()
    assert {"overview.md", "living.md", "help.md"} <= {lf.page for lf in links}
    assert any("large-print-letter" in lf.file for lf in links)
    for leaflet in links:
        pdf = real_site.site / "leaflets" / leaflet.file
        assert pdf.read_bytes().startswith(b"%PDF"), leaflet.file
        html = (real_site.site / leaflet.page.replace(".md", ".html")).read_text(encoding="utf-8")
        assert f'href="leaflets/{leaflet.file}"' in html


def test_severity_table_numbers_are_the_band_values(real_site: Built, kb: KnowledgeBase) -> None:
    from neutropenia_kb.kb.text import band_range

    html = (real_site.site / "overview.html").read_text(encoding="utf-8")
    for band in kb.severity.bands:
        assert f"<td>{band_range(kb, band)}</td>" in html
