"""neutropenia-kb: a rules-as-data patient-information system for neutropenia.

``load(path)`` returns the validated knowledge base or raises ``KbError`` with every problem.
"""

from __future__ import annotations

from pathlib import Path

from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.core.problems import InputError, KbError, Problem

__version__ = "0.1.0"
__all__ = ["load", "KnowledgeBase", "KbError", "InputError", "Problem", "__version__"]


def load(path: str | Path = "rules", *, strict: bool = False) -> KnowledgeBase:
    """Load, validate and build the knowledge base in ``path`` (the folder with kb.yaml)."""
    from neutropenia_kb.checks.validate import validate_dir

    kb, problems = validate_dir(Path(path))
    errors = [p for p in problems if p.severity == "error" or strict]
    if errors or kb is None:
        raise KbError(errors or problems)
    return kb
