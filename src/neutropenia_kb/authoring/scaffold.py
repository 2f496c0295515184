"""`nkb new KIND ID`: append a new item, with every required field explained, to the right file.

Insertion works on the text, never through yaml.dump, so the authors' comments, order and line
wrapping survive. The TODO values are chosen to fail validation until the author fills them in.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from neutropenia_kb.checks.readability import item_paths
from neutropenia_kb.core.problems import KbError, NkbError, Problem, did_you_mean, show_value
from neutropenia_kb.kb.kinds import ITEM_KINDS
from neutropenia_kb.kb.loader import Doc, load_dir, load_text
from neutropenia_kb.kb.schema import resolve, schemas

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
WIDTH = 100


@dataclass(frozen=True)
class Kind:
    name: str  # the kind of item (kb/kinds.py ITEM_KINDS), which says where it is written
    fields: tuple[tuple[str, str, str], ...]  # (field, TODO value, built-in comment)

    @property
    def stem(self) -> str:  # file in rules/
        return ITEM_KINDS[self.name].file

    @property
    def key(self) -> str:  # top-level list key in that file
        return str(ITEM_KINDS[self.name].path[0])


_ID = ("id", "", "unique across the knowledge base: lower case, digits and _; rules and "
       "see_also use it")
_TITLE = ("title", "TODO", "patient-facing name, plain text (no Markdown)")
_TEXT = ("text", "TODO", "patient-facing, second person, short sentences (grade 8 or below); "
         "write {fever_temperature} or {severe.range} instead of typing a number")
_SOURCES = ("sources", "[]", "at least one {source: <source id from kb.yaml>, section: <id of "
            "that source's section>}")

KINDS: dict[str, Kind] = {
    "cause": Kind("cause", (_ID, _TITLE, _TEXT, (
        "groups", "[]", "ids of the groups (see `groupings:` at the top of this file) this cause "
        "belongs to"), _SOURCES)),
    "symptom": Kind("symptom", (_ID, _TITLE, _TEXT, _SOURCES)),
    "test": Kind("test", (_ID, _TITLE, _TEXT, _SOURCES)),
    "treatment": Kind("treatment", (_ID, _TITLE, _TEXT, (
        "group", "TODO", "id of one group from `groups:` at the top of this file"), _SOURCES)),
    "precaution": Kind("precaution", (_ID, _TITLE, _TEXT, (
        "group", "TODO", "id of one group from `groups:` at the top of this file"), _SOURCES)),
    "urgency_rule": Kind("urgency_rule", (_ID, _TITLE, _TEXT, (
        "level", "TODO", "id of a level from `levels:` at the top of this file (most urgent "
        "first)"), ("when", "TODO", "the condition in the rule language, e.g. `has_fever and "
                    "neutropenia` (see the authoring guide)"), _SOURCES)),
    "term": Kind("term", (_ID, (
        "term", "TODO", "the word as the patient sees it"), (
        "definition", "TODO", "what it means, in plain words (grade 8 or below)"), _SOURCES)),
    "topic": Kind("topic", (_ID, (
        "section", "TODO", "where it is shown: about, severity, symptoms, causes, diagnosis, "
        "treatment, living or help"), _TITLE, _TEXT, _SOURCES)),
}


@dataclass(frozen=True)
class Scaffolded:
    path: Path
    line: int  # where the new item starts
    kind: str
    id: str


def read_schema(kind: Kind) -> tuple[dict[str, str], list[str]]:
    """First sentence of each field's description, and the required fields, from the item
    schema (schema/<stem>.schema.json, as the validator loaded it)."""
    listing = resolve(kind.stem, schemas()[kind.stem].get("properties", {}).get(kind.key, {}))
    item = resolve(kind.stem, listing.get("items", {}) if isinstance(listing, dict) else {})
    if not isinstance(item, dict):
        return {}, []
    out = {}
    for name, prop in (item.get("properties") or {}).items():
        if isinstance(prop, dict) and isinstance(prop.get("description"), str):
            text = " ".join(prop["description"].split())
            # Two comment lines at most: a longer description is cut to its first sentence.
            out[name] = text if len(text) <= 180 else re.split(r"(?<=[.!?])\s", text, 1)[0]
    required = [r for r in item.get("required") or () if isinstance(r, str)]
    return out, required


def fields_for(kind: Kind, required: list[str]) -> list[tuple[str, str, str]]:
    """Our field order and TODO values, plus any field the schema requires that we lack."""
    fields = list(kind.fields)
    known = {name for name, _, _ in fields}
    fields += [(name, "TODO", "required (see the schema)") for name in required
               if name not in known]
    return fields


def _comment(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH - len(indent) - 2, initial_indent=f"{indent}# ",
                         subsequent_indent=f"{indent}# ")


def block(fields: list[tuple[str, str, str]], item_id: str, dash: int,
          descriptions: dict[str, str], title: str | None = None) -> list[str]:
    """The lines of the new item, its list dash at column ``dash`` (0-based)."""
    lines = []
    inner = " " * (dash + 2)
    for name, value, builtin in fields:
        note = descriptions.get(name) or builtin
        if name == "id":
            lines += _comment(note, " " * dash)
            lines.append(f"{' ' * dash}- id: {item_id}")
            continue
        if title is not None and name in {"title", "term"}:
            value = json.dumps(title, ensure_ascii=False)  # a JSON string is a valid YAML scalar
        lines += _comment(note, inner)
        lines.append(f"{inner}{name}: {value}")
    return lines


def _top_level_lines(doc: Doc) -> list[int]:
    return sorted(line for path, (line, _) in doc.key_marks.items() if len(path) == 1)


def insert(text: str, doc: Doc | None, kind: Kind, make: Callable[[int], list[str]]) -> str:
    """Return ``text`` with the block from ``make(dash)`` appended to the list ``kind.key``."""
    lines = text.splitlines()
    data = doc.data if doc else {}
    items = data.get(kind.key)
    if doc is not None and isinstance(items, list) and items:
        first_line = doc.mark((kind.key, 0))[0] or 1
        dash = max(lines[first_line - 1].find("-"), 0)
        key_line = doc.key_marks[(kind.key,)][0]
        later = [n for n in _top_level_lines(doc) if n > key_line]
        end = (later[0] - 1) if later else len(lines)
        last = key_line
        for n in range(key_line, end + 1):
            stripped = lines[n - 1].strip()
            if stripped and not stripped.startswith("#"):
                last = n
        # Keep the file's habit of a blank line between items.
        second = doc.mark((kind.key, 1))[0] or 1
        spaced = len(items) > 1 and not lines[second - 2].strip()
        new = ([""] if spaced else []) + make(dash)
        return "\n".join(lines[:last] + new + lines[last:]) + "\n"
    if doc is not None and (kind.key,) in doc.key_marks:
        key_line = doc.key_marks[(kind.key,)][0]
        lines[key_line - 1] = f"{kind.key}:"  # was `key: []` or `key:`
        return "\n".join(lines[:key_line] + make(2) + lines[key_line:]) + "\n"
    head = lines if lines else [f"# yaml-language-server: $schema=../schema/{kind.stem}.schema.json"]
    return "\n".join(head + ["", f"{kind.key}:"] + make(2)) + "\n"


class ScaffoldError(NkbError):
    """The kind or id asked for cannot be added (unknown kind, malformed or taken id): a
    mistake in the arguments (exit 2), not in the knowledge base."""

    exit_code = 2


def new_item(rules: Path, kind_name: str, item_id: str, title: str | None = None) -> Scaffolded:
    """Append a new ``kind_name`` item to its file; raise ScaffoldError for a bad kind or id,
    KbError when the knowledge base itself has errors."""
    if kind_name not in KINDS:
        raise ScaffoldError(f"unknown kind '{kind_name}'{did_you_mean(kind_name, KINDS)}; "
                         f"choose one of {', '.join(KINDS)}")
    if not ID_PATTERN.match(item_id):
        raise ScaffoldError(f"'{show_value(item_id)}' is not a valid id: use lower case "
                            "letters, digits and _, starting with a letter (e.g. 'drug_induced')")
    kind = KINDS[kind_name]
    docs, problems = load_dir(rules)
    if any(p.severity == "error" for p in problems):
        raise KbError(problems)
    if item_id in item_paths(docs):  # every id except the bibliography's (its own namespace)
        raise ScaffoldError(f"the id '{item_id}' is already used in {rules}; ids are unique "
                            "across the knowledge base")
    path = rules / f"{kind.stem}.yaml"
    doc = docs.get(kind.stem)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    descriptions, required = read_schema(kind)
    fields = fields_for(kind, required)
    new_text = insert(text, doc, kind,
                      lambda dash: block(fields, item_id, dash, descriptions, title))
    checked, found = load_text(path, new_text.encode("utf-8"))
    entries = checked.data.get(kind.key) if checked else None
    if checked is None or not entries or entries[-1].get("id") != item_id:
        raise KbError(found or [Problem(path, None, None, "", "could not append the new item "
                                        "safely; add it by hand")])
    path.write_text(new_text, encoding="utf-8")
    return Scaffolded(path, checked.mark((kind.key, len(entries) - 1))[0] or 1, kind_name, item_id)
