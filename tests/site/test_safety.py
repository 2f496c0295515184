"""Authored text cannot inject markup, Markdown is honoured only where it is meant, numbers
come from the YAML, and a content error fails the build with the validator's own lines."""

from __future__ import annotations

import re
from pathlib import Path

import markdown
import pytest

from neutropenia_kb import load
from neutropenia_kb.diff import fingerprint
from neutropenia_kb.loader import load_dir
from neutropenia_kb.model import build
from neutropenia_kb.render.site import md_plain, md_text, render_pages
from neutropenia_kb.validate import validate_dir

from nkb_site_build import REPO, build_site

# The Markdown extensions of mkdocs.yml: what MkDocs will do with the generated pages.
EXTENSIONS = ["toc", "attr_list", "admonition", "tables"]


def to_html(text: str) -> str:
    return markdown.markdown(text, extensions=EXTENSIONS)


@pytest.mark.parametrize("title", [
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    "Fever {: onclick=\"alert(1)\" }",
    "*not emphasis* and `not code` | not a cell",
])
def test_plain_titles_show_as_written(title: str) -> None:
    html = to_html(f"## {md_plain(title)} {{: #x }}")
    assert "<script" not in html and "<a " not in html and "onclick=" not in html.replace(
        "onclick=&quot;", "")
    assert "<em>" not in html and "<code>" not in html
    # What the reader sees is exactly the title.
    visible = re.sub(r"<[^>]+>", "", html)
    import html as html_lib

    assert html_lib.unescape(visible).strip() == title


def test_markdown_text_keeps_emphasis_and_lists_but_not_markup(kb) -> None:  # type: ignore[no-untyped-def]
    text = ("You *must* act.\n\n- one\n- two\n\n<script>x()</script> [link](javascript:x) "
            "![img](http://e.x/i.png) {: .c }\n# not a heading")
    html = to_html(md_text(kb, text))
    assert "<em>must</em>" in html
    assert "<li>one</li>" in html and "<li>two</li>" in html
    assert "&lt;script&gt;x()&lt;/script&gt;" in html
    assert "<script" not in html and "<a " not in html and "<img" not in html
    assert "<h1" not in html and 'class="c"' not in html


def test_a_script_title_in_an_unvalidated_kb_still_renders_as_text(rules_copy: Path) -> None:
    # The validator refuses HTML in titles; escaping is the second line of defence, tested
    # here on a model built without validation.
    path = rules_copy / "symptoms.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "title: Fever\n", "title: Fever <script>alert('x')</script>\n", 1), encoding="utf-8")
    docs, problems = load_dir(rules_copy)
    assert not problems
    page = to_html(render_pages(build(rules_copy, docs))["symptoms.md"])
    assert "Fever &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "<script" not in page


def test_changing_a_threshold_changes_every_page_that_prints_it(rules_copy: Path,
                                                                tmp_path: Path) -> None:
    inputs = rules_copy / "inputs.yaml"
    text = inputs.read_text(encoding="utf-8")
    assert "    value: 38.0\n    unit: C" in text
    inputs.write_text(text.replace("    value: 38.0\n    unit: C", "    value: 38.5\n    unit: C"),
                      encoding="utf-8")
    # A changed decision must be recorded in the changelog, or the plugin's warning fails
    # the --strict build: record it as an author would.
    kb_yaml = rules_copy / "kb.yaml"
    old, new = fingerprint(load(REPO / "rules")), fingerprint(load(rules_copy))
    kb_yaml.write_text(kb_yaml.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    built = build_site(tmp_path / "out", rules_copy)
    assert built.returncode == 0, built.log
    for page in ("symptoms.html", "help.html"):
        html = (built.site / page).read_text(encoding="utf-8")
        assert "38.5 °C (101.3 °F)" in html, page
        assert "38.0 °C" not in html, page


def test_a_content_error_fails_the_build_with_the_validators_lines(rules_copy: Path,
                                                                   tmp_path: Path) -> None:
    causes = rules_copy / "causes.yaml"
    causes.write_text(causes.read_text(encoding="utf-8").replace(
        "section: ez_causes_medical}", "section: ez_causes_medicl}", 1), encoding="utf-8")
    _, problems = validate_dir(rules_copy)
    errors = [p for p in problems if p.severity == "error"]
    assert errors
    built = build_site(tmp_path / "out", rules_copy)
    assert built.returncode != 0
    for problem in errors:
        line = problem.render()
        assert re.match(r".+causes\.yaml:\d+:\d+: error: ", line)
        assert line in built.log
    assert not (built.site / "causes.html").exists()
