"""Site builds for the website tests: the real site once per session, and knowledge-base copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from nkb_site_build import REPO, Built, build_site


@pytest.fixture(scope="session")
def real_site(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The real knowledge base, built once with its leaflets, as it would be published."""
    built = build_site(tmp_path_factory.mktemp("real-site"), REPO / "rules", leaflets=True)
    assert built.returncode == 0, built.log
    return built


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A copy of the real rules/ that a test may edit."""
    copy = tmp_path / "rules"
    shutil.copytree(REPO / "rules", copy)
    return copy
