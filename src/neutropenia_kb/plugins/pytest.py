"""pytest plugin (entry point ``neutropenia_kb``): each case in tests/cases/*.yaml is one test.

A failing case shows the file and line, the case id, what was expected, what came out, and the
trace of how the evaluator decided. ``--nkb-rules`` picks the knowledge base (default: the
``rules`` folder next to the tests folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from neutropenia_kb import evaluator_for
from neutropenia_kb.core.problems import KbError, render_all


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--nkb-rules", default=None,
                     help="knowledge base folder for tests/cases/*.yaml (default: <rootdir>/rules)")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".yaml" and file_path.parent.name == "cases" \
            and file_path.parent.parent.name == "tests":
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFailure(Exception):
    pass


_KB_CACHE: dict[Path, Any] = {}


def _evaluator(config: pytest.Config) -> Any:
    from neutropenia_kb import load

    option = config.getoption("--nkb-rules")
    rules = Path(option) if option else Path(str(config.rootpath)) / "rules"
    rules = rules.resolve()
    if rules not in _KB_CACHE:
        try:
            _KB_CACHE[rules] = evaluator_for(load(rules))
        except KbError as exc:
            _KB_CACHE[rules] = exc
    return _KB_CACHE[rules]


class CaseFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from neutropenia_kb.engine.cases import load_cases

        cases, problems = load_cases(self.path)
        if problems:
            yield BrokenFile.from_parent(self, name="<case file>", problems=problems)
            return
        for case in cases:
            yield CaseItem.from_parent(self, name=case.id, case=case)


class BrokenFile(pytest.Item):
    def __init__(self, *, problems: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problems = problems

    def runtest(self) -> None:
        raise CaseFailure(render_all(self.problems))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        return str(excinfo.value)


class CaseItem(pytest.Item):
    def __init__(self, *, case: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        from neutropenia_kb.engine.cases import run_case

        evaluator = _evaluator(self.config)
        if isinstance(evaluator, KbError):
            raise CaseFailure("the knowledge base has errors:\n" + str(evaluator))
        outcome = run_case(evaluator, self.case)
        if not outcome.passed:
            raise CaseFailure(outcome.report())

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, (self.case.line or 1) - 1, f"case {self.case.id}"
