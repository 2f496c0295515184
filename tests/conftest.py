"""Fixtures shared by every test area: the real knowledge base and the repository paths."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "rules"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def rules_dir() -> Path:
    return RULES


@pytest.fixture(scope="session")
def kb():  # type: ignore[no-untyped-def]
    """The real knowledge base, loaded and validated once per test session."""
    import neutropenia_kb

    return neutropenia_kb.load(RULES)
