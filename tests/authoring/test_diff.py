"""`nkb diff`: clinical changes between two real copies of the knowledge base, in words."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from neutropenia_kb.authoring import diff
from neutropenia_kb.authoring.diff import RevisionError
from neutropenia_kb.cli import main

from .conftest import REPO, build, bump, edit


@pytest.fixture
def two(tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(REPO / "rules", tmp_path / "old")
    shutil.copytree(REPO / "rules", tmp_path / "new")
    return tmp_path / "old", tmp_path / "new"


def report(old: Path, new: Path) -> diff.Report:
    return diff.compare(build(old)[0], build(new)[0])


def test_identical_copies_have_no_changes(two: tuple[Path, Path]) -> None:
    old, new = two
    result = report(old, new)
    assert result.empty
    assert diff.to_markdown(result).endswith("No changes.\n")


def test_decisions_are_reported_in_words(two: tuple[Path, Path]) -> None:
    old, new = two
    edit(new / "severity.yaml", "      below: 500\n", "      below: 400\n")
    edit(new / "severity.yaml", "      from: 500\n", "      from: 400\n")
    edit(new / "inputs.yaml", "    value: 38.0\n", "    value: 38.5\n")
    edit(new / "urgency.yaml", "    level: contact_provider\n    when: infection_symptom and "
         "neutropenia", "    level: emergency\n    when: infection_symptom and  neutropenia")
    edit(new / "urgency.yaml", "    when: has_fever and on_chemotherapy",
         "    when: has_fever and (on_chemotherapy or neutropenia)")
    edit(new / "precautions.yaml", "    group: food\n    title: Do not eat raw or undercooked "
         "food\n    text: >-\n      Do not eat food that is raw or not fully cooked. This helps "
         "prevent infections.\n    applies_when: neutropenia\n",
         "    group: food\n    title: Do not eat raw or undercooked food\n    text: >-\n      Do "
         "not eat food that is raw or not fully cooked. This helps prevent infections.\n    "
         "applies_when: severity in [moderate, severe]\n")
    result = report(old, new)
    assert result.decisions == (
        "Fever: threshold changed from 38.0 °C to 38.5 °C",
        "Moderate neutropenia: lower edge (from) changed from 500 to 400 cells/µL",
        "Severe neutropenia: threshold changed from 500 to 400 cells/µL",
        "Do not eat raw or undercooked food: applies_when: `neutropenia` → "
        "`severity in [moderate, severe]`",
        "Fever during chemotherapy: when: `has_fever and on_chemotherapy` → "
        "`has_fever and (on_chemotherapy or neutropenia)`",
        "Signs of infection with a low count: level changed from contact_provider to emergency",
    )
    text = diff.to_markdown(result)
    assert text.index("### Decisions changed") < text.index("- Fever: threshold changed")
    version = build(old)[0].meta.version
    assert f"> **Warning:** Decisions changed but the version is still {version}" in text
    # Re-spacing a condition (two spaces above) is not reported as a change.
    assert "infection_symptom and neutropenia` →" not in text


def test_items_added_removed_changed_and_version(two: tuple[Path, Path]) -> None:
    old, new = two
    edit(new / "symptoms.yaml", "      Your throat hurts.\n", "      Your throat is sore.\n")
    version = build(old)[0].meta.version
    later = bump(version, 1)
    edit(new / "kb.yaml", f'  version: "{version}"', f'  version: "{later}"')
    edit(new / "kb.yaml", "changelog:\n", f'changelog:\n  - version: "{later}"\n    date: '
         '"2027-01-05"\n    changes:\n      - Sore throat reworded.\n')
    from neutropenia_kb.authoring import scaffold

    scaffold.new_item(new, "cause", "new_cause_example", title="An example cause")
    result = report(old, new)
    assert result.added == ("Cause `new_cause_example` (An example cause)",)
    assert result.changed[0].startswith("Symptom `sore_throat` (Sore throat):\n  - text changed"
                                        "\n    - before: Your throat hurts.\n    - after: Your "
                                        "throat is sore.")
    md = diff.to_markdown(result)
    assert f"- Version: {version} → {later}" in md
    assert f"- Changelog {later} (2027-01-05): Sore throat reworded." in md
    assert "Warning" not in md
    reverse = report(new, old)
    assert reverse.removed == ("Cause `new_cause_example` (An example cause)",)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   cwd=repo, check=True, capture_output=True)


def test_git_revisions_and_worktree(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "rules", repo / "rules")
    _git(repo, "init", "-q")
    _git(repo, "add", "rules")
    _git(repo, "commit", "-qm", "one")
    edit(repo / "rules" / "severity.yaml", "      below: 500\n", "      below: 400\n")
    edit(repo / "rules" / "severity.yaml", "      from: 500\n", "      from: 400\n")
    monkeypatch.chdir(repo)
    assert main(["diff", "HEAD", "WORKTREE"]) == 0
    out = capsys.readouterr().out
    assert "- Severe neutropenia: threshold changed from 500 to 400 cells/µL\n" in out
    _git(repo, "commit", "-qam", "two")
    assert main(["diff", "HEAD~1", "HEAD:rules"]) == 0
    assert capsys.readouterr().out == out
    with pytest.raises(RevisionError, match="neither a folder nor a git revision"):
        diff.load_side("no-such-rev", "OLD", repo)
