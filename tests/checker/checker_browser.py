"""Where the checker's browser tests find Chromium and keep their artefacts (a module of its own:
every test folder has a conftest.py, so importing from "conftest" could find another one)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "checker"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="no Chromium at /usr/bin/chromium (scripts/setup --test)")


