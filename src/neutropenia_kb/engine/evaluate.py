"""One patient → a decision: severity, urgency, advice, and why (lazily, with the sources).

Pure: no files, no printing. The decisions come from the compiled form (engine/program.py)
through its Python backend (engine/python_backend.py); the explanations are worked out only when
someone reads ``findings`` or ``trace``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from neutropenia_kb.core.units import json_number
from neutropenia_kb.engine.explain import Authored, Explainer, Finding
from neutropenia_kb.engine.patient import Patient, PatientParser
from neutropenia_kb.engine.program import Decision, Program, build_program
from neutropenia_kb.engine.python_backend import PythonProgram, compile_python

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase, ScopeLimit

UNKNOWN = "unknown"
# The one fact a result reports by name (Result.fever: the CLI line, the batch column, the cases'
# `fever:`), because "do you have a fever" is what the patient acts on. Every other fact is only
# read through the rules. A knowledge base without this fact gives fever None.
FEVER_FACT = "has_fever"


@dataclass(frozen=True)
class Result:
    severity: str  # band id or "unknown"
    urgency: str  # level id
    urgency_certain: bool
    fever: bool | None
    advice_ids: frozenset[str]
    patient: Patient = field(repr=False, compare=False)
    decision: Decision = field(repr=False, compare=False)  # the engine's whole answer
    _evaluator: "Evaluator" = field(repr=False, compare=False)

    @classmethod
    def _make(cls, fields: dict[str, Any]) -> "Result":
        """Build without the frozen __init__'s per-field object.__setattr__: a third of the
        cost of a whole evaluation otherwise. Still immutable to callers."""
        self = object.__new__(cls)
        self.__dict__.update(fields)
        return self

    @cached_property
    def anc_cells_per_ul(self) -> Fraction | None:
        anc = self.patient.values.get(self._evaluator.kb.severity.input)
        return None if anc is None else Fraction(anc)  # type: ignore[arg-type]

    @cached_property
    def scope_warnings(self) -> tuple["ScopeLimit", ...]:
        """Out-of-scope limits that hold or may hold (unknown counts: cautious)."""
        return tuple(s for s, v in zip(self._evaluator.kb.severity.out_of_scope,
                                       self.decision.scope) if v is not False)

    @cached_property
    def settle_with(self) -> tuple[str, ...]:
        """Inputs that would settle an undecided rule more urgent than the decided level."""
        if self.urgency_certain:
            return ()
        return self._evaluator.settle_with(self.patient, self.decision)

    @cached_property
    def inputs(self) -> dict[str, Any]:
        """The inputs as understood, in words with units ('0.8 ×10⁹/L = 800 cells/µL')."""
        return self._explainer.inputs()

    @cached_property
    def findings(self) -> tuple[Finding, ...]:
        return self._explainer.findings(self)

    @cached_property
    def trace(self) -> tuple[str, ...]:
        """How each decision was reached, one line per step, for test failures and audits."""
        return self._explainer.trace(self)

    @cached_property
    def _explainer(self) -> Explainer:
        evaluator = self._evaluator
        return Explainer(evaluator.kb, evaluator.program, evaluator.authored, self.patient,
                         self.decision)

    def decision_json(self) -> dict[str, Any]:
        """The decisions only, as JSON values: what a batch writes per row (no explanations, so
        a million rows stay fast)."""
        anc = self.anc_cells_per_ul
        return {
            "severity": self.severity,
            "urgency": self.urgency,
            "urgency_certain": self.urgency_certain,
            "settle_with": list(self.settle_with),
            "anc_cells_per_ul": None if anc is None else json_number(anc),
            "fever": self.fever,
            "scope_warnings": [s.id for s in self.scope_warnings],
            "advice_ids": sorted(self.advice_ids),
        }

    def to_json(self, findings: bool = True) -> dict[str, Any]:
        out = self.decision_json()
        out["inputs"] = self.inputs
        if findings:
            out["findings"] = [f.to_json() for f in self.findings]
        return out


class Evaluator:
    """The compiled knowledge base; build once (``evaluator_for(kb)``), evaluate many times."""

    def __init__(self, kb: "KnowledgeBase") -> None:
        self.kb = kb
        self.program: Program = build_program(kb)
        self.compiled: PythonProgram = compile_python(self.program)
        self.parser = PatientParser(kb)
        facts = [f.id for f in self.program.facts]
        self._fever_index = facts.index(FEVER_FACT) if FEVER_FACT in facts else None
        levels = tuple(lv.id for lv in self.program.levels) or ("routine",)
        self._levels = levels + (levels[-1],)  # index len(levels) = no level at all

    def evaluate(self, patient: Mapping[str, Any]) -> Result:
        """Raises problems.InputError naming the field, the value and what is allowed."""
        parsed = self.parser.parse(patient)
        return self.decide(parsed)

    @cached_property
    def authored(self) -> Authored:
        """The conditions as written, for explanations only."""
        return Authored(self.kb)

    def decide(self, parsed: Patient) -> Result:
        decision = self.compiled.decide(parsed.values)
        fever_i = self._fever_index
        return Result._make({
            "severity": decision.severity or UNKNOWN,
            "urgency": self._levels[decision.level],
            "urgency_certain": decision.certain,
            "fever": None if fever_i is None else decision.facts[fever_i],
            "advice_ids": decision.advice,
            "patient": parsed,
            "decision": decision,
            "_evaluator": self,
        })

    def settle_with(self, parsed: Patient, decision: Decision) -> tuple[str, ...]:
        """Missing inputs read by the unknown rules that are more urgent than the level a true
        rule decided (DESIGN.md, "The compiled form and its semantics")."""
        names: dict[str, None] = {}
        for rule, value in zip(self.program.rules, decision.rules):
            if value is None and rule.rank < decision.decided_level:
                for name in sorted(rule.deps):
                    if name not in parsed.values:
                        names[name] = None
        return tuple(names)

    def evaluate_many(self, rows: Iterable[Mapping[str, Any]]) -> Iterator[Result]:
        """Lazily, one result per row, in order. A bad row raises InputError when it is reached,
        which ends the iteration: the rows before it have been yielded, those after it are not
        read. To keep going past bad rows, use batch.run (it writes each error in its row)."""
        for row in rows:
            yield self.evaluate(row)


_CACHE = "_nkb_evaluator"


def evaluator_for(kb: "KnowledgeBase") -> Evaluator:
    """The knowledge base's evaluator, compiled on first use and then reused. Kept on the
    knowledge base object itself (as functools.cached_property does), so it lives exactly as
    long as the knowledge base and the model need not know the engine exists."""
    cached: Evaluator | None = kb.__dict__.get(_CACHE)
    if cached is None:
        cached = kb.__dict__[_CACHE] = Evaluator(kb)
    return cached
