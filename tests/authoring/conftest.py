"""A private copy of the real knowledge base (rules/ and schema/) for tests that edit it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest

from neutropenia_kb.kb import loader, model
from neutropenia_kb.kb.model import KnowledgeBase

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """tmp_path/rules (a copy of the real rules) next to tmp_path/schema."""
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    shutil.copytree(REPO / "schema", tmp_path / "schema")
    return tmp_path / "rules"


def build(rules: Path) -> tuple[KnowledgeBase, dict[str, loader.Doc]]:
    """The model without validation, as `nkb diff` reads an old version."""
    docs, problems = loader.load_dir(rules)
    assert not [p for p in problems if p.severity == "error"], problems
    return model.build(rules, docs), docs


def bump(version: str, part: int) -> str:
    """The real knowledge base's version with one part raised (0 major, 1 minor, 2 patch).

    Tests that edit a copy of the real rules take its version from the copy, so that a new
    content release does not break them."""
    numbers = [int(n) for n in version.split(".")]
    numbers[part] += 1
    numbers[part + 1:] = [0] * (2 - part)
    return ".".join(map(str, numbers))


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace text that must be there exactly ``count`` times: a silent no-op edit would make
    the test pass for the wrong reason."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == count, (path, old, text.count(old))
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def edit_file() -> Callable[[Path, str, str], None]:
    return edit
