"""The built site in headless Chromium: no console errors, no broken internal links, search
finds "fever", no sideways scrolling at 320 px, and screenshots for a person to look at."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from typing import Iterator
from urllib.parse import urldefrag, urlparse

import pytest
from nkb_site_build import REPO, Built

CHROMIUM = Path("/usr/bin/chromium")
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
    return sorted(p.name for p in site.glob("*.html") if p.name != "404.html")


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


def test_search_finds_fever(browser, base_url: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base_url + "index.html")
    # The index loads in a web worker: a query typed before it is ready can be dropped, so
    # type it again until the worker answers (a minute at most, for a busy machine).
    found = False
    for _ in range(12):
        page.fill("input.md-search__input", "")
        page.fill("input.md-search__input", "fever")
        try:
            page.wait_for_selector(".md-search-result__item", timeout=5_000)
        except PlaywrightTimeout:
            continue
        found = True
        break
    assert found, "search never answered"
    results = page.inner_text(".md-search-result")
    page.close()
    assert "fever" in results.lower()


@pytest.mark.parametrize("name", ["index.html", "overview.html", "help.html", "living.html"])
def test_no_sideways_scrolling_at_320_px(browser, base_url: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 320, "height": 640})
    page.goto(base_url + name)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.close()
    assert width <= 320


def test_screenshots_at_phone_and_desktop_widths(browser, base_url: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name in ("overview", "help"):
        for width in (375, 1280):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(f"{base_url}{name}.html")
            out = ARTIFACTS / f"{name}-{width}.png"
            page.screenshot(path=str(out), full_page=True)
            page.close()
            assert out.read_bytes().startswith(b"\x89PNG")
