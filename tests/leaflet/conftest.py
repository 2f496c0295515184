"""Leaflets built once per session from the real knowledge base."""

from __future__ import annotations

from pathlib import Path

import pytest

from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.render.leaflet_build import build_leaflets


@pytest.fixture(scope="session")
def built(kb: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every general and topic leaflet in every variant, by file name."""
    out = tmp_path_factory.mktemp("leaflets")
    return {p.name: p for p in build_leaflets(kb, out)}
