"""`nkb validate` as authors and tools run it: exit codes, --strict, --format json, timing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neutropenia_kb.checks.validate import validate_dir

from .helpers import make_kb


def nkb(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neutropenia_kb", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_valid_kb_exits_0_with_summary(tmp_path: Path) -> None:
    make_kb(tmp_path)
    run = nkb("validate", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (0, "")
    assert run.stderr.splitlines() == [
        "rules: OK, 11 files, 0 warnings",
        # once, not per service; a note, so that --strict passes while numbers are blank
        "rules/kb.yaml: note: 2 services have no phone number (cancer_line, doctor): outputs "
        "print a blank to write it in; fill in `phone:` under `services:`"]
    kb_yaml = tmp_path / "rules" / "kb.yaml"
    kb_yaml.write_text(kb_yaml.read_text(encoding="utf-8").replace(
        "    name: Your doctor\n", "    name: Your doctor\n    phone: \"0000\"\n"), encoding="utf-8")
    run = nkb("validate", "--strict", cwd=tmp_path)
    assert run.returncode == 0 and "1 service has no phone number (cancer_line)" in run.stderr


def test_errors_exit_1_one_line_each_no_traceback(tmp_path: Path) -> None:
    rules = make_kb(tmp_path)
    (rules / "tests.yaml").write_text("- not a mapping\n", encoding="utf-8")
    (rules / "glossary.yaml").write_bytes(b"\x00\x01binary")
    run = nkb("validate", "rules", cwd=tmp_path)
    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        "rules/glossary.yaml:1:1: error: this is a binary file, not YAML text; remove it from "
        "rules/ or save it as UTF-8 text",
        "rules/tests.yaml:1:1: error: the top level is a list; it must be a mapping of keys "
        "such as 'tests:'",
    ]
    assert run.stderr.strip() == "rules: 2 errors, 0 warnings in 11 files"
    assert "Traceback" not in run.stderr


def test_warnings_pass_unless_strict(tmp_path: Path) -> None:
    rules = make_kb(tmp_path)
    kb_yaml = rules / "kb.yaml"
    kb_yaml.write_text(kb_yaml.read_text(encoding="utf-8").replace(
        "\nchangelog:", "  - id: old_leaflet\n    title: Old\n    kind: leaflet\n    sections:\n"
        "      - {id: old_1, title: Part 1}\n\nchangelog:"), encoding="utf-8")
    assert nkb("validate", cwd=tmp_path).returncode == 0
    strict = nkb("validate", "--strict", "--format", "json", cwd=tmp_path)
    assert strict.returncode == 1
    assert json.loads(strict.stdout) == [{
        "file": "rules/kb.yaml", "line": 38, "column": 9, "where": "sources[2]",
        "severity": "warning",
        "message": "source 'old_leaflet' is never cited; cite it from an item or remove it "
                   "from the bibliography"}]
    assert "(--strict: warnings fail)" in strict.stderr


def test_json_of_a_valid_kb_is_an_empty_array(tmp_path: Path) -> None:
    make_kb(tmp_path)
    run = nkb("validate", "--format", "json", cwd=tmp_path)
    assert (run.returncode, json.loads(run.stdout)) == (0, [])


def test_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    run = nkb("validate", "nowhere", cwd=tmp_path)
    assert run.returncode == 2 and "no such folder" in run.stderr


def test_build_refuses_a_broken_kb(tmp_path: Path) -> None:
    rules = make_kb(tmp_path)
    (rules / "tests.yaml").write_text("tests: {}\n", encoding="utf-8")
    run = nkb("build", cwd=tmp_path)
    assert run.returncode == 1
    assert "rules/tests.yaml:1:8: error: tests: expected a list, got a mapping" in run.stderr
    assert nkb("build", cwd=tmp_path.parent).returncode == 2  # no rules/ there


def test_real_rules_pass_strict(rules_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`nkb validate --strict rules` passes on the real knowledge base: no errors, no warnings,
    and fast. A review date that has passed fails this test: that is the governance signal."""
    run = nkb("validate", "--strict", "rules", cwd=rules_dir.parent)
    assert (run.returncode, run.stdout) == (0, ""), run.stdout
    first = run.stderr.splitlines()[0]
    assert first.startswith("rules: OK, ") and first.endswith(", 0 warnings")
    monkeypatch.chdir(rules_dir.parent)
    validate_dir(Path("rules"))  # first run pays for imports
    start = time.perf_counter()
    kb, problems = validate_dir(Path("rules"))
    elapsed = time.perf_counter() - start
    assert [p.render() for p in problems] == []
    assert kb is not None
    assert elapsed < 2.0, f"validating rules/ took {elapsed:.2f} s"
