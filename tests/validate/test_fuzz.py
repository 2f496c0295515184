"""Fuzz `nkb validate`'s library entry with mutated copies of the minimal knowledge base: any
mutation gives Problems (or none), never an exception, within a bounded time."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neutropenia_kb.checks.validate import validate_dir

from .helpers import MINIMAL

FILES = sorted(p.name for p in MINIMAL.glob("*.yaml"))
TEXTS = {name: (MINIMAL / name).read_text(encoding="utf-8") for name in FILES}
# Fragments fuzzing found trouble with: nesting, aliases, control bytes, huge numbers, deep
# conditions, odd YAML.
PIECES = ["[", "]", "{", "}", ": ", "- ", "&a ", "*a", "\x00", "\x1b", "'", '"', "\t", "<<: *a",
          "1e+99999", "9" * 40, "not " * 40, "(" * 50, " or x" * 70, "!!python/object ", "---\n",
          "\n", "    ", "é", "\ud800", "%", "#"]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(FILES))
    text = TEXTS[name]
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "repeat"]))
        if action == "insert":
            text = text[:at] + draw(st.sampled_from(PIECES) | st.text(max_size=8)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        else:
            text = text[:at] + text[at:at + 30] * draw(st.integers(2, 20)) + text[at:]
    return name, text


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutated())
def test_no_mutation_raises(tmp_path_factory: pytest.TempPathFactory, case: tuple[str, str]) -> None:
    name, text = case
    root = tmp_path_factory.mktemp("fuzz") / "rules"
    shutil.copytree(MINIMAL, root)
    (root / name).write_bytes(text.encode("utf-8", "surrogatepass"))
    kb, problems = validate_dir(root)
    assert kb is not None or any(p.severity == "error" for p in problems)
    for problem in problems:
        problem.render()
