"""Every example in site/authoring.md is checked: YAML snippets validate when inserted into a
copy of the knowledge base, conditions parse and name real things, commands parse, and the
shown `nkb validate` output is regenerated and compared exactly."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import sysconfig
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from neutropenia_kb import evaluator_for
from neutropenia_kb.authoring import scaffold
from neutropenia_kb.checks.validate import validate_dir
from neutropenia_kb.cli import main, make_parser
from neutropenia_kb.engine.cases import load_cases, run_case
from neutropenia_kb.kb import loader
from neutropenia_kb.lang.parse import names_in, parse

from .conftest import REPO, build

GUIDE = REPO / "site" / "authoring.md"
# ```yaml title="rules/causes.yaml"  or, with a check flag the site renders as an attribute,
# ```{.yaml title="rules/kb.yaml" data-check="readability"}
FENCE = re.compile(r"^(?P<indent> *)```(?:\{\.(?P<lang2>\w+)(?P<info2>[^}\n]*)\}|(?P<lang>\w+)"
                   r"(?P<info>[^\n]*))\n(?P<body>.*?)^(?P=indent)``` *$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    lang: str
    title: str
    flags: tuple[str, ...]
    body: str
    line: int

    @property
    def name(self) -> str:
        return f"{self.lang}:{self.title or '-'}:{'/'.join(self.flags)}:line{self.line}"


def blocks() -> list[Block]:
    text = GUIDE.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        lang = m.group("lang") or m.group("lang2")
        info = m.group("info") if m.group("lang") else m.group("info2")
        title = re.search(r'title="([^"]*)"', info)
        flags = tuple(re.findall(r'data-check="([^"]*)"', info))
        assert not re.sub(r'(title|data-check)="[^"]*"', "", info).strip(), info
        body = textwrap.dedent("\n".join(ln[len(m.group("indent")):] if ln.strip() else ""
                                         for ln in m.group("body").splitlines()) + "\n")
        out.append(Block(lang, title.group(1) if title else "", flags,
                         body, text.count("\n", 0, m.start()) + 1))
    return out


BLOCKS = blocks()


def _insert_item(rules: Path, block: Block) -> str:
    """Append the snippet to the list of its file, as an author would; returns its id."""
    stem = Path(block.title).stem
    kind = next(k for k in scaffold.KINDS.values() if k.stem == stem)
    path = rules / f"{stem}.yaml"
    doc, _ = loader.load_file(path)
    path.write_text(scaffold.insert(path.read_text(encoding="utf-8"), doc, kind,
                                    lambda dash: [" " * dash + ln if ln else ln for ln in
                                                  block.body.rstrip("\n").splitlines()]),
                    encoding="utf-8")
    return re.search(r"- id: (\w+)", block.body).group(1)  # type: ignore[union-attr]


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    shutil.copytree(REPO / "schema", tmp_path / "schema")
    return tmp_path / "rules"


def test_every_block_is_a_kind_we_check() -> None:
    assert len(BLOCKS) >= 12
    for block in BLOCKS:
        assert (block.lang, block.flags) in {
            ("yaml", ()), ("yaml", ("broken",)), ("yaml", ("readability",)),
            ("yaml", ("changelog",)), ("yaml", ("modeline",)), ("condition", ()), ("sh", ()),
            ("json", ()), ("text", ())}, block.name


ITEMS = [b for b in BLOCKS if b.lang == "yaml" and not b.flags
         and b.title.startswith("rules/")]


@pytest.mark.parametrize("block", ITEMS, ids=[b.name for b in ITEMS])
def test_item_snippets_validate(tmp_path: Path, block: Block) -> None:
    rules = _copy(tmp_path)
    ident = _insert_item(rules, block)
    kb, problems = validate_dir(rules)
    assert kb is not None, [p.render(tmp_path) for p in problems]
    assert ident in kb.by_id
    assert not [p for p in problems if ident in p.message or f"'{ident}'" in p.where]


BROKEN = [i for i, b in enumerate(BLOCKS) if "broken" in b.flags]


@pytest.mark.parametrize("index", BROKEN, ids=[BLOCKS[i].name for i in BROKEN])
def test_validation_output_is_the_real_one(tmp_path: Path, index: int,
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    block, shown = BLOCKS[index], BLOCKS[index + 1]
    assert shown.lang == "text" and shown.title == "nkb validate"
    rules = _copy(tmp_path)
    _insert_item(rules, block)
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 1
    captured = capsys.readouterr()
    real = captured.out + captured.err
    assert shown.body == real, f"site/authoring.md line {shown.line} should read:\n{real}"


def test_text_blocks_are_all_regenerated() -> None:
    texts = [i for i, b in enumerate(BLOCKS) if b.lang == "text"]
    assert texts and all(i - 1 in BROKEN for i in texts)


def _known_names(rules: Path) -> set[str]:
    kb, _ = build(rules)
    return ({i.id for i in kb.inputs} | {t.id for t in kb.thresholds} | {f.id for f in kb.facts}
            | {b.id for b in kb.severity.bands} | {s.id for s in kb.symptoms} | {"severity"})


def test_conditions_parse_and_name_real_things(rules_dir: Path) -> None:
    known = _known_names(rules_dir)
    conditions = [ln for b in BLOCKS if b.lang == "condition" for ln in b.body.splitlines()]
    assert len(conditions) >= 5
    for condition in conditions:
        node = parse(condition)
        unknown = {n.name for n in names_in(node)} - known
        assert not unknown, (condition, unknown)


def test_test_case_example_passes(tmp_path: Path, kb) -> None:  # type: ignore[no-untyped-def]
    [block] = [b for b in BLOCKS if b.title.startswith("tests/cases/")]
    path = tmp_path / Path(block.title).name
    path.write_text(block.body, encoding="utf-8")
    cases, problems = load_cases(path)
    assert problems == [] and len(cases) == 1
    outcome = run_case(evaluator_for(kb), cases[0])
    assert outcome.passed, outcome.report()


def test_readability_and_modeline_snippets_match_the_files(rules_dir: Path) -> None:
    docs, _ = loader.load_dir(rules_dir)
    [limits] = [b for b in BLOCKS if "readability" in b.flags]
    doc, _ = loader.load_text(Path("snippet.yaml"), limits.body.encode())
    assert doc is not None and doc.data["readability"] == docs["kb"].data["kb"]["readability"]
    [modeline] = [b for b in BLOCKS if "modeline" in b.flags]
    first = (rules_dir / Path(modeline.title).name).read_text(encoding="utf-8").splitlines()[0]
    assert modeline.body.strip() == first


def test_changelog_snippet_is_a_valid_entry(tmp_path: Path) -> None:
    rules = _copy(tmp_path)
    [entry] = [b for b in BLOCKS if "changelog" in b.flags]
    text = (rules / "kb.yaml").read_text(encoding="utf-8")
    version = re.search(r'version: "([^"]+)"', entry.body).group(1)  # type: ignore[union-attr]
    text = re.sub(r'(?m)^  version: "[^"]+"', f'  version: "{version}"', text, count=1)
    text = text.replace("changelog:\n", "changelog:\n" + textwrap.indent(entry.body, "  "), 1)
    (rules / "kb.yaml").write_text(text, encoding="utf-8")
    kb, problems = validate_dir(rules)
    assert kb is not None, [p.render(tmp_path) for p in problems]
    # The example fingerprint is not the real one, and the warning says which to record.
    assert any(f"released as {version}" in p.message for p in problems)


def test_vscode_settings_cover_every_file(repo: Path) -> None:
    [block] = [b for b in BLOCKS if b.lang == "json"]
    schemas = json.loads(block.body)["yaml.schemas"]
    for schema, pattern in schemas.items():
        assert (repo / schema).is_file(), schema
    for path in loader.rule_files(repo / "rules"):
        rel = path.relative_to(repo).as_posix()
        assert any(fnmatch.fnmatch(rel, pattern) for pattern in schemas.values()), rel


def test_commands_are_real() -> None:
    parser = make_parser()
    commands = [ln for b in BLOCKS if b.lang == "sh" for ln in b.body.splitlines()]
    assert len(commands) >= 5
    for command in commands:
        words = shlex.split(command)
        if words[0] == "nkb":
            parser.parse_args(words[1:])  # raises UsageError on an unknown verb or option
        else:
            assert words[:2] in (["mkdocs", "serve"], ["pre-commit", "install"]), command
            if words[0] == "mkdocs":
                # Installed with the package, next to this interpreter: the venv's bin need not
                # be on PATH (the README runs .venv/bin/python -m pytest without activating it).
                assert Path(sysconfig.get_path("scripts"), words[0]).is_file(), command


def test_every_block_renders_as_code() -> None:
    """With the fences extensions the site needs (pymdownx.superfences; ask for them in
    mkdocs.yml), every example is a code block, including those inside list items."""
    import warnings

    import markdown

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pygments/pymdownx internals
        html = markdown.markdown(GUIDE.read_text(encoding="utf-8"), extensions=[
            "toc", "attr_list", "admonition", "tables", "pymdownx.highlight",
            "pymdownx.superfences"])
    assert html.count('class="highlight"') == len(BLOCKS)
    assert "```" not in html
