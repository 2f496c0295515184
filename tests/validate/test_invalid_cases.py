"""Error messages are interface: each broken copy of the minimal knowledge base must print
exactly the lines listed in tests/fixtures/invalid/cases.yaml, quickly, without a traceback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from neutropenia_kb.checks.validate import validate_dir

from .helpers import load_cases, make_kb

CASES = load_cases()


def test_the_table_covers_every_kind_of_mistake() -> None:
    assert len(CASES) >= 25
    assert len({c["name"] for c in CASES}) == len(CASES), "case names must be unique"
    assert all(c["expect"] for c in CASES), "every broken input must produce a message"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_broken_input_gives_exact_messages(case: dict[str, Any], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    make_kb(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    # Hooks (rule, readability, review checks) have their own tests; leaving them out keeps
    # these expectations about the validator's own messages.
    _, problems = validate_dir(Path("rules"), hooks=False)
    elapsed = time.perf_counter() - start
    assert [p.render() for p in problems] == case["expect"]
    assert elapsed < float(case.get("max_seconds", 5)), f"took {elapsed:.2f} s"


def test_minimal_fixture_is_valid_with_every_check(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    make_kb(tmp_path)
    monkeypatch.chdir(tmp_path)
    kb, problems = validate_dir(Path("rules"))
    assert [p.render() for p in problems] == []
    assert kb is not None and kb.meta.id == "minimal_kb"
