"""The built site in headless Chromium: no console errors, no broken internal links, search
finds patient pages first, no sideways scrolling at 320 px, no WCAG 2.2 A/AA violation found by
axe-core, what to do in the first screen of the home page on a phone, and screenshots for a
person to look at (test-artifacts/site/)."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from typing import Iterator
from urllib.parse import quote, urldefrag, urlparse

import pytest
from nkb_site_build import REPO, Built

from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.render.site import PAGES, level_call
from neutropenia_kb.render.site_signs import signs

CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts" / "site"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="no Chromium at /usr/bin/chromium (apt-get install chromium)")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def base_url(real_site: Built) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(real_site.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


def _pages(site: Path) -> list[str]:
    """Every page of the built site, in folders too, as paths from the site's root."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if p.name != "404.html")


def test_every_page_loads_without_console_errors_and_links_resolve(browser, base_url: str,  # type: ignore[no-untyped-def]
                                                                    real_site: Built) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    ids: dict[str, set[str]] = {}
    links: list[tuple[str, str]] = []
    names = _pages(real_site.site)
    assert len(names) >= 12
    for name in names:
        response = page.goto(base_url + name)
        assert response is not None and response.ok, name
        ids[name] = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            links.append((name, href))
    page.close()
    assert errors == []
    broken = []
    for source, href in links:
        if not href.startswith(base_url):
            continue  # external sources are not fetched
        url, fragment = urldefrag(href)
        path = urlparse(url).path.lstrip("/") or "index.html"
        target = real_site.site / path
        if not target.is_file():
            broken.append(f"{source} -> {href}")
        elif fragment and path.endswith(".html") and fragment not in ids.get(path, set()):
            broken.append(f"{source} -> {href} (no such anchor)")
    assert broken == []


def _search(browser, base_url: str, word: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The pages of the search results for ``word``, best first. Material opens the search
    with ``?q=`` once its index has loaded in the web worker, so nothing typed is dropped while
    the worker starts (typing into the box was flaky on a busy machine)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base_url}index.html?q={quote(word)}")
    page.wait_for_selector(".md-search-result__item", state="attached", timeout=60_000)
    hrefs = page.eval_on_selector_all(".md-search-result__item > a.md-search-result__link",
                                      "els => els.map(e => e.href)")
    page.close()
    return [urlparse(h).path.rsplit("/", 1)[-1] for h in hrefs]


# The pages a patient reads: the generated pages except the bibliography.
PATIENT_PAGES = {spec.file.replace(".md", ".html") for spec in PAGES if spec.file != "sources.md"}


@pytest.mark.parametrize("word", ["temperature", "fever", "38", "vaccine", "sepsis"])
def test_search_puts_a_patient_page_first(browser, base_url: str, word: str) -> None:  # type: ignore[no-untyped-def]
    found = _search(browser, base_url, word)
    assert found, word
    assert found[0] in PATIENT_PAGES, (word, found)
    # the authors' guide may be found, but after the patient pages
    if "authoring.html" in found:
        assert found.index("authoring.html") > 0


@pytest.mark.parametrize("name", ["index.html", "overview.html", "help.html", "living.html"])
def test_no_sideways_scrolling_at_320_px(browser, base_url: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 320, "height": 640})
    page.goto(base_url + name)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.close()
    assert width <= 320


def test_screenshots_at_phone_and_desktop_widths(browser, base_url: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name in ("index", "help", "symptoms", "overview"):
        for width in (375, 1280):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(f"{base_url}{name}.html")
            out = ARTIFACTS / f"{name}-{width}.png"
            page.screenshot(path=str(out), full_page=True)
            page.close()
            assert out.read_bytes().startswith(b"\x89PNG")


def test_first_screen_of_the_home_page_on_a_phone_says_what_to_do(  # type: ignore[no-untyped-def]
        browser, base_url: str, kb: KnowledgeBase) -> None:
    """At 375 × 667 px (a small phone), without scrolling: the fever threshold as the data
    prints it, the action of its most urgent level with the rules that lead there, and the
    service that level names."""
    fever = next(s for s in signs(kb) if s.reading and s.rank == 0)
    action = fever.actions[0]
    page = browser.new_page(viewport={"width": 375, "height": 667})
    page.goto(base_url + "index.html")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "index-375-first-screen.png"))
    wanted = [f"If you have {fever.reading}", action.action,
              *(rule.title for rule in action.rules)]
    call = level_call(kb, kb.levels[0])  # whom to call: the service the level names
    assert call is not None
    wanted.append(call.line)
    for text in wanted:
        box = page.get_by_text(text, exact=False).first.bounding_box()
        assert box is not None, text
        assert box["y"] >= 0 and box["y"] + box["height"] <= 667, (text, box)
    page.close()


# WCAG 2.2 A and AA, as axe-core tags them.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# Violations in mkdocs-material's own markup that our templates and CSS cannot fix, by rule and
# CSS selector, each with its reason. Empty: every finding so far was ours to fix (the footer's
# and code's greys are overridden in extra.css).
MATERIAL_ALLOW: dict[tuple[str, str], str] = {}


@pytest.mark.skipif(not AXE.exists(), reason="no node_modules/axe-core (scripts/setup --test)")
@pytest.mark.parametrize("width", [375, 1280])
def test_every_page_has_no_wcag_violation(browser, base_url: str, real_site: Built,  # type: ignore[no-untyped-def]
                                          width: int) -> None:
    found = []
    for name in [*_pages(real_site.site), "404.html"]:
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(base_url + name)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                               WCAG_TAGS)
        page.close()
        for violation in result["violations"]:
            for node in violation["nodes"]:
                target = " ".join(map(str, node["target"]))
                if (violation["id"], target) not in MATERIAL_ALLOW:
                    found.append(f"{name}: {violation['id']} at {target}: "
                                 f"{node['failureSummary'].splitlines()[-1].strip()}")
    assert found == []


def test_axe_finds_a_planted_violation(browser, base_url: str) -> None:  # type: ignore[no-untyped-def]
    """The check above can fail: an image without a text alternative is found."""
    if not AXE.exists():
        pytest.skip("no node_modules/axe-core (scripts/setup --test)")
    page = browser.new_page()
    page.goto(base_url + "index.html")
    page.evaluate("() => { const i = document.createElement('img'); i.src = 'x.png';"
                  " document.querySelector('article').appendChild(i); }")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           WCAG_TAGS)
    page.close()
    assert "image-alt" in {v["id"] for v in result["violations"]}
