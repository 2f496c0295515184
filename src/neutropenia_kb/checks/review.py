"""Review governance: review dates, who reviewed what, and the version bump for decisions.

Publishers promise review cycles but nothing checks them. A past `next_review` is a warning
(an error under --strict), and so is a change to any decision without a new version: each
changelog entry records the fingerprint of the decisions it released (see diff.fingerprint).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from neutropenia_kb.checks.readability import item_paths
from neutropenia_kb.core.problems import Problem
from neutropenia_kb.kb.fingerprint import fingerprint
from neutropenia_kb.kb.loader import Doc, PathKey

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase

DUE_WITHIN_DAYS = 90


def _date(value: str) -> dt.date:
    """Dates are kept as written by the loader; validation has made sure each is a real day."""
    return dt.date.fromisoformat(value)


@dataclass(frozen=True)
class Due:
    id: str  # "kb" for the whole knowledge base
    title: str
    next_review: dt.date
    last_reviewed: str | None
    reviewed_by: tuple[str, ...]
    file: str
    line: int | None

    def overdue(self, today: dt.date) -> bool:
        return self.next_review < today


def review_dates(kb: "KnowledgeBase", docs: Mapping[str, Doc]) -> list[Due]:
    """Every review date: the knowledge base's own, then each item's `review:`."""
    out = []
    kb_doc = docs.get("kb")
    line = kb_doc.mark(("kb", "next_review"))[0] if kb_doc else None
    out.append(Due("kb", kb.meta.title, _date(kb.meta.next_review), kb.meta.last_reviewed,
                   kb.meta.reviewed_by, "kb.yaml", line))
    for item in kb.items():
        if item.review and item.review.next_review:
            out.append(Due(item.id, item.title, _date(item.review.next_review),
                           item.review.last_reviewed, item.review.reviewed_by,
                           item.file.name if item.file else "", item.line))
    return out


def _changelog_entry(docs: Mapping[str, Doc], version: str) -> tuple[int, dict[str, Any]] | None:
    kb_doc = docs.get("kb")
    entries = kb_doc.data.get("changelog") if kb_doc else None
    for i, entry in enumerate(entries or ()):
        if isinstance(entry, dict) and str(entry.get("version")) == version:
            return i, entry
    return None


def check_version(kb: "KnowledgeBase", docs: Mapping[str, Doc]) -> list[Problem]:
    """The current decisions must be the ones recorded for the current version."""
    kb_doc = docs["kb"]
    current = fingerprint(kb)
    version = kb.meta.version
    found = _changelog_entry(docs, version)
    if found is None:
        return [kb_doc.problem(("kb", "version"), f"version {version} has no changelog entry; add "
                               f"one to `changelog:` with the date, the changes, and "
                               f"`decisions: \"{current}\"`", severity="warning")]
    i, entry = found
    recorded = entry.get("decisions")
    if recorded is None:
        return [kb_doc.problem(("changelog", i), f"the changelog entry for {version} records no "
                               f"decisions fingerprint; add `decisions: \"{current}\"` to it",
                               severity="warning")]
    if str(recorded) != current:
        return [kb_doc.problem(("changelog", i, "decisions"), f"the decisions (thresholds, bands, "
                               f"conditions, urgency levels) differ from those released as "
                               f"{version} ({recorded}). Bump `kb.version`, add a changelog entry "
                               f"saying what changed, and record `decisions: \"{current}\"` in "
                               "it; `nkb diff` shows the changes", severity="warning")]
    return []


def check(kb: "KnowledgeBase", docs: Mapping[str, Doc], today: dt.date | None = None) -> list[Problem]:
    """Warnings for past review dates and for decisions changed without a version bump; errors
    for TODO values left by `nkb new`."""
    today = today or dt.date.today()
    problems = check_todos(docs)
    overdue = [due for due in review_dates(kb, docs) if due.overdue(today)]
    index = item_paths(docs) if overdue else {}
    for due in overdue:
        what = "the knowledge base" if due.id == "kb" else f"'{due.id}'"
        problems.append(_dated_problem(kb, docs, index, due, f"review of {what} was due on "
                                       f"{due.next_review.isoformat()}; review it, then set "
                                       "`last_reviewed` to the review date and `next_review` "
                                       "to the next one"))
    if "kb" in docs:
        problems.extend(check_version(kb, docs))
    return problems


def check_todos(docs: Mapping[str, Doc]) -> list[Problem]:
    """An error for every value still reading TODO (what `nkb new` leaves for the author).
    Reviewer notes may hold TODOs: they are never shown to patients."""
    problems = []

    def walk(doc: Doc, node: Any, where: PathKey) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key != "note":
                    walk(doc, value, where + (key,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(doc, value, where + (i,))
        elif isinstance(node, str) and node.strip().startswith("TODO"):
            field = where[-1] if where else ""
            problems.append(doc.problem(where, f"`{field}` still says TODO; fill it in (the "
                                        "comment above it says what it holds)"))

    for doc in docs.values():
        walk(doc, doc.data, ())
    return problems


def _dated_problem(kb: "KnowledgeBase", docs: Mapping[str, Doc],
                   index: Mapping[str, tuple[str, PathKey]], due: Due, message: str) -> Problem:
    if due.id == "kb":
        return docs["kb"].problem(("kb", "next_review"), message, severity="warning")
    stem, where = index.get(due.id, ("", ()))
    if stem in docs:
        return docs[stem].problem(where + ("review", "next_review"), message, severity="warning")
    item = kb.by_id[due.id]
    return Problem(item.file, due.line, None, due.id, message, "warning")


@dataclass(frozen=True)
class Status:
    today: dt.date
    due: tuple[Due, ...]  # overdue first, then by date
    unsourced: tuple[tuple[str, str, str], ...]  # (id, kind, file)
    reviewed: tuple[tuple[str, str, str | None], ...]  # (who, what, when)


def status(kb: "KnowledgeBase", docs: Mapping[str, Doc], today: dt.date | None = None,
           within_days: int = DUE_WITHIN_DAYS) -> Status:
    """What is due for review (or overdue), what lacks sources, and who reviewed what."""
    today = today or dt.date.today()
    horizon = today + dt.timedelta(days=within_days)
    dates = review_dates(kb, docs)
    due = sorted((d for d in dates if d.next_review <= horizon), key=lambda d: (d.next_review, d.id))
    unsourced = tuple((item.id, item.kind, item.file.name if item.file else "")
                      for item in kb.items() if not item.sources)
    reviewed: list[tuple[str, str, str | None]] = [(who, "the whole knowledge base", kb.meta.last_reviewed)
                                                   for who in kb.meta.reviewed_by]
    for item in kb.items():
        if item.review:
            reviewed += [(who, item.id, item.review.last_reviewed)
                         for who in item.review.reviewed_by]
    return Status(today, tuple(due), unsourced, tuple(sorted(reviewed)))
