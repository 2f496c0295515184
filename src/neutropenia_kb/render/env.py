"""The one Jinja environment factory: strict, autoescaped, with the filters templates may use.

Templates only loop and branch. Wording and numbers come from the knowledge base through these
filters, so a missing field fails the build instead of printing a blank.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, Callable, Mapping

import markdown as md_lib
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from neutropenia_kb.kb.text import expand, markdown_subset

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase

# Belt and braces: markdown_subset lets only http(s) links through; any other link that still
# appeared would resolve against the build folder and print its path into the PDF.
_OTHER_LINK = re.compile(r'<a href="(?!https?://)[^"]*">(.*?)</a>', re.DOTALL)


def markdown_to_html(text: str) -> Markup:
    """Authored Markdown → HTML, in the one subset authored text may use (emphasis, lists,
    http(s) links; see text.markdown_subset): raw HTML, images, headings and other blocks are
    shown as the characters written, so an author (or an attacker with write access to rules/)
    cannot inject markup, script or anything a PDF renderer would fetch."""
    rendered = md_lib.markdown(markdown_subset(text), extensions=["sane_lists"])
    return Markup(_OTHER_LINK.sub(r"\1", rendered))


def long_date(value: str) -> str:
    """'2026-11-21' → '21 November 2026' (no locale: output must not depend on the machine)."""
    day = dt.date.fromisoformat(str(value))
    return f"{day.day} {day.strftime('%B')} {day.year}"


def make_env(kb: "KnowledgeBase", *, templates: str, html_output: bool = True,
             filters: Mapping[str, Callable[..., Any]] | None = None) -> Environment:
    """``templates`` is the folder under neutropenia_kb/templates ('site' or 'leaflet')."""
    env = Environment(
        loader=PackageLoader("neutropenia_kb", f"templates/{templates}"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "j2", "md", "xml"),
                                     default_for_string=True, default=True) if html_output else False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )

    def kb_text(value: str) -> str:
        """Plain patient text with placeholders expanded (escaped by autoescape)."""
        return expand(kb, value)

    def kb_markdown(value: str) -> Markup:
        """Patient text that may use Markdown, expanded and rendered to safe HTML."""
        return markdown_to_html(expand(kb, value))

    env.filters.update({
        "kb_text": kb_text,
        "kb_markdown": kb_markdown,
        "long_date": long_date,
        "escape": escape,
    })
    env.filters.update(filters or {})
    env.globals["kb"] = kb
    return env
