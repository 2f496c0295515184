"""Editor and commit-time support: schema modelines and the pre-commit hooks."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from neutropenia_kb.cli import make_parser
from neutropenia_kb.kb import loader

MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")


def test_every_rules_file_names_an_existing_schema(repo: Path) -> None:
    files = list(loader.rule_files(repo / "rules"))
    assert len(files) >= 10
    for path in files:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        match = MODELINE.match(first)
        assert match, f"{path.name}: first line must be the yaml-language-server modeline"
        assert match.group(1) == f"../schema/{path.stem}.schema.json"
        assert (path.parent / match.group(1)).resolve().is_file(), match.group(1)


def _hooks(path: Path) -> list[dict[str, object]]:
    doc, problems = loader.load_file(path) if path.suffix else (None, [])
    if doc is None:  # .pre-commit-hooks.yaml is a top-level list, which our loader refuses
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data, list)
        return data
    assert problems == []
    return [hook for repo in doc.data["repos"] for hook in repo["hooks"]]


def _assert_real_command(entry: str) -> None:
    words = shlex.split(entry)
    assert words[:3] == ["nkb", "validate", "--strict"]
    make_parser().parse_args(words[1:])


def test_pre_commit_config_runs_strict_validation(repo: Path) -> None:
    [hook] = _hooks(repo / ".pre-commit-config.yaml")
    _assert_real_command(str(hook["entry"]))
    assert hook["pass_filenames"] is False
    pattern = re.compile(str(hook["files"]))
    assert pattern.search("rules/causes.yaml") and pattern.search("schema/kb.schema.json")
    assert not pattern.search("src/neutropenia_kb/cli.py")


def test_published_hook(repo: Path) -> None:
    [hook] = _hooks(repo / ".pre-commit-hooks.yaml")
    assert hook["id"] == "nkb-validate" and hook["language"] == "python"
    _assert_real_command(str(hook["entry"]))
