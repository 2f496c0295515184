"""Copy the minimal knowledge base and break it the way a case in cases.yaml says."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from neutropenia_kb.kb.loader import load_file

TESTS = Path(__file__).resolve().parents[1]
MINIMAL = TESTS / "fixtures" / "minimal"
CASES_FILE = TESTS / "fixtures" / "invalid" / "cases.yaml"


def load_cases() -> list[dict[str, Any]]:
    doc, problems = load_file(CASES_FILE)
    assert doc is not None and not problems, [p.render() for p in problems]
    cases: list[dict[str, Any]] = doc.data["cases"]
    return cases


def make_kb(root: Path, case: dict[str, Any] | None = None) -> Path:
    """rules/ under ``root``: the minimal knowledge base with ``case`` applied."""
    rules = root / "rules"
    shutil.copytree(MINIMAL, rules)
    if not case:
        return rules
    for spec in [case, *(case.get("also") or ())]:
        _apply(rules, spec, case["name"])
    return rules


def _apply(rules: Path, spec: dict[str, Any], name: str) -> None:
    path = rules / spec["file"]
    for edit in spec.get("replace") or ():
        text = path.read_text(encoding="utf-8")
        assert text.count(edit["old"]) == 1, f"{name}: {edit['old']!r} must occur once"
        path.write_text(text.replace(edit["old"], edit["new"]), encoding="utf-8")
    if "write" in spec:
        path.write_text(spec["write"], encoding="utf-8")
    if "write_latin1" in spec:
        path.write_bytes(spec["write_latin1"].encode("latin-1"))
    if spec.get("delete"):
        path.unlink()
    if "rename" in spec:
        path.rename(rules / spec["rename"])
