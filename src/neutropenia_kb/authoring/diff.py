"""What changed clinically between two versions of the knowledge base, in words.

Reviewers approve decisions, not YAML: "Severe neutropenia: threshold changed from 500 to
400 cells/µL" comes first, then added, removed and changed items, then version and changelog.
The same notion of "decision" gives the fingerprint that `nkb validate --strict` checks.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

from neutropenia_kb.core.problems import KbError, NkbError, Problem
from neutropenia_kb.core.units import find_unit, format_number, format_written
from neutropenia_kb.kb import model
from neutropenia_kb.kb.fingerprint import fingerprint, normal_condition
from neutropenia_kb.kb.kinds import ITEM_KINDS
from neutropenia_kb.kb.loader import load_dir
from neutropenia_kb.kb.model import Band, Item, KnowledgeBase
from neutropenia_kb.kb.text import band_range

_WORDING_FIELDS = ("title", "text", "sources", "see_also", "groups", "examples", "group",
                   "section", "note")


# ---- loading the two sides -------------------------------------------------------------------


class RevisionError(NkbError):
    """OLD or NEW names no folder and no git revision: a mistake in the arguments (exit 2)."""

    exit_code = 2



def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)


def _from_git(rev: str, folder: str, cwd: Path, into: Path) -> Path:
    if _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd).returncode != 0:
        raise RevisionError(f"'{rev}' is neither a folder nor a git revision (try HEAD~1, a branch "
                         "or tag name, REV:rules, WORKTREE, or the path of a rules folder)")
    listing = _git(["ls-tree", "--name-only", f"{rev}:{folder}"], cwd)
    if listing.returncode != 0:
        raise RevisionError(f"revision '{rev}' has no folder '{folder}'")
    for name in listing.stdout.decode().split():
        if name.endswith((".yaml", ".yml")):
            shown = _git(["show", f"{rev}:{folder}/{name}"], cwd)
            (into / name).write_bytes(shown.stdout)
    return into


def _build(root: Path, label: str, shown_as: str) -> KnowledgeBase:
    """Load without requiring validation: the old version may predate today's rules."""
    docs, problems = load_dir(root)
    try:
        return model.build(root, docs)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise KbError([Problem(Path(shown_as), None, None, "", f"cannot read the {label} "
                               f"knowledge base ({type(exc).__name__}: {exc}); run `nkb validate` "
                               "on it to see what is missing")] + problems) from None


def load_side(spec: str, label: str, cwd: Path | None = None) -> KnowledgeBase:
    """``spec`` is a folder, WORKTREE (the working tree's rules/), REV or REV:folder."""
    cwd = cwd or Path.cwd()
    if (cwd / spec).is_dir():
        return _build(cwd / spec, label, spec)
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise RevisionError(f"'{spec}' is not a folder, and this is not a git repository")
    root = Path(top.stdout.decode().strip())
    if spec == "WORKTREE":
        return _build(root / "rules", label, "rules")
    rev, _, folder = spec.partition(":")
    with tempfile.TemporaryDirectory(prefix="nkb-diff-") as tmp:
        return _build(_from_git(rev, folder.strip("/") or "rules", root, Path(tmp)), label, spec)


# ---- comparing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    old_version: str
    new_version: str
    decisions: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]  # Markdown list entries, possibly with nested lines
    sources: tuple[str, ...]
    changelog: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.decisions or self.added or self.removed or self.changed or self.sources
                    or self.changelog or self.old_version != self.new_version)


def _quantity(value: Fraction | None, unit_name: str) -> str:
    if value is None:
        return "none"
    unit = find_unit(unit_name)
    return format_written(value, unit) if unit else f"{value} {unit_name}"


def _label(item: Item) -> str:
    return f"{_kind_label(item)} `{item.id}` ({item.title})"


def _band_changes(old: KnowledgeBase, new: KnowledgeBase, a: Band, b: Band) -> Iterator[str]:
    same_unit = old.severity.unit == new.severity.unit
    one_edge = [a.lower, a.below].count(None) == 1 and [b.lower, b.below].count(None) == 1
    for attr, name in (("lower", "lower edge (from)"), ("below", "upper edge (below)")):
        before, after = getattr(a, attr), getattr(b, attr)
        if before == after:
            continue
        new_q = _quantity(after, new.severity.unit)
        old_q = (format_number(before) if same_unit and before is not None
                 else _quantity(before, old.severity.unit))
        if before is None:
            yield f"{b.title}: {name} added: {new_q}"
        elif after is None:
            yield f"{b.title}: {name} removed (was {_quantity(before, old.severity.unit)})"
        else:
            yield f"{b.title}: {'threshold' if one_edge else name} changed from {old_q} to {new_q}"


def _when(title: str, field: str, before: str | None, after: str | None) -> Iterator[str]:
    before, after = normal_condition(before), normal_condition(after)
    if before == after:
        return
    if not before:
        yield f"{title}: {field} added: `{after}`"
    elif not after:
        yield f"{title}: {field} removed (was `{before}`); it now always applies"
    else:
        yield f"{title}: {field}: `{before}` → `{after}`"


def _decision_changes(old: KnowledgeBase, new: KnowledgeBase) -> Iterator[str]:
    if (old.severity.input, old.severity.unit) != (new.severity.input, new.severity.unit):
        yield (f"Severity bands: now read from `{new.severity.input}` in {new.severity.unit} "
               f"(was `{old.severity.input}` in {old.severity.unit})")
    if [lv.id for lv in old.levels] != [lv.id for lv in new.levels]:
        yield (f"Urgency levels: order changed from {', '.join(lv.id for lv in old.levels)} to "
               f"{', '.join(lv.id for lv in new.levels)}")
    old_levels = {lv.id: lv for lv in old.levels}
    for level in new.levels:
        before = old_levels.get(level.id)
        if before is not None and before.service != level.service:
            yield (f"{level.title}: service changed from {before.service or 'none'} to "
                   f"{level.service or 'none'}")
        if before is not None and normal_condition(before.action) != normal_condition(level.action):
            yield f"{level.title}: action changed from \"{before.action}\" to \"{level.action}\""
    old_ids, new_ids = old.by_id, new.by_id
    for b in new.items():
        a = old_ids.get(b.id)
        if a is None:
            if _decides(b):
                yield f"New {_kind_label(b).lower()}: {_describe(new, b)}"
            continue
        if isinstance(a, model.Band) and isinstance(b, model.Band):
            yield from _band_changes(old, new, a, b)
        if isinstance(a, model.Threshold) and isinstance(b, model.Threshold):
            if a.base_value != b.base_value or a.unit != b.unit:
                yield (f"{b.title}: threshold changed from {_quantity(a.value, a.unit)} to "
                       f"{_quantity(b.value, b.unit)}")
        if isinstance(a, model.UrgencyRule) and isinstance(b, model.UrgencyRule) \
                and a.level != b.level:
            yield f"{b.title}: level changed from {a.level} to {b.level}"
        if hasattr(a, "when") and hasattr(b, "when"):
            yield from _when(b.title, "when", a.when, b.when)
        yield from _when(b.title, "applies_when", a.applies_when, b.applies_when)
    for a in old.items():
        if a.id not in new_ids and _decides(a):
            yield f"Removed {_kind_label(a).lower()}: {_describe(old, a)}"
    old_inputs = old.input_by_id
    for inp in new.inputs:
        was = old_inputs.get(inp.id)
        if was is None:
            yield f"New input `{inp.id}` ({inp.type})"
            continue
        if was.unit != inp.unit:
            yield f"Input `{inp.id}`: unit changed from {was.unit} to {inp.unit}"
        if (was.min, was.max) != (inp.min, inp.max):
            unit = find_unit(inp.unit) if inp.unit else None
            tail = f" {unit.symbol}" if unit else ""
            yield (f"Input `{inp.id}`: accepted range changed from {_range(was.min, was.max)} to "
                   f"{_range(inp.min, inp.max)}{tail}")
        if set(was.accepted_units) != set(inp.accepted_units):
            yield (f"Input `{inp.id}`: accepted units changed from "
                   f"{', '.join(was.accepted_units) or 'none'} to "
                   f"{', '.join(inp.accepted_units) or 'none'}")
    for was in old.inputs:
        if was.id not in new.input_by_id:
            yield f"Removed input `{was.id}`"


def _range(low: Fraction | None, high: Fraction | None) -> str:
    return f"{format_number(low) if low is not None else '…'}–" \
           f"{format_number(high) if high is not None else '…'}"


# How each kind of item is named in the report, and which kinds change decisions: the kinds table.
def _kind_label(item: Item) -> str:
    kind = ITEM_KINDS.get(item.kind)
    return kind.label if kind is not None else item.kind


def _decides(item: Item) -> bool:
    kind = ITEM_KINDS.get(item.kind)
    return kind is not None and kind.decides


def _describe(kb: KnowledgeBase, item: Item) -> str:
    if isinstance(item, model.Threshold):
        return f"{item.title} = {_quantity(item.value, item.unit)}"
    if isinstance(item, model.Band):
        return f"{item.title}: {band_range(kb, item)}"
    if isinstance(item, model.UrgencyRule):
        return f"{item.title}: `{item.level}` when `{normal_condition(item.when)}`"
    if isinstance(item, (model.Fact, model.ScopeLimit)):
        return f"{item.title}: when `{normal_condition(item.when)}`"
    return item.title


def _sources(item: Item) -> list[str]:
    return [f"{s.source}" + (f" § {s.section}" if s.section else "") for s in item.sources]


def _field_changes(a: Item, b: Item) -> list[str]:
    lines = []
    for name in _WORDING_FIELDS:
        before, after = getattr(a, name, None), getattr(b, name, None)
        if name == "sources":
            before, after = _sources(a), _sources(b)
        if before == after:
            continue
        if name in {"sources", "see_also", "groups", "examples"}:
            gone = [x for x in before or () if x not in (after or ())]
            new = [x for x in after or () if x not in (before or ())]
            words = "; ".join(p for p in (
                f"added {', '.join(new)}" if new else "",
                f"removed {', '.join(gone)}" if gone else "") if p) or "reordered"
            lines.append(f"{name}: {words}")
        elif name in {"text", "note"}:
            lines.append(f"{name} changed\n    - before: {normal_condition(before)}\n    - after: "
                         f"{normal_condition(after)}")
        else:
            lines.append(f"{name} changed from \"{before or ''}\" to \"{after or ''}\"")
    return lines


def compare(old: KnowledgeBase, new: KnowledgeBase) -> Report:
    old_ids, new_ids = old.by_id, new.by_id
    added = [_label(b) + _applies(b) for b in new.items() if b.id not in old_ids]
    removed = [_label(a) for a in old.items() if a.id not in new_ids]
    changed = []
    for b in new.items():
        a = old_ids.get(b.id)
        if a is not None:
            fields = _field_changes(a, b)
            if fields:
                changed.append(_label(b) + ":\n" + "\n".join(f"  - {f}" for f in fields))
    old_src, new_src = old.source_by_id, new.source_by_id
    sources = [f"Added source `{s.id}`: {s.title}" for s in new.sources if s.id not in old_src]
    sources += [f"Removed source `{s.id}`: {s.title}" for s in old.sources if s.id not in new_src]
    for s in new.sources:
        was = old_src.get(s.id)
        if was is not None and was != s:
            sections = {x.id for x in s.sections} - {x.id for x in was.sections}
            extra = f" (new sections: {', '.join(sorted(sections))})" if sections else ""
            sources.append(f"Changed source `{s.id}`: {s.title}{extra}")
    known = {c.version for c in old.changelog}
    changelog = [f"{c.version} ({c.date}): " + " ".join(normal_condition(x) for x in c.changes)
                 for c in new.changelog if c.version not in known]
    decision_lines = list(dict.fromkeys(_decision_changes(old, new)))
    warnings = []
    if fingerprint(old) != fingerprint(new) and old.meta.version == new.meta.version:
        warnings.append(f"Decisions changed but the version is still {new.meta.version}: bump "
                        "`kb.version` in kb.yaml and add a changelog entry.")
    return Report(old.meta.version, new.meta.version, tuple(decision_lines), tuple(added),
                  tuple(removed), tuple(changed), tuple(sources), tuple(changelog),
                  tuple(warnings))


def _applies(item: Item) -> str:
    return f", applies when `{normal_condition(item.applies_when)}`" if item.applies_when else ""


def to_markdown(report: Report) -> str:
    """A pull-request comment: summary, decisions first, then items, sources, version."""
    head = f"## Clinical changes: {report.old_version} → {report.new_version}"
    if report.empty:
        return f"{head}\n\nNo changes.\n"
    counts = (f"{len(report.decisions)} decision(s) changed · {len(report.added)} item(s) "
              f"added · {len(report.removed)} removed · {len(report.changed)} changed")
    out = [head, "", counts, ""]
    out += [f"> **Warning:** {w}\n" for w in report.warnings]
    sections: list[tuple[str, Any]] = [
        ("Decisions changed", report.decisions), ("Added", report.added),
        ("Removed", report.removed), ("Changed", report.changed), ("Sources", report.sources)]
    for title, lines in sections:
        if lines:
            out += [f"### {title}", ""] + [f"- {line}" for line in lines] + [""]
    version = []
    if report.old_version != report.new_version:
        version.append(f"- Version: {report.old_version} → {report.new_version}")
    version += [f"- Changelog {line}" for line in report.changelog]
    if version:
        out += ["### Version and changelog", ""] + version + [""]
    return "\n".join(out).rstrip() + "\n"


def diff(old_spec: str, new_spec: str, cwd: Path | None = None) -> Report:
    return compare(load_side(old_spec, "OLD", cwd), load_side(new_spec, "NEW", cwd))


