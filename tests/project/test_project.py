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
