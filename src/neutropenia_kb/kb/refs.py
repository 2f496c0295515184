"""Checks that need more than one file: unique ids, references between items, placeholders,
units, safe patient text, and items nothing would ever show.

These run on the raw documents even when a file broke its schema, so they stay defensive about
shapes: anything that is not the expected list or mapping is skipped (the schema said why).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from neutropenia_kb.core.problems import Problem, Severity, did_you_mean, display_path
from neutropenia_kb.core.units import ACCEPTED, UNITS, find_unit
from neutropenia_kb.kb.kinds import FILES, item_lists, statement_lists
from neutropenia_kb.kb.loader import Doc, PathKey, format_path
from neutropenia_kb.kb.text import PLACEHOLDER

# Keys whose text is never shown to patients (conditions, reviewer notes, addresses).
NOT_PATIENT_TEXT = {"note", "when", "applies_when", "url", "id", "source", "section", "input",
                    "unit", "level", "group", "groups", "see_also", "type", "dimension",
                    "accepted_units", "display_units", "version", "language", "date",
                    "last_reviewed", "next_review", "updated", "kind", "formula",
                    "when_given", "zero_when_missing", "add_up_to_100", "service", "phone"}
PLAIN_KEYS = {"title", "term", "question"}
PLACEHOLDER_KEYS = {"text", "definition", "help"}
UNIT_NAMES = sorted({unit.name for unit in UNITS.values()})  # the canonical spellings


@dataclass(frozen=True)
class Entry:
    doc: Doc
    where: PathKey
    data: Mapping[str, Any]

    def at(self, key: str | None, message: str, severity: Severity = "error") -> Problem:
        """A problem about this entry, placed at the value of ``key`` (or the entry itself)."""
        line, column = self.doc.mark(self.where + ((key,) if key else ()))
        return Problem(self.doc.path, line, column, format_path(self.where), message, severity)


@dataclass
class Index:
    """What the knowledge base defines, gathered once for all the checks below."""

    entries: dict[str, list[Entry]] = field(default_factory=dict)  # by kind label
    ids: dict[str, Entry] = field(default_factory=dict)  # first definition of each id
    sections: dict[str, dict[str, Entry]] = field(default_factory=dict)  # source → section → entry

    def of(self, label: str) -> list[Entry]:
        return self.entries.get(label, [])

    def idset(self, label: str) -> list[str]:
        return [str(e.data["id"]) for e in self.of(label) if isinstance(e.data.get("id"), str)]


def entries(doc: Doc, path: PathKey) -> Iterator[Entry]:
    node: Any = doc.data
    for part in path:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, list):
        for i, raw in enumerate(node):
            if isinstance(raw, dict):
                yield Entry(doc, path + (i,), raw)


def build_index(docs: Mapping[str, Doc]) -> tuple[Index, list[Problem]]:
    index, problems = Index(), []
    found: list[tuple[str, Entry]] = []
    for kind in FILES:  # where each file keeps its entries with ids, from the kinds table
        doc = docs.get(kind)
        if doc is None:
            continue
        for path in item_lists(kind):
            label = f"{kind}.{'.'.join(map(str, path))}"
            for entry in entries(doc, path):
                found.append((label, entry))
                if path == ("groupings",):
                    found.extend((f"{kind}.groups", g) for g in entries(doc, entry.where + ("groups",)))
    found.sort(key=lambda f: (str(f[1].doc.path), f[1].doc.mark(f[1].where)))
    for label, entry in found:
        index.entries.setdefault(label, []).append(entry)
        ident = entry.data.get("id")
        if not isinstance(ident, str):
            continue
        first = index.ids.get(ident)
        if first is None:
            index.ids[ident] = entry
        else:
            problems.append(entry.at("id", f"duplicate id '{ident}' (also at {_place(first)}); ids "
                                     "must be unique across the knowledge base: rename one"))
    for source in index.of("kb.sources"):
        sections: dict[str, Entry] = {}
        for section in entries(source.doc, source.where + ("sections",)):
            sid = section.data.get("id")
            if not isinstance(sid, str):
                continue
            if sid in sections:
                problems.append(section.at("id", f"duplicate section id '{sid}' in source "
                                           f"'{source.data.get('id')}' (also at {_place(sections[sid])})"))
            sections.setdefault(sid, section)
        if isinstance(source.data.get("id"), str):
            index.sections.setdefault(source.data["id"], sections)
    return index, problems


def _place(entry: Entry) -> str:
    line, column = entry.doc.mark(entry.where + ("id",))
    return f"{display_path(entry.doc.path)}:{line}:{column}"


def statements(docs: Mapping[str, Doc]) -> Iterator[tuple[str, Entry]]:
    for kind in FILES:
        if kind in docs:
            for path in statement_lists(kind):
                for entry in entries(docs[kind], path):
                    yield kind, entry


# ---- references ------------------------------------------------------------------------------


def check_refs(docs: Mapping[str, Doc], index: Index, links: bool = True) -> list[Problem]:
    """Citations, see_also links (when ``links``: every file loaded), groups, levels, input."""
    problems: list[Problem] = []
    linkable = [i for i, e in index.ids.items() if not e.where[:1] == ("sources",)]
    for _, entry in statements(docs):
        for i, ref in enumerate(entry.data.get("sources") or ()):
            if isinstance(ref, dict):
                problems.extend(_check_citation(entry, i, ref, index))
        see_also = entry.data.get("see_also")
        for i, target in enumerate(see_also if isinstance(see_also, list) and links else ()):
            if isinstance(target, str) and target not in index.ids:
                link = Entry(entry.doc, entry.where + ("see_also", i), {})
                problems.append(link.at(None, f"see_also names '{target}', which is not an id in "
                                        f"the knowledge base{did_you_mean(target, linkable)}"))
    problems += _check_id_refs(index.of("causes.causes"), "groups", index.idset("causes.groups"),
                               "cause group")
    problems += _check_id_refs(index.of("treatments.treatments"), "group",
                               index.idset("treatments.groups"), "treatment group")
    problems += _check_id_refs(index.of("precautions.precautions"), "group",
                               index.idset("precautions.groups"), "precaution group")
    problems += _check_id_refs(index.of("urgency.rules"), "level", index.idset("urgency.levels"),
                               "urgency level")
    problems += check_services(docs, index)
    if "severity" in docs and isinstance(docs["severity"].data.get("severity"), dict):
        sev = Entry(docs["severity"], ("severity",), docs["severity"].data["severity"])
        problems += _check_id_refs([sev], "input", index.idset("inputs.inputs"), "input")
    return problems


def check_services(docs: Mapping[str, Doc], index: Index) -> list[Problem]:
    """Services (kb.yaml) have their own ids, and the levels name them so that a frightened
    reader cannot mix two levels up: each level but the least urgent names a service, and no
    two levels share a service or an action."""
    services = list(entries(docs["kb"], ("services",))) if "kb" in docs else []
    problems: list[Problem] = []
    seen: dict[str, Entry] = {}
    for entry in services:
        sid = entry.data.get("id")
        if isinstance(sid, str):
            if sid in seen:
                problems.append(entry.at("id", f"duplicate service id '{sid}' (also at "
                                         f"{_place(seen[sid])}); rename one"))
            seen.setdefault(sid, entry)
    levels = index.of("urgency.levels")
    if "kb" in docs:
        problems += _check_id_refs(levels, "service", list(seen), "service")
    used: dict[tuple[str, str], Entry] = {}
    for i, level in enumerate(levels):
        if i < len(levels) - 1 and "service" not in level.data:
            known = ", ".join(seen) or "the ids under `services:` in kb.yaml"
            problems.append(level.at("id", f"level '{level.data.get('id')}' names no service; "
                                     "every level but the least urgent says whom to call: add "
                                     f"`service:` with one of {known}"))
        for key in ("action", "service"):
            value = level.data.get(key)
            if not isinstance(value, str):
                continue
            words = " ".join(value.lower().split())
            other = used.get((key, words))
            if other is not None:
                problems.append(level.at(key, f"levels '{other.data.get('id')}' and "
                                         f"'{level.data.get('id')}' have the same {key}; each "
                                         f"level needs its own, so that they cannot be confused"))
            used.setdefault((key, words), level)
    return problems


def _check_citation(entry: Entry, i: int, ref: Mapping[str, Any], index: Index) -> Iterator[Problem]:
    where = entry.where + ("sources", i)
    source, section = ref.get("source"), ref.get("section")
    if not isinstance(source, str):
        return
    cite = Entry(entry.doc, where, ref)
    if source not in index.sections:
        yield cite.at("source", f"unknown source '{source}'{did_you_mean(source, index.sections)} "
                      "(sources are listed under 'sources:' in kb.yaml)")
        return
    sections = index.sections[source]
    if isinstance(section, str) and section not in sections:
        owner = next((s for s, secs in index.sections.items() if section in secs), None)
        hint = (f"; it is a section of '{owner}': cite {{source: {owner}, section: {section}}}"
                if owner else did_you_mean(section, sections))
        yield cite.at("section", f"source '{source}' has no section '{section}'{hint}")


def _check_id_refs(items: list[Entry], key: str, known: list[str], what: str) -> Iterator[Problem]:
    for entry in items:
        value = entry.data.get(key)
        values = [(entry.where + (key,), value)] if isinstance(value, str) else [
            (entry.where + (key, i), v) for i, v in enumerate(value if isinstance(value, list) else ())]
        for where, target in values:
            if isinstance(target, str) and target not in known:
                line, column = entry.doc.mark(where)
                yield Problem(entry.doc.path, line, column, format_path(entry.where),
                              f"unknown {what} '{target}'{did_you_mean(target, known)}"
                              + (f" (known: {', '.join(known)})" if len(known) <= 8 and known else ""))


# ---- units -------------------------------------------------------------------------------------


def check_units(docs: Mapping[str, Doc], index: Index) -> list[Problem]:
    problems: list[Problem] = []
    places: list[tuple[Entry, str, str | None]] = []  # (entry, key, dimension it must have)
    for entry in index.of("inputs.inputs"):
        dim = entry.data.get("dimension") if isinstance(entry.data.get("dimension"), str) else None
        places += [(entry, key, dim) for key in ("unit", "accepted_units", "display_units")]
    places += [(entry, "unit", None) for entry in index.of("inputs.thresholds")]
    if "severity" in docs and isinstance(docs["severity"].data.get("severity"), dict):
        places.append((Entry(docs["severity"], ("severity",), docs["severity"].data["severity"]),
                       "unit", "cell_count"))
    for entry, key, dim in places:
        value = entry.data.get(key)
        values = [((key,), value)] if isinstance(value, str) else [
            ((key, i), v) for i, v in enumerate(value if isinstance(value, list) else ())]
        for sub, name in values:
            if not isinstance(name, str):
                continue
            unit = find_unit(name)
            line, column = entry.doc.mark(entry.where + sub)
            if unit is None:
                message = (f"unknown unit '{name}'{did_you_mean(name, list(UNITS))} (known: "
                           f"{', '.join(UNIT_NAMES)})")
            elif dim and unit.dimension != dim:
                message = (f"'{name}' measures {unit.dimension.replace('_', ' ')}, not "
                           f"{dim.replace('_', ' ')}; use one of {', '.join(ACCEPTED.get(dim, []))}")
            else:
                continue
            problems.append(Problem(entry.doc.path, line, column, format_path(entry.where), message))
    return problems


# ---- things nothing would ever show or use (warnings) -----------------------------------------

_WORD = re.compile(r"[a-z][a-z0-9_]*")


def check_unused(docs: Mapping[str, Doc], index: Index) -> list[Problem]:
    problems: list[Problem] = []
    cited: set[tuple[str, str | None]] = set()
    words: set[str] = set()  # every name written in a condition or a placeholder
    group_uses: dict[str, set[str]] = {"causes": set(), "treatments": set(), "precautions": set()}
    for kind, entry in statements(docs):
        for ref in entry.data.get("sources") or ():
            if isinstance(ref, dict):
                cited.add((str(ref.get("source")), str(ref.get("section"))))
                cited.add((str(ref.get("source")), None))
        for key in ("when", "applies_when"):
            if isinstance(entry.data.get(key), str):
                words.update(_WORD.findall(entry.data[key]))
        for key in ("text", "definition", "help"):
            if isinstance(entry.data.get(key), str):
                words.update(m.group(1) for m in PLACEHOLDER.finditer(entry.data[key]))
        groups = entry.data.get("groups") if kind == "causes" else entry.data.get("group")
        if kind in group_uses:
            group_uses[kind].update(g for g in (groups if isinstance(groups, list) else [groups])
                                    if isinstance(g, str))
    for entry in index.of("inputs.inputs"):
        if isinstance(entry.data.get("help"), str):
            words.update(m.group(1) for m in PLACEHOLDER.finditer(entry.data["help"]))
    for source in index.of("kb.sources"):
        sid = source.data.get("id")
        if not isinstance(sid, str):
            continue
        if (sid, None) not in cited:
            problems.append(source.at("id", f"source '{sid}' is never cited; cite it from an item "
                                      "or remove it from the bibliography", "warning"))
            continue
        for section_id, section in index.sections.get(sid, {}).items():
            if (sid, section_id) not in cited:
                problems.append(section.at("id", f"section '{section_id}' of source '{sid}' is never "
                                           "cited; cite it from an item or remove it", "warning"))
    for label, kind in (("causes.groups", "causes"), ("treatments.groups", "treatments"),
                        ("precautions.groups", "precautions")):
        for group in index.of(label):
            gid = group.data.get("id")
            if isinstance(gid, str) and gid not in group_uses[kind]:
                problems.append(group.at("id", f"group '{gid}' has no {kind}, so it would never be "
                                         f"shown; list a {kind.rstrip('s')} under it or remove it",
                                         "warning"))
    for label, what in (("inputs.thresholds", "threshold"), ("inputs.facts", "fact")):
        for entry in index.of(label):
            ident = entry.data.get("id")
            if isinstance(ident, str) and ident not in words:
                problems.append(entry.at("id", f"{what} '{ident}' is used by no rule, condition or "
                                         "placeholder; use it or remove it", "warning"))
    return problems
