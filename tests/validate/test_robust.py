"""Bad knowledge bases of the kinds fuzzing found: each gives located problems, never a
traceback, in bounded time; the rule language's limits; one exit status per kind of mistake."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from neutropenia_kb import evaluate
from neutropenia_kb.checks.validate import validate_dir
from neutropenia_kb.kb.loader import MAX_BYTES, MAX_NESTING, load_text
from neutropenia_kb.lang.parse import MAX_DEPTH, MAX_TERMS, ParseError, parse

from .helpers import make_kb

GLOSSARY = "rules/glossary.yaml"


def rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: str, text: str | bytes,
             hooks: bool = False) -> list[str]:
    rules = make_kb(tmp_path)
    target = rules / file
    target.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    monkeypatch.chdir(tmp_path)
    return [p.render() for p in validate_dir(Path("rules"), hooks=hooks)[1]]


def test_yaml_nested_500_levels_is_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "terms: " + "[" * 500 + "]" * 500 + "\n"
    assert rendered(tmp_path, monkeypatch, "glossary.yaml", text) == [
        f"{GLOSSARY}:1:{7 + MAX_NESTING}: error: the file nests more than {MAX_NESTING} levels "
        "deep here; a knowledge base needs fewer than ten: flatten the lists and mappings"]


def test_recursive_alias_is_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert rendered(tmp_path, monkeypatch, "glossary.yaml", "terms: &t\n  - *t\n") == [
        f"{GLOSSARY}:2:5: error: the alias '*t' is inside its own anchor '&t', so it never ends; "
        "write the value out instead"]


def test_control_character_and_nul_are_located(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert rendered(tmp_path, monkeypatch, "glossary.yaml", "terms:\n  - id: a\x1b[31m\n") == [
        f"{GLOSSARY}:2:10: error: the character \\x1b (U+001B) is not allowed in YAML text; "
        "delete it (it is often pasted in by accident)"]
    doc, problems = load_text(Path("g.yaml"), b"terms:\n  - id: a\x00\n")
    assert doc is None and [p.location() for p in problems] == ["g.yaml:2:10"]


def test_unclosed_quote_is_reported_where_it_opened() -> None:
    text = ("terms:\n  - id: a\n    term: \"Sore throat\n    definition: x\n  - id: b\n"
            "    term: B\n    definition: y\n  - id: c\n    term: \"C\"\n")
    _, problems = load_text(Path("g.yaml"), text.encode())
    assert [p.render() for p in problems] == [
        "g.yaml:3:11: error: YAML syntax error: did not find expected key (while parsing a "
        "block mapping); check the indentation of this line against the lines above; the quote "
        "opened here runs on to line 9: close it on this line"]
    _, problems = load_text(Path("g.yaml"), b"terms:\n  - id: a\n    term: \"Sore\n")
    assert [p.location() for p in problems] == ["g.yaml:3:11"]


def test_large_file_is_refused_quickly_and_honestly(tmp_path: Path) -> None:
    big = tmp_path / "glossary.yaml"
    big.write_text("terms:\n" + "  - x\n" * 780_000, encoding="utf-8")  # 4.7 MB, no alias
    start = time.perf_counter()
    _, problems = load_text(big, big.read_bytes())
    elapsed = time.perf_counter() - start
    assert [p.render() for p in problems] == [
        f"{big}:199999:5: error: the file holds more than 200,000 values; a knowledge base file "
        "holds a few thousand: is this really a knowledge-base file?"]
    assert elapsed < 6, f"took {elapsed:.1f} s"
    too_big = load_text(big, b"#" * (MAX_BYTES + 1))[1]
    assert [p.location() for p in too_big] == [f"{big}:1:1"]


def test_unknown_key_and_long_value_are_shown_escaped_and_short(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = rendered(tmp_path, monkeypatch, "glossary.yaml",
                     'terms:\n  - id: a\n    term: A\n    "\\e]0;pwned\\a": 1\n')
    assert "rules/glossary.yaml:4:5: error: terms[0]: unknown key '\\x1b]0;pwned\\x07' (allowed: " \
        "id, term, definition, sources, note, see_also, review)" in lines
    overview = (Path("rules") / "overview.yaml").read_text(encoding="utf-8")
    huge = "x" * 1_000_000
    lines = rendered(tmp_path / "b", monkeypatch, "overview.yaml",
                     overview.replace("section: about", f"section: {huge}", 1))
    assert lines and all(len(line) < 400 for line in lines), [ln[:200] for ln in lines]
    assert "(1,000,000 characters)" in lines[0]


def test_huge_numbers_are_refused_at_their_line() -> None:
    _, problems = load_text(Path("g.yaml"), b"a: 1.0e+999999999\nb: " + b"9" * 5000 + b"\n")
    assert [p.location() for p in problems] == ["g.yaml:1:4", "g.yaml:2:4"]


# ---- the rule language's limits -----------------------------------------------------------


@pytest.mark.parametrize("text, column", [
    ("not " * 100 + "x", 4 * MAX_DEPTH + 1),
    ("(" * 197 + "x" + ")" * 197, MAX_DEPTH + 1),
    (" or ".join(["x"] * 197), 5 * (MAX_TERMS - 1) + 3),  # the 'or' that adds term 65
    (" and ".join(["x"] * 100), 6 * (MAX_TERMS - 1) + 3),
    (" + ".join(["wbc"] * 100) + " > 1", 1 + 6 * (MAX_TERMS - 1) + 4),
])
def test_conditions_over_the_limits_are_parse_errors(text: str, column: int) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.pos + 1 == column, caught.value.message


def test_conditions_at_the_limits_validate_and_evaluate(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """As wide and as deep as allowed, the same decisions as the plain conditions."""
    plain = make_kb(tmp_path / "plain")
    rules = make_kb(tmp_path)
    inputs = rules / "inputs.yaml"
    wide = " or ".join(["temperature >= fever_temperature"] * (MAX_TERMS - 1) + ["symptom(fever)"])
    deep = "not " * (MAX_DEPTH - 2) + "severity in [mild, moderate, severe]"  # Not…→In→Name
    text = inputs.read_text(encoding="utf-8")
    text = text.replace("when: temperature >= fever_temperature or symptom(fever)", f"when: {wide}")
    text = text.replace("when: severity in [mild, moderate, severe]", f"when: {deep}")
    inputs.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    kb, problems = validate_dir(Path("rules"))
    # (a warning says the decisions' fingerprint changed: the conditions were rewritten)
    assert [p.render() for p in problems if p.severity == "error"] == []
    reference, _ = validate_dir(plain)
    assert kb is not None and reference is not None
    # (an empty patient is refused since 1.2.0; symptoms left empty stand for "nothing else known")
    for patient in ({"temperature": "38.5 C", "anc": 800}, {"anc": 1600}, {"symptoms": ["fever"]},
                    {"symptoms": []}):
        assert evaluate(kb, patient).decision_json() == \
            evaluate(reference, patient).decision_json(), patient


def test_too_deep_condition_is_located_in_validate(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    rules = make_kb(tmp_path)
    inputs = rules / "inputs.yaml"
    deep = "(" * 197 + "symptom(fever)" + ")" * 197
    inputs.write_text(inputs.read_text(encoding="utf-8").replace(
        "when: temperature >= fever_temperature or symptom(fever)", f"when: {deep}"),
        encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    lines = [p.render() for p in validate_dir(Path("rules"))[1]]
    assert lines[0].startswith("rules/inputs.yaml:43:") and "nested more than 32" in lines[0]
    assert lines[0].split(":")[2] == str(11 + MAX_DEPTH), lines[0]  # the value starts at 11


# ---- one exit status per kind of mistake ----------------------------------------------------


def nkb(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neutropenia_kb", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("verb", [["validate"], ["build"], ["evaluate", "p.json"], ["status"],
                                  ["test"], ["readability"], ["leaflet"], ["new", "cause", "x"]])
def test_missing_rules_folder_is_a_usage_error_for_every_verb(tmp_path: Path,
                                                              verb: list[str]) -> None:
    run = nkb(*verb, cwd=tmp_path)
    assert run.returncode == 2 and "no such folder" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_bad_new_id_and_bad_revision_are_usage_errors(tmp_path: Path) -> None:
    make_kb(tmp_path)
    run = nkb("new", "cause", "Bad-Id", cwd=tmp_path)
    assert run.returncode == 2 and "'Bad-Id' is not a valid id" in run.stderr
    run = nkb("diff", "nowhere", "rules", cwd=tmp_path)
    assert run.returncode == 2 and "neither a folder nor a git revision" in run.stderr \
        or "not a folder, and this is not a git repository" in run.stderr
