"""Checks on the words patients read: placeholders name real values, no HTML or script links,
titles stay plain, and each file tells editors which schema to check it against.

Problems inside a long text are placed at the line and column of the offending words
(Doc.locate), not just at the start of the text, so the editor jumps right to them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator, Mapping

from neutropenia_kb.core.problems import Problem, show_value
from neutropenia_kb.kb.loader import Doc, PathKey, format_path
from neutropenia_kb.kb.refs import NOT_PATIENT_TEXT, PLACEHOLDER_KEYS, PLAIN_KEYS
from neutropenia_kb.kb.text import PLACEHOLDER, placeholder_fault

_HTML = re.compile(r"<!--|</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>")
_SCRIPT_LINK = re.compile(r"\b(?:javascript|vbscript)\s*:", re.IGNORECASE)
# Markdown images and links, and <scheme:...> autolinks: only links to http(s) addresses may
# appear in patient text; an image (anywhere) or a file:, data: or relative link would make the
# website or a PDF load something from outside the knowledge base, or print a build path.
_IMAGE = re.compile(r"!\[[^\]\n]*\]\(")
_LINK_TARGET = re.compile(r"(?<!!)\[[^\[\]\n]*\]\(\s*<?([^\s)>]*)")
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]*:[^\s<>]*)>")
_WEB = re.compile(r"https?://", re.IGNORECASE)
_MARKDOWN = re.compile(r"\*\*|__|`|\]\(|^#")
_BRACES = re.compile(r"\{[^{}\n]*\}")
SERVICE_TEXT = {"name", "when", "say"}  # kb.yaml services: plain patient text


def strings(data: Any, where: PathKey = ()) -> Iterator[tuple[PathKey, str, str]]:
    """(path, key, text) of every string, with the nearest mapping key it sits under."""
    if isinstance(data, dict):
        for key, value in data.items():
            for path, _, text in strings(value, where + (key,)):
                yield path, str(key), text
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from strings(value, where + (i,))
    elif isinstance(data, str):
        yield where, "", data


def _key_of(path: PathKey) -> str:
    return next((str(p) for p in reversed(path) if isinstance(p, str)), "")


def check_text(docs: Mapping[str, Doc], bands: Mapping[str, Mapping[str, Any]],
               thresholds: set[str]) -> list[Problem]:
    """HTML, script links, Markdown in plain fields and placeholders, across every file."""
    problems: list[Problem] = []
    for doc in docs.values():
        for path, _, text in strings(doc.data):
            key = _key_of(path)
            # A service's `when` is words for the patient, not a condition; all its text is plain.
            service = path[:1] == ("services",) and key in SERVICE_TEXT
            if key in NOT_PATIENT_TEXT and key != "url" and not service:
                continue
            problems.extend(_safety(doc, path, "title" if service else key, text))
            if key in PLACEHOLDER_KEYS:
                problems.extend(_placeholders(doc, path, text, bands, thresholds))
    return problems


def _at(doc: Doc, path: PathKey, needle: str, message: str) -> Problem:
    line, column = doc.locate(path, needle)
    return Problem(doc.path, line, column, format_path(path), message)


def _safety(doc: Doc, path: PathKey, key: str, text: str) -> Iterator[Problem]:
    script = _SCRIPT_LINK.search(text)
    if script:
        yield _at(doc, path, script.group(0), "script links ('javascript:') are not allowed; "
                  "link only to https:// addresses")
    if key == "url":
        return
    image = _IMAGE.search(text)
    if image:
        yield _at(doc, path, image.group(0), "images are not allowed in patient text (leaflets "
                  "and pages use only their own files); describe it in words instead")
    for link in (*_LINK_TARGET.finditer(text), *_AUTOLINK.finditer(text)):
        target = link.group(1)
        if not _WEB.match(target) and not _SCRIPT_LINK.match(target):
            yield _at(doc, path, link.group(0), f"a link in patient text must go to a web address "
                      f"starting with https://, not '{show_value(target)}'")
    tag = _HTML.search(text)
    if tag:
        yield _at(doc, path, tag.group(0), f"HTML is not allowed in patient text ('{tag.group(0)}'); "
                  "write plain words or Markdown")
    if key in PLAIN_KEYS:
        mark = _MARKDOWN.search(text)
        if mark:
            yield _at(doc, path, mark.group(0), f"a {key} is plain text: remove the Markdown "
                      f"('{mark.group(0)}'); emphasis belongs in the text")


def _placeholders(doc: Doc, path: PathKey, text: str, bands: Mapping[str, Mapping[str, Any]],
                  thresholds: set[str]) -> Iterator[Problem]:
    edges = {i: (b.get("from") is not None, b.get("below") is not None) for i, b in bands.items()}
    for braces in _BRACES.finditer(text):
        written = braces.group(0)
        match = PLACEHOLDER.fullmatch(written)
        if match is None:
            yield _at(doc, path, written, f"'{written}' is not a placeholder: write "
                      "{threshold_id}, or {band_id.from}, {band_id.below} or {band_id.range}, "
                      "in lower case without spaces")
            continue
        fault = placeholder_fault(match.group(1), match.group(2), edges, thresholds)
        if fault is not None:
            yield _at(doc, path, written, fault)


def check_schema_comment(path: Path, kind: str) -> list[Problem]:
    """A file should name its schema on its first line so editors check it as the author types."""
    expected = f"# yaml-language-server: $schema=../schema/{kind}.schema.json"
    try:
        with path.open("rb") as handle:
            first = handle.readline().decode("utf-8-sig", errors="replace").strip()
    except OSError:
        return []
    if first == expected:
        return []
    return [Problem(path, 1, 1, "", f"the first line should be '{expected}' so that editors "
                    "complete and check this file as you type", "warning")]
