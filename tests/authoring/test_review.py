"""Review dates, the decisions fingerprint, and `nkb status`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from neutropenia_kb.checks import review
from neutropenia_kb.cli import main
from neutropenia_kb.kb.fingerprint import fingerprint

from .conftest import build, bump, edit

BEFORE = dt.date(2027, 1, 1)  # before the real KB's next_review (2027-11-21)


def record_fingerprint(rules: Path) -> str:
    kb, _ = build(rules)
    value = fingerprint(kb)
    text = (rules / "kb.yaml").read_text(encoding="utf-8")
    if "    decisions: " not in text:
        edit(rules / "kb.yaml", "    changes:\n", f'    decisions: "{value}"\n    changes:\n')
    return value


def test_missing_fingerprint_tells_the_value_to_record(kb_copy: Path) -> None:
    text = (kb_copy / "kb.yaml").read_text(encoding="utf-8")
    if "    decisions: " in text:  # the real KB records it: take it out to test the message
        lines = [ln for ln in text.splitlines(keepends=True) if not ln.startswith("    decisions: ")]
        (kb_copy / "kb.yaml").write_text("".join(lines), encoding="utf-8")
    kb, docs = build(kb_copy)
    [problem] = review.check(kb, docs, BEFORE)
    assert problem.severity == "warning"
    assert problem.message == (f"the changelog entry for {kb.meta.version} records no decisions "
                               f"fingerprint; "
                               f"add `decisions: \"{fingerprint(kb)}\"` to it")


def test_changed_decision_without_version_bump(kb_copy: Path) -> None:
    old = record_fingerprint(kb_copy)
    kb, docs = build(kb_copy)
    assert review.check(kb, docs, BEFORE) == []
    edit(kb_copy / "inputs.yaml", "    value: 38.0\n", "    value: 38.5\n")
    kb, docs = build(kb_copy)
    new = fingerprint(kb)
    assert new != old
    [problem] = review.check(kb, docs, BEFORE)
    line = (kb_copy / "kb.yaml").read_text(encoding="utf-8").splitlines().index(
        f'    decisions: "{old}"') + 1
    assert (problem.line, problem.where) == (line, "changelog[0].decisions")
    assert f"record `decisions: \"{new}\"`" in problem.message
    assert "Bump `kb.version`" in problem.message
    # Bumping the version without a changelog entry for it is reported too.
    patch = bump(kb.meta.version, 2)
    edit(kb_copy / "kb.yaml", f'  version: "{kb.meta.version}"', f'  version: "{patch}"')
    kb, docs = build(kb_copy)
    [problem] = review.check(kb, docs, BEFORE)
    assert problem.message.startswith(f"version {patch} has no changelog entry")
    edit(kb_copy / "kb.yaml", "changelog:\n", f'changelog:\n  - version: "{patch}"\n    date: '
         f'"2027-01-01"\n    decisions: "{new}"\n    changes:\n      - Fever from 38.5 °C.\n')
    kb, docs = build(kb_copy)
    assert review.check(kb, docs, BEFORE) == []


def test_rewording_a_condition_keeps_the_fingerprint(kb_copy: Path) -> None:
    before = fingerprint(build(kb_copy)[0])
    edit(kb_copy / "urgency.yaml", "    when: has_fever and neutropenia\n",
         "    when: >-\n      has_fever\n      and neutropenia\n")
    assert fingerprint(build(kb_copy)[0]) == before


def test_past_review_dates_are_warnings_at_their_line(kb_copy: Path) -> None:
    record_fingerprint(kb_copy)
    edit(kb_copy / "symptoms.yaml", "  - id: chills\n", "  - id: chills\n    review:\n      "
         "last_reviewed: \"2025-01-10\"\n      next_review: \"2026-01-10\"\n      reviewed_by: "
         "[Dr A. Example]\n")
    kb, docs = build(kb_copy)
    problems = review.check(kb, docs, dt.date(2028, 1, 1))
    assert [p.render(kb_copy) for p in problems] == [
        "kb.yaml:28:16: warning: kb.next_review: review of the knowledge base was due on "
        "2027-11-21; review it, then set `last_reviewed` to the review date and `next_review` to "
        "the next one",
        f"symptoms.yaml:{kb.by_id['chills'].line + 3}:20: warning: symptoms[1].review.next_review: "
        "review of "
        "'chills' was due on 2026-01-10; review it, then set `last_reviewed` to the review date "
        "and `next_review` to the next one",
    ]
    report = review.status(kb, docs, dt.date(2027, 10, 1))
    assert [(d.id, d.overdue(report.today)) for d in report.due] == [("chills", True),
                                                                      ("kb", False)]
    assert report.reviewed == (("Dr A. Example", "chills", "2025-01-10"),)
    assert report.unsourced == ()


def test_nkb_status_command(kb_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record_fingerprint(kb_copy)
    assert main(["status", "--rules", str(kb_copy), "--today", "2027-12-01"]) == 0
    out = capsys.readouterr().out
    assert "  OVERDUE  2027-11-21  kb (kb.yaml, last reviewed 2026-11-21)\n" in out
    assert "Without sources:\n  none\n" in out
    assert main(["status", "--rules", str(kb_copy), "--today", "yesterday"]) == 2
