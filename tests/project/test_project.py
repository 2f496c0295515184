"""Whole-project promises: the README's commands, CI running exactly them, help on every command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from neutropenia_kb.cli import COMMANDS, make_parser

REPO = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert block, "README must open with a sh block holding the two commands"
    return [ln for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith("#")]


def test_readme_opens_with_build_and_test_commands() -> None:
    build, test = readme_commands()
    assert "nkb build" in build
    assert "pytest" in test


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci


def test_every_command_is_registered_with_help() -> None:
    parser = make_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    registered = set(sub.choices)  # type: ignore[arg-type]
    assert registered == set(COMMANDS)
    helps = {a.dest: a.help for a in sub._choices_actions}  # type: ignore[attr-defined]
    for name in COMMANDS:
        assert helps.get(name), f"nkb {name} has no help text"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_answers_help(name: str) -> None:
    out = subprocess.run([sys.executable, "-m", "neutropenia_kb", name, "--help"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert f"nkb {name}" in out.stdout


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_documented_in_the_readme(name: str) -> None:
    assert f"nkb {name}" in (REPO / "README.md").read_text()


def test_version() -> None:
    out = subprocess.run([sys.executable, "-m", "neutropenia_kb", "--version"],
                         capture_output=True, text=True, check=True)
    assert re.fullmatch(r"nkb \d+\.\d+\.\d+\n", out.stdout)


def test_usage_mistake_exits_2_without_traceback() -> None:
    out = subprocess.run([sys.executable, "-m", "neutropenia_kb", "no-such-command"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "invalid choice" in out.stderr


def test_a_command_imports_only_what_it_runs(tmp_path: Path) -> None:
    """`nkb evaluate patient.json` answers without loading the site builder (mkdocs), the SQL
    engines (sqlglot, DuckDB) or the readability dictionary (pyphen): together they took half
    of its 2.2 s. A batch to DuckDB still loads its engine."""
    patient = tmp_path / "p.json"
    patient.write_text('{"anc": 400, "temperature": 38.5}')
    heavy = ("mkdocs", "sqlglot", "duckdb", "pyphen", "weasyprint", "pyspark")
    probe = ("import sys; from neutropenia_kb.cli import main; code = main(sys.argv[1:]); "
             f"print([m for m in {heavy!r} if m in sys.modules], file=sys.stderr); "
             "raise SystemExit(code)")
    one = subprocess.run([sys.executable, "-c", probe, "evaluate", str(patient), "--rules",
                          str(REPO / "rules")], capture_output=True, text=True, check=False)
    assert one.returncode == 0, one.stderr
    assert "severe" in one.stdout.lower()
    assert one.stderr.strip().splitlines()[-1] == "[]"
    rows = tmp_path / "rows.csv"
    rows.write_text("anc,temperature\n400,38.5\n")
    batch = subprocess.run([sys.executable, "-c", probe, "evaluate", str(rows), "-o",
                            str(tmp_path / "out.csv"), "--engine", "duckdb", "--rules",
                            str(REPO / "rules")], capture_output=True, text=True, check=False)
    assert batch.returncode == 0, batch.stderr
    assert "'duckdb'" in batch.stderr.strip().splitlines()[-1]


def test_a_mistyped_command_is_still_named_with_every_choice() -> None:
    """Only a command the arguments name is loaded; a word that names none gets the whole
    parser, so the error lists every command and the nearest one."""
    out = subprocess.run([sys.executable, "-m", "neutropenia_kb", "--debug", "evalute", "x"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "did you mean 'evaluate'" in out.stderr
    assert all(name in out.stderr for name in COMMANDS)
