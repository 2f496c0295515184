"""`nkb new`: the new item lands in the right file, the rest of the file is untouched, and
validation says what is left to fill in."""

from __future__ import annotations

from pathlib import Path

import pytest

from neutropenia_kb.authoring import scaffold
from neutropenia_kb.checks.validate import validate_dir
from neutropenia_kb.cli import main
from neutropenia_kb.kb import loader

from .conftest import edit


@pytest.mark.parametrize("kind", sorted(scaffold.KINDS))
def test_every_kind_appends_and_still_loads(kb_copy: Path, kind: str) -> None:
    target = kb_copy / f"{scaffold.KINDS[kind].stem}.yaml"
    before = target.read_text(encoding="utf-8")
    made = scaffold.new_item(kb_copy, kind, f"new_{kind}")
    after = target.read_text(encoding="utf-8")
    doc, problems = loader.load_file(target)
    assert doc is not None and problems == []
    items = doc.data[scaffold.KINDS[kind].key]
    assert items[-1]["id"] == f"new_{kind}"
    assert after.splitlines()[made.line - 1].endswith(f"- id: new_{kind}")
    # Only lines were added: every line of the old file is still there, in order.
    new_lines = iter(after.splitlines())
    assert all(any(old == new for new in new_lines) for old in before.splitlines())
    lines = after.splitlines()
    assert lines[made.line - 2].lstrip().startswith("# ")  # the comment on `id`
    fields = [i for i in range(made.line, len(lines)) if not lines[i].lstrip().startswith("#")]
    assert len(fields) >= 2
    for i in fields:
        assert lines[i - 1].lstrip().startswith("# "), lines[i]


def test_new_cause_block_is_commented_and_validates_once_filled(
        kb_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "cause", "foo", "--rules", str(kb_copy), "--title", "Foo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{kb_copy / 'causes.yaml'}:")
    text = (kb_copy / "causes.yaml").read_text(encoding="utf-8")
    block = text[text.index("  - id: foo\n") - 200:]
    for field in ("title", "text", "groups", "sources"):
        # Each field has a comment line right above it.
        assert "#" in block.split(f"    {field}:")[0].splitlines()[-1], field
    _, problems = validate_dir(kb_copy)
    messages = [p.render(kb_copy) for p in problems if p.severity == "error"]
    assert any("causes[17].groups: this list is empty" in m for m in messages), messages
    assert any("causes[17].sources: this list is empty" in m for m in messages), messages
    edit(kb_copy / "causes.yaml", "    groups: []\n", "    groups: [medical_conditions]\n")
    edit(kb_copy / "causes.yaml", "    sources: []\n",
         "    sources:\n      - {source: gmuk_handout, section: gmuk_2}\n")
    _, problems = validate_dir(kb_copy)
    assert [p.message for p in problems if p.severity == "error"] == [
        "`text` still says TODO; fill it in (the comment above it says what it holds)"]
    edit(kb_copy / "causes.yaml", "    text: TODO\n", "    text: Foo can lower your count.\n")
    kb, problems = validate_dir(kb_copy)
    assert kb is not None, [p.render() for p in problems]
    assert kb.by_id["foo"].title == "Foo"


def test_refusals(kb_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (kb_copy / "causes.yaml").read_bytes()
    assert main(["new", "cause", "fever", "--rules", str(kb_copy)]) == 2  # usage mistakes: 2
    assert "the id 'fever' is already used" in capsys.readouterr().err
    assert main(["new", "cause", "Bad-Id", "--rules", str(kb_copy)]) == 2
    assert "'Bad-Id' is not a valid id" in capsys.readouterr().err
    assert main(["new", "caus", "x", "--rules", str(kb_copy)]) == 2
    assert (kb_copy / "causes.yaml").read_bytes() == before


def test_empty_list_and_missing_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "symptoms.yaml").write_text("# my comment\nsymptoms: []\n", encoding="utf-8")
    scaffold.new_item(rules, "symptom", "cough")
    text = (rules / "symptoms.yaml").read_text(encoding="utf-8")
    assert text.startswith("# my comment\nsymptoms:\n  # ")
    assert "\n  - id: cough\n" in text
    made = scaffold.new_item(rules, "term", "cough_word")
    text = made.path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../schema/glossary.schema.json\n")
    doc, _ = loader.load_file(made.path)
    assert doc is not None and doc.data["terms"][0]["id"] == "cough_word"
