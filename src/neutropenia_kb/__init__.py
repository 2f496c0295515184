"""neutropenia-kb: a rules-as-data patient-information system for neutropenia.

The public API, one call per job: ``load(path)`` returns the validated knowledge base (with its
documents when asked) or raises ``KbError`` with every problem; ``evaluate(kb, patient)``
decides for one patient; ``evaluator_for(kb)`` is the compiled form, built once per knowledge
base, to reuse for many.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, overload

from neutropenia_kb.core.problems import InputError, KbError, NkbError, Problem
from neutropenia_kb.engine.evaluate import Evaluator, Result, evaluator_for
from neutropenia_kb.kb.loader import Doc
from neutropenia_kb.kb.model import KnowledgeBase

__version__ = "0.1.0"
__all__ = ["load", "evaluate", "evaluate_many", "evaluator_for", "Evaluator", "Result",
           "KnowledgeBase", "NkbError", "KbError", "InputError", "Problem", "__version__"]


@overload
def load(path: str | Path = ..., *, strict: bool = ..., with_docs: Literal[False] = ...,
         on_warning: Callable[[Problem], object] | None = ...) -> KnowledgeBase: ...
@overload
def load(path: str | Path = ..., *, strict: bool = ..., with_docs: Literal[True],
         on_warning: Callable[[Problem], object] | None = ...
         ) -> tuple[KnowledgeBase, dict[str, Doc]]: ...


def load(path: str | Path = "rules", *, strict: bool = False, with_docs: bool = False,
         on_warning: Callable[[Problem], object] | None = None
         ) -> KnowledgeBase | tuple[KnowledgeBase, dict[str, Doc]]:
    """Load, validate and build the knowledge base in ``path`` (the folder with kb.yaml).

    Raises ``KbError`` with the errors (every problem with ``strict``). ``with_docs`` returns
    the loaded documents too, for commands that point at lines (readability, status); each
    file is parsed once either way. ``on_warning`` is called with each warning of a knowledge
    base that loads (the CLI prints them, the MkDocs plugin logs them)."""
    from neutropenia_kb.checks.validate import validate_docs

    # warnings nobody sees (neither strict nor on_warning) are not worked out
    kb, docs, problems = validate_docs(Path(path), warnings=strict or on_warning is not None)
    errors = [p for p in problems if p.severity == "error" or strict]
    if errors or kb is None:
        raise KbError(errors or problems)
    if on_warning is not None:
        for problem in problems:
            on_warning(problem)
    return (kb, docs) if with_docs else kb


def evaluate(kb: KnowledgeBase, patient: Mapping[str, Any]) -> Result:
    """One patient's decision; raises ``InputError`` naming the field, the value and what is
    allowed."""
    return evaluator_for(kb).evaluate(patient)


def evaluate_many(kb: KnowledgeBase, rows: Iterable[Mapping[str, Any]]) -> Iterator[Result]:
    """Lazily, one result per row; a bad row raises ``InputError`` when reached."""
    return evaluator_for(kb).evaluate_many(rows)
