"""Patient text helpers: placeholders that print the knowledge base's own threshold values, and
the one Markdown subset authored text may use on the website and in the leaflets.

An author writes "A temperature of {fever_temperature} or more is a fever." and the reader sees
"38.0 °C (100.4 °F)", taken from the same value the rule compares against, so they cannot drift.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Collection, Iterator, Mapping

from neutropenia_kb.core.problems import did_you_mean
from neutropenia_kb.core.units import Unit, find_unit, format_number, format_written

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import Band, KnowledgeBase, Service

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)(?:\.(from|below|range))?\}")
BAND_PARTS = ("from", "below", "range")


class PlaceholderError(ValueError):
    pass


def placeholder_fault(ident: str, part: str | None, edges: Mapping[str, tuple[bool, bool]],
                      thresholds: Collection[str]) -> str | None:
    """What is wrong with the placeholder ``{ident.part}``, or None when it names a value.

    ``edges`` says of each severity band whether it has a ``from`` and a ``below``. The one
    statement of the placeholder rules: validation reports these words at the placeholder, and
    expanding text refuses with them."""
    written = f"{{{ident}{'.' + part if part else ''}}}"
    if ident in edges:
        has = dict(zip(("from", "below"), edges[ident]))
        if part in has and not has[part]:
            return (f"band '{ident}' has no '{part}' edge, so '{written}' has no value; use "
                    f"{{{ident}.range}}")
        return None
    if ident in thresholds:
        return f"'{written}': only bands have .{part}; write '{{{ident}}}'" if part else None
    known = sorted(i for i in (*edges, *thresholds) if PLACEHOLDER.fullmatch(f"{{{i}}}"))
    return (f"unknown placeholder '{written}': a placeholder names a threshold (inputs.yaml) "
            f"or a severity band, with .{', .'.join(BAND_PARTS)}{did_you_mean(ident, known)}")


def placeholders(text: str) -> Iterator[tuple[str, str | None, int]]:
    """(id, part, offset) of each ``{id}`` / ``{id.part}`` in ``text``."""
    for match in PLACEHOLDER.finditer(text):
        yield match.group(1), match.group(2), match.start()


def display_units(kb: "KnowledgeBase", dimension: str) -> list[Unit]:
    """The units a patient sees a ``dimension`` in: the display_units of the first input of that
    dimension naming any (e.g. [°C, °F]); [] when none does."""
    for inp in kb.inputs:
        if inp.dimension == dimension and inp.display_units:
            return [u for u in (find_unit(name) for name in inp.display_units) if u]
    return []


def band_range(kb: "KnowledgeBase", band: "Band") -> str:
    """'1,000 to under 1,500 cells/µL', 'under 500 cells/µL', '1,500 cells/µL or more'."""
    unit = find_unit(kb.severity.unit)
    assert unit is not None
    if band.lower is not None and band.below is not None:
        return f"{format_number(band.lower)} to under {format_written(band.below, unit)}"
    if band.below is not None:
        return f"under {format_written(band.below, unit)}"
    if band.lower is not None:
        return f"{format_written(band.lower, unit)} or more"
    return "any count"


def value_of(kb: "KnowledgeBase", ident: str, part: str | None) -> str:
    """The words for one placeholder; raises PlaceholderError if it names nothing usable."""
    bands = {b.id: b for b in kb.severity.bands}
    thresholds = {t.id: t for t in kb.thresholds}
    fault = placeholder_fault(ident, part, {b.id: (b.lower is not None, b.below is not None)
                                            for b in bands.values()}, thresholds)
    if fault is not None:
        raise PlaceholderError(fault)
    if ident in bands:
        band = bands[ident]
        unit = find_unit(kb.severity.unit)
        assert unit is not None
        edge = band.lower if part == "from" else band.below
        if part == "range" or part is None or edge is None:
            return band_range(kb, band)
        return format_written(edge, unit)
    threshold = thresholds[ident]
    unit = find_unit(threshold.unit)
    if unit is None:
        raise PlaceholderError(f"threshold '{ident}' has an unknown unit")
    return format_written(threshold.value, unit, display_units(kb, unit.dimension))


def expand(kb: "KnowledgeBase", text: str) -> str:
    """Replace every placeholder in ``text`` with its value in words."""
    return PLACEHOLDER.sub(lambda m: value_of(kb, m.group(1), m.group(2)), text)


# A number the publisher has not filled in: a line to write it on. Plain text; a renderer that
# reads Markdown must escape it (a run of underscores is emphasis or a rule there).
PHONE_BLANK = "________"


def service_line(service: "Service") -> str:
    """'<name>: <phone>' as the publisher filled it in, or with no number yet
    'Your 24-hour cancer advice line: ________' — never a made-up number."""
    return f"{service.name}: {service.phone or PHONE_BLANK}"


# ---- the Markdown subset of authored text ------------------------------------------------------
#
# Authored text may use emphasis (*, **, _, __), bulleted and numbered lists, and links to http(s)
# addresses; nothing else may reach a page's structure. Rather than list the constructs to block
# (headings, admonitions, fences, tables, attribute lists, raw HTML, images...), everything else
# is written as character references, which Markdown shows as the characters themselves.

HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
# Escaped wherever they occur: each starts some construct outside the subset (code, links and
# images, attribute lists, tables, headings, admonitions, Markdown escapes).
_ALWAYS = {**HTML_SPECIAL, **{c: f"&#{ord(c)};" for c in "\\`[]{}|#!"}}
# Escaped as the first character of a line (after its list marker): they start blocks there
# (setext underlines, rules, fences, definition lists, pymdownx blocks, details).
_LINE_STARTERS = frozenset("-+=~:?/%")
_LINK = re.compile(r"(?<!!)\[([^\[\]\n]+)\]\((https?://[^\s()<>\"'`\\\[\]{}|]+)\)")
_LIST_ITEM = re.compile(r"([-*+]|[0-9]{1,9}\.)( +)(.*)")
_RULE = re.compile(r"(?:(?:-[ ]*){3,}|(?:\*[ ]*){3,}|(?:_[ ]*){3,})")  # a horizontal rule
INDENT = 4  # Python-Markdown's tab length: one list level; twice that would be a code block


def _escape_chars(text: str) -> str:
    return "".join(_ALWAYS.get(c, c) for c in text)


def _escape_start(content: str) -> str:
    """``content`` with its first character escaped if it would start a block there."""
    if not content:
        return content
    first = content[0]
    if (first in _LINE_STARTERS or _RULE.fullmatch(content) or _LIST_ITEM.fullmatch(content)
            or (first in "*_" and content[1:2] in (" ", ""))):
        return f"&#{ord(first)};{content[1:]}"
    return content


def markdown_subset(text: str) -> str:
    """Authored ``text`` as Markdown in which only emphasis, lists and http(s) links are live;
    every other character is shown as written. Indentation is kept only to nest list items (one
    level at a time), so no line becomes a code block."""
    parts = []
    last = 0
    for link in _LINK.finditer(text):
        parts.append(_escape_chars(text[last:link.start()]))
        parts.append(f"[{_escape_chars(link.group(1))}]({link.group(2)})")
        last = link.end()
    parts.append(_escape_chars(text[last:]))
    escaped = "".join(parts)
    # Python-Markdown reads \r and \r\n as line ends and a tab as four spaces: do the same here.
    lines = escaped.replace("\r\n", "\n").replace("\r", "\n").expandtabs(INDENT).split("\n")
    out: list[str] = []
    list_indent: int | None = None  # indentation of the last list item, None outside a list
    blank_before = False
    for line in lines:
        content = line.lstrip(" ")
        if not content:
            out.append("")
            blank_before = True
            continue
        indent = len(line) - len(content)
        item = None if _RULE.fullmatch(content) else _LIST_ITEM.fullmatch(content)
        if item is None and (list_indent is None or (blank_before and indent == 0)):
            list_indent = None  # a paragraph of its own
            indent = 0
        elif list_indent is None:
            indent = 0  # a list starts at the margin
        else:
            indent = min(indent, list_indent + INDENT)
        if item is not None:
            list_indent = indent
            content = f"{item.group(1)} {_escape_start(item.group(3))}"
        else:
            content = _escape_start(content)
        out.append(" " * indent + content)
        blank_before = False
    return "\n".join(out)
