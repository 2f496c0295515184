"""The built site (real `mkdocs build --strict`, no leaflets) opened from disk in Debian's
headless Chromium, for the checker's tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "site"))
from checker_browser import CHROMIUM, FLAGS  # noqa: E402
from nkb_site_build import REPO, Built, build_site  # noqa: E402


@pytest.fixture(scope="session")
def checker_site(tmp_path_factory: pytest.TempPathFactory) -> Built:
    built = build_site(tmp_path_factory.mktemp("checker-site"), REPO / "rules", leaflets=False)
    assert built.returncode == 0, built.log
    return built


@pytest.fixture(scope="module")  # module: tests/site starts Playwright of its own later
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def checker_page(chromium: Any, checker_site: Built) -> Iterator[Any]:
    """checker.html from file://, every request that is not a file of the site refused (and
    recorded: a test asserts none was tried)."""
    context = chromium.new_context()
    page = context.new_page()
    page.attempted = []  # type: ignore[attr-defined]
    site = checker_site.site.resolve().as_uri()

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(site + "/"):
            route.continue_()
        else:
            page.attempted.append(url)  # type: ignore[attr-defined]
            route.abort()

    page.route("**/*", guard)
    errors: list[str] = []
    # Script errors only: the theme's search cannot load its index from file:// (a console
    # message from Material, not from this page's scripts).
    page.on("pageerror", lambda e: errors.append(str(e)) if "search_index" not in str(e) else None)
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(f"{site}/checker.html")
    yield page
    context.close()
