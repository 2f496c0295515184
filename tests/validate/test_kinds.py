"""The table of item kinds (kb/kinds.py) is the one place a kind is described: a kind added to the
table alone is loaded, validated, cross-referenced, condition-checked, built into the model,
placed on a site page and named by `nkb diff`, with no other code changed.

The new kind ("tip", in rules/tips.yaml) borrows the tests' schema, so that no schema file has to
be written for the test: a real new kind would add schema/tips.schema.json and its templates.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neutropenia_kb.authoring.diff import compare
from neutropenia_kb.checks.validate import validate_dir, validate_docs
from neutropenia_kb.kb import kinds
from neutropenia_kb.kb.items import Advice
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.kb.schema import resolve, schemas
from neutropenia_kb.lang.check import conditions
from neutropenia_kb.render.site import item_pages

MINIMAL = Path(__file__).resolve().parents[1] / "fixtures" / "minimal"

TIPS = """\
# yaml-language-server: $schema=../schema/tests.schema.json
tests:
  - id: wash_hands_tip
    title: Wash your hands often
    text: >-
      Wash your hands with soap and water before you eat.
    applies_when: {when}
    sources:
      - {{source: apollo_2025, section: what_is}}
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(MINIMAL, folder)
    return folder


@pytest.fixture
def tip_kind(monkeypatch: pytest.MonkeyPatch) -> kinds.ItemKind:
    """The new kind, in the table only."""
    monkeypatch.setitem(kinds.FILES, "tips", kinds.FileKind("tips", schema="tests"))
    tip = kinds.ItemKind("tip", "Tip", "tips", ("tests",), Advice, "living",
                         condition="applies_when")
    monkeypatch.setitem(kinds.ITEM_KINDS, "tip", tip)
    return tip


def _valid(rules: Path) -> KnowledgeBase:
    kb, problems = validate_dir(rules)
    assert [p for p in problems if p.severity == "error"] == []
    assert kb is not None
    return kb


def test_without_the_table_entry_the_file_is_unknown(rules: Path) -> None:
    (rules / "tips.yaml").write_text(TIPS.format(when="neutropenia"), encoding="utf-8")
    _, problems = validate_dir(rules)
    assert [p.message for p in problems if p.file.name == "tips.yaml"][0].startswith(
        "unknown file name 'tips.yaml'")


def test_a_kind_added_to_the_table_is_built_shown_and_reported(
        rules: Path, tip_kind: kinds.ItemKind) -> None:
    old = _valid(rules)
    (rules / "tips.yaml").write_text(TIPS.format(when="neutropenia"), encoding="utf-8")
    kb = _valid(rules)
    (tip,) = kb.of_kind("tip")
    assert isinstance(tip, Advice)
    assert (tip.kind, tip.title, tip.applies_when) == ("tip", "Wash your hands often", "neutropenia")
    assert (tip.file, tip.line) == (rules / "tips.yaml", 3)
    assert list(kb.items())[-1] == tip  # the table's order is the model's order
    assert kb.by_id["wash_hands_tip"] is tip
    assert item_pages(kb)["wash_hands_tip"] == "living.md"
    assert [(c.owner, c.kind, c.stem) for c in conditions(validate_docs(rules)[1]) if c.kind == "tip"] == [
        ("wash_hands_tip", "tip", "tips")]
    report = compare(old, kb)
    assert report.added == ("Tip `wash_hands_tip` (Wash your hands often), applies when "
                            "`neutropenia`",)


def _tips_problems(rules: Path, text: str) -> list[str]:
    (rules / "tips.yaml").write_text(text, encoding="utf-8")
    kb, problems = validate_dir(rules)
    assert kb is None
    return [f"{p.line}:{p.column}: {p.message}" for p in problems if p.file.name == "tips.yaml"]


def test_its_ids_join_the_others(rules: Path, tip_kind: kinds.ItemKind) -> None:
    shown = _tips_problems(rules, TIPS.format(when="neutropenia").replace(
        "id: wash_hands_tip", "id: complete_blood_count"))
    assert len(shown) == 1 and shown[0].startswith("3:9: duplicate id 'complete_blood_count' "
                                                   "(also at "), shown


def test_its_condition_is_checked(rules: Path, tip_kind: kinds.ItemKind) -> None:
    shown = _tips_problems(rules, TIPS.format(when="neutropenia_typo"))
    assert len(shown) == 1 and shown[0].startswith("7:19: unknown name 'neutropenia_typo'"), shown


def test_its_schema_is_checked(rules: Path, tip_kind: kinds.ItemKind) -> None:
    shown = _tips_problems(rules, TIPS.format(when="neutropenia").replace("title:", "titel:"))
    assert any(s.startswith("4:5: unknown key 'titel'; did you mean 'title'?") for s in shown), shown


def test_the_tables_agree_with_the_schemas_and_classes() -> None:
    """What the schemas allow and what the table says cannot drift apart: a topic's sections are
    the parts that take topics, and every kind's list is an array of items in its file's schema."""
    section = schemas()["overview"]["$defs"]["topic"]["properties"]["section"]
    assert section["enum"] == [p.id for p in kinds.PARTS.values() if p.topics]
    for kind in kinds.ITEM_KINDS.values():
        file = kinds.FILES[kind.file]
        node = schemas()[file.schema_name]
        for step in kind.path:
            node = resolve(file.schema_name, node)["properties"][step]
        assert resolve(file.schema_name, node)["type"] == "array", kind.name
        assert kind.part is None or kind.part in kinds.PARTS, kind.name
