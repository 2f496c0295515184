"""Authored text cannot inject markup, Markdown is honoured only where it is meant, numbers
come from the YAML, and a content error fails the build with the validator's own lines."""

from __future__ import annotations

import re
from pathlib import Path

import markdown
import pytest
from nkb_site_build import REPO, build_site

from neutropenia_kb import load
from neutropenia_kb.checks.validate import validate_dir
from neutropenia_kb.kb.fingerprint import fingerprint
from neutropenia_kb.kb.loader import load_dir
from neutropenia_kb.kb.model import build
from neutropenia_kb.render.site import md_plain, md_text, render_pages

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
    for page in ("symptoms.html", "help.html", "index.html", "overview.html"):
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


# Markdown an author might write that the validator lets through (no HTML, braces, images or
# non-web links) but that would add structure to a page: an admonition, headings (ATX and
# setext), a rule, a fenced and an indented code block, a blockquote, a table.
BLOCK_PAYLOAD = ('Go now.\n\n!!! danger "INJECTED"\n    Take the INJECTED pill.\n\n'
                 "# BIGHEAD\n\nSETEXT\n===\n\n---\n\n~~~\nFENCED\n~~~\n\nText.\n\n    CODEBLOCK\n\n"
                 "> QUOTED\n\n| CELL | B |\n| --- | --- |\n| c | d |\n\n"
                 "- *one* item\n- [a web link](https://example.org/guide)")
STRUCTURE = re.compile(r'<h[1-6][^>]*>(?:(?!</h).)*(?:BIGHEAD|SETEXT)|admonition-title">INJECTED'
                       r"|<(pre|code|blockquote|table)\b(?:(?!</\1).)*(?:FENCED|CODEBLOCK|QUOTED|CELL)"
                       r"|<hr", re.DOTALL)


def page_body(html: str) -> str:
    """The article of a built page (the theme's own <hr>, <code> and headings left out)."""
    return html[html.index('<article'):html.index('</article>')]


def test_authored_text_adds_no_structure_in_a_real_build(rules_copy: Path, tmp_path: Path) -> None:
    import json

    for file, old in (("urgency.yaml", "text: >-\n      Do not wait. Get medical help now."),
                      ("symptoms.yaml", "text: >-\n      Your throat hurts.")):
        path = rules_copy / file
        source = path.read_text(encoding="utf-8")
        assert source.count(old) == 1
        path.write_text(source.replace(old, f"text: {json.dumps(BLOCK_PAYLOAD)}"), encoding="utf-8")
    _, problems = validate_dir(rules_copy)
    assert not [p.render() for p in problems if p.severity == "error"]
    built = build_site(tmp_path / "out", rules_copy, strict=False)  # reading-grade warnings
    assert built.returncode == 0, built.log
    # (the topic pages no longer repeat the level's text: their reminder is the sign's reading)
    for page in ("help.html", "symptoms.html"):
        body = page_body((built.site / page).read_text(encoding="utf-8"))
        assert "INJECTED" in body and "BIGHEAD" in body, page
        assert not STRUCTURE.search(body), (page, STRUCTURE.search(body))
        # the subset still works: emphasis, the list and the web link
        assert "<em>one</em> item" in body and '<a href="https://example.org/guide">' in body
        # only the help page's own boxes: "what to do now" and the emergency level's
        assert body.count('class="admonition danger"') == (2 if page == "help.html" else 0), page
        import html as html_lib

        visible = html_lib.unescape(re.sub(r"<[^>]+>", "", body))
        assert '!!! danger "INJECTED"' in visible and "# BIGHEAD" in visible, page


@pytest.mark.parametrize("payload, forbidden", [
    ("<h1>HEAD</h1>", "<h1"),
    ("!!! danger\n    y", 'class="admonition'),
    ("x {: .danger }", 'class="danger"'),
    ("Title\n=", "<h1"),
    ("- a\n\n        code", "<code"),
    ("a\r# head", "<h1"),
    ("![i](http://127.0.0.1:9/x.png)", "<img"),
    ("[x](file:///etc/passwd)", "<a "),
])
def test_markdown_subset_through_mkdocs_extensions(kb, payload: str, forbidden: str) -> None:  # type: ignore[no-untyped-def]
    html = markdown.markdown(md_text(kb, payload), extensions=[*EXTENSIONS, "pymdownx.superfences"])
    assert forbidden not in html
    # an admonition's body (the emergency banner) is the same text indented: still no structure
    inner = markdown.markdown("!!! info \"Box\"\n    " + str(md_text(kb, payload)).replace("\n", "\n    "),
                              extensions=EXTENSIONS)
    assert inner.count("admonition-title") == 1
    assert forbidden == 'class="admonition' or forbidden not in inner


def test_a_title_with_a_line_break_stays_one_heading() -> None:
    title = 'Fever\n!!! danger "X"\n    body'
    html = to_html(f"## {md_plain(title)} {{: #x }}")
    assert 'class="admonition' not in html and html.count("<h2") == 1
