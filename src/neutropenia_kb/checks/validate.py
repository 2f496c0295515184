"""Validate a knowledge base folder: every problem at once, each at its file:line:column.

Order: load (syntax, tabs, duplicate keys, encoding, alias bombs) → the files present → JSON
Schema per file → ids, references, units and patient text across files → build the model and
run the rule, readability and review checks, which need a well-formed model to mean anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

from neutropenia_kb.checks import readability, review
from neutropenia_kb.core.problems import Problem, did_you_mean, sort_problems
from neutropenia_kb.kb import loader, model
from neutropenia_kb.kb.kinds import FILES
from neutropenia_kb.kb.loader import Doc
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.kb.refs import build_index, check_refs, check_units, check_unused
from neutropenia_kb.kb.safe_text import check_schema_comment, check_text
from neutropenia_kb.kb.schema import check_doc
from neutropenia_kb.lang.check import check_rules

Hook = Callable[[KnowledgeBase, Mapping[str, Doc]], list[Problem]]

# Checks written in other modules, run once the model is built.
HOOKS: tuple[Hook, ...] = (check_rules, readability.check, review.check)
# Those that can only warn: a caller that shows no warnings (the knowledge base loaded to
# evaluate a patient) skips them. Readability scores every patient text (~0.15 s).
WARNING_HOOKS: frozenset[Hook] = frozenset({readability.check})


def validate_dir(path: Path, *, hooks: bool = True) -> tuple[KnowledgeBase | None, list[Problem]]:
    """The knowledge base in ``path`` (None if it has errors) and every problem, sorted."""
    kb, _, problems = validate_docs(path, hooks=hooks)
    return kb, problems


def validate_docs(path: Path, *, hooks: bool = True, warnings: bool = True
                  ) -> tuple[KnowledgeBase | None, dict[str, Doc], list[Problem]]:
    """As validate_dir, plus the documents it loaded (for line marks), so that a command
    needing both parses each file once. ``warnings=False``: the checks that can only warn are
    left out (every error is still found)."""
    docs, problems = loader.load_dir(path)
    if not path.is_dir():
        return None, docs, problems
    problems += check_files(path, docs)
    loaded_at = {(p.file, p.line, p.column) for p in problems}
    for kind, doc in docs.items():
        if kind in FILES:
            # A value the loader refused (e.g. a forbidden tag) is None: its schema error
            # would only repeat the loader's point.
            problems += [p for p in check_doc(FILES[kind].schema_name, doc)
                         if (p.file, p.line, p.column) not in loaded_at]
    known = {kind: doc for kind, doc in docs.items() if kind in FILES}
    # With a file unreadable or missing, links into it would all look dangling and its users
    # unused: those checks wait until every file loads.
    complete = all(p.stem in known for p in loader.rule_files(path) if p.stem in FILES) and all(
        kind in known for kind, file in FILES.items() if file.required)
    index, found = build_index(known)
    problems += found
    problems += check_refs(known, index, links=complete)
    problems += check_units(known, index)
    bands = {str(e.data["id"]): e.data for e in index.of("severity.severity.bands")
             if isinstance(e.data.get("id"), str)}
    problems += check_text(known, bands, set(index.idset("inputs.thresholds")))
    if complete:
        problems += check_unused(known, index)
    if any(p.severity == "error" for p in problems):
        return None, known, sort_problems(problems)
    kb = model.build(path, known)
    if hooks:
        for hook in HOOKS:
            if warnings or hook not in WARNING_HOOKS:
                problems += hook(kb, known)
    problems = sort_problems(problems)
    return (None if any(p.severity == "error" for p in problems) else kb), known, problems


def check_files(path: Path, docs: Mapping[str, Doc]) -> list[Problem]:
    """Required files present, no unknown file names, and each names its schema for editors."""
    problems: list[Problem] = []
    present = {p.stem: p for p in loader.rule_files(path)}
    # Without the required files the model cannot be built; the others may be added as the
    # content grows.
    for kind, wanted in FILES.items():
        if wanted.required and kind not in present:
            problems.append(Problem(path / f"{kind}.yaml", None, None, "",
                                    f"missing file: {kind}.yaml holds {wanted.required}; create it"))
    for stem, file in present.items():
        if stem in FILES:
            if stem in docs:  # an unreadable file has a bigger problem to report
                problems += check_schema_comment(file, FILES[stem].schema_name)
            continue
        names = [f"{k}.yaml" for k in FILES]
        problems.append(Problem(file, None, None, "", f"unknown file name '{file.name}'"
                                f"{did_you_mean(file.stem + '.yaml', names)} (a knowledge base "
                                f"holds: {', '.join(names)})"))
    return problems
