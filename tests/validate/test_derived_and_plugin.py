"""The ANC derivation is data (inputs.yaml, derived) checked like a rule; the MkDocs plugin
passes knowledge-base warnings to MkDocs, so --strict fails on them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from neutropenia_kb import InputError, evaluate, load
from neutropenia_kb.checks.validate import validate_dir

from .helpers import make_kb

REPO = Path(__file__).resolve().parents[2]


def real_rules(tmp_path: Path, old: str = "", new: str = "") -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    inputs = rules / "inputs.yaml"
    text = inputs.read_text(encoding="utf-8")
    if old:
        assert text.count(old) == 1, old
        inputs.write_text(text.replace(old, new), encoding="utf-8")
    return rules


def errors(rules: Path) -> list[str]:
    return [p.render(rules.parent) for p in validate_dir(rules)[1] if p.severity == "error"]


def test_the_model_exposes_the_declared_derivation() -> None:
    kb = load(REPO / "rules")
    [anc] = kb.derived
    assert (anc.id, anc.formula, anc.inputs) == (
        "anc", "wbc * (neutrophils_percent + bands_percent) / 100",
        ("wbc", "neutrophils_percent", "bands_percent"))
    result = evaluate(kb, {"wbc": "2.5 G/L", "neutrophils_percent": 35, "bands_percent": "4.9"})
    assert result.patient.values["anc"] == Fraction(1995, 2)  # exact, not 997.4999…
    assert result.severity == "moderate" and result.patient.anc_derived


def test_renaming_wbc_is_a_located_error(tmp_path: Path) -> None:
    rules = real_rules(tmp_path, "  - id: wbc\n", "  - id: white_cells\n")
    found = errors(rules)
    assert any(e.startswith("rules/inputs.yaml:") and "derived[0].formula: unknown name 'wbc'"
               in e for e in found), found


@pytest.mark.parametrize("formula, message", [
    ("wbc * neutrophils_percent", "the formula gives a cell count × percent, but 'anc' is a "
                                  "cell count"),
    ("wbc + neutrophils_percent", "'+' needs two values of one kind"),
    ("wbc * (neutrophils_percent + bands_percent) / bands_percent",
     "divide only by a number written in the formula"),
    ("wbc * (neutrophils_percent + bands_percent) / 100 + temperature", "is a temperature"),
])
def test_formula_units_are_checked(tmp_path: Path, formula: str, message: str) -> None:
    rules = real_rules(tmp_path, "formula: wbc * (neutrophils_percent + bands_percent) / 100",
                       f"formula: {formula}")
    found = errors(rules)
    assert any(message in e and "derived[0].formula" in e for e in found), found


def test_arithmetic_in_a_condition_is_refused(tmp_path: Path) -> None:
    rules = real_rules(tmp_path, "when: severity in [mild, moderate, severe]",
                       "when: anc < wbc * 2 or severity in [mild, moderate, severe]")
    assert any("arithmetic ('*') is for a derived input's formula" in e for e in errors(rules))


def test_percentages_over_100_keep_their_message() -> None:
    kb = load(REPO / "rules")
    with pytest.raises(InputError) as caught:
        evaluate(kb, {"neutrophils_percent": 90, "bands_percent": 20})
    assert str(caught.value).startswith("neutrophils_percent + bands_percent: '90 + 20' is not "
                                        "allowed: percentages that add up to 100 or less")


def mkdocs_build(tmp_path: Path, rules: Path, *strict: str) -> subprocess.CompletedProcess[str]:
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "about.md").write_text("# About\n", encoding="utf-8")  # index.md is generated
    config = tmp_path / "mkdocs.yml"
    config.write_text(f"site_name: Test\ndocs_dir: {docs}\nplugins:\n  - neutropenia-kb:\n"
                      f"      rules: {rules}\n      leaflets: false\n", encoding="utf-8")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", *strict, "-f", str(config),
                           "-d", str(tmp_path / "site")], capture_output=True, text=True,
                          env=env, timeout=300)


def test_mkdocs_strict_fails_on_a_knowledge_base_warning(tmp_path: Path) -> None:
    rules = make_kb(tmp_path)
    kb_yaml = rules / "kb.yaml"
    kb_yaml.write_text(kb_yaml.read_text(encoding="utf-8").replace(
        "\nchangelog:", "  - id: old_leaflet\n    title: Old\n    kind: leaflet\n    sections:\n"
        "      - {id: old_1, title: Part 1}\n\nchangelog:"), encoding="utf-8")
    warning = "kb.yaml:38:9: warning: sources[2]: source 'old_leaflet' is never cited"
    lenient = mkdocs_build(tmp_path, rules)
    assert lenient.returncode == 0, lenient.stderr
    assert warning in lenient.stderr
    strict = mkdocs_build(tmp_path, rules, "--strict")
    assert strict.returncode == 1 and warning in strict.stderr, strict.stderr
