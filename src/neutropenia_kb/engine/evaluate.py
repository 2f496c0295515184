"""One patient → a decision: severity, urgency, advice, and why (lazily, with the sources).

Pure: no files, no printing. The decisions come from the compiled form (engine/program.py)
through its Python backend (engine/python_backend.py); the explanations are worked out only when
someone reads ``findings`` or ``trace``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterable, Iterator, Mapping

from neutropenia_kb.core.problems import InputError
from neutropenia_kb.core.units import Unit, exact_ratio, json_number
from neutropenia_kb.engine.explain import Authored, Explainer, Finding
from neutropenia_kb.engine.patient import Patient, PatientParser
from neutropenia_kb.engine.program import Decision, Program, build_program
from neutropenia_kb.engine.python_backend import PythonProgram, compile_python
from neutropenia_kb.engine.questions import Analysis, Question
from neutropenia_kb.engine.regions import Key, region_keys
from neutropenia_kb.engine.worded import Worded
from neutropenia_kb.kb.text import expand

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
        """Out-of-scope limits that hold. One that is unknown (no age given) is no warning:
        warning every adult who leaves out their age as a baby teaches people to ignore
        warnings; the severity is then given as usual."""
        return tuple(s for s, v in zip(self._evaluator.kb.severity.out_of_scope,
                                       self.decision.scope) if v is True)

    @cached_property
    def decided_urgency(self) -> str:
        """The level decided on what is known (a true rule, or the least urgent level);
        ``urgency`` is the cautious level, more urgent when an unknown rule could raise it."""
        return self._evaluator._levels[self.decision.decided_level]

    @cached_property
    def settle_with(self) -> tuple[str, ...]:
        """The missing inputs whose answers can change the level (exact: engine/questions.py)."""
        if self.urgency_certain:
            return ()
        if "_open" in self.__dict__:
            return self._open[0]
        return self._evaluator.analysis.settle(self.patient.values, self.decision)

    @cached_property
    def questions(self) -> tuple[Question, ...]:
        """Each answer that would raise the level decided on what is known, with its level."""
        return self._open[1]

    @cached_property
    def _open(self) -> tuple[tuple[str, ...], tuple[Question, ...]]:
        if self.urgency_certain:
            return (), ()
        return self._evaluator.analysis.answer(self.patient.values, self.decision)

    @cached_property
    def inputs(self) -> dict[str, Any]:
        """The inputs as understood, in words with units ('0.8 ×10⁹/L = 800 cells/µL')."""
        return self._explainer.inputs()

    @cached_property
    def findings(self) -> tuple[Finding, ...]:
        return self._evaluator.worded.findings(self._explainer, self)

    def findings_of(self, kinds: Collection[str]) -> tuple[Finding, ...]:
        """The ``findings`` of these kinds, in the same order; the others are not worked out
        (a CDS Hooks card shows three kinds of the seven)."""
        if "findings" in self.__dict__:
            return tuple(f for f in self.findings if f.kind in kinds)
        return self._evaluator.worded.findings(self._explainer, self, kinds)

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
        """The whole result for a program to read (schema/result.schema.json), keys always in
        this order; numbers are Decimals where a float would not be exact: write it with
        core.json_text.dumps. A key whose value would only say "nothing" is left out."""
        decision = self.decision_json()
        evaluator = self._evaluator
        out: dict[str, Any] = {
            "kb": evaluator.kb_json,
            "level": evaluator.level_json[self.urgency],
            "severity": decision["severity"],
            "urgency": decision["urgency"],
            "urgency_certain": decision["urgency_certain"],
            "fever": decision["fever"],  # null means unknown, a meaning of its own
        }
        if decision["anc_cells_per_ul"] is not None:
            out["anc_cells_per_ul"] = decision["anc_cells_per_ul"]
        out["settle_with"] = decision["settle_with"]
        out["questions"] = [q.to_json() for q in self.questions]
        out["scope_warnings"] = decision["scope_warnings"]
        out["advice_ids"] = decision["advice_ids"]
        out["inputs"] = {name: _input_json(value, self.patient.values.get(name))
                         for name, value in self.inputs.items()}
        if findings:
            out["findings"] = [f.to_json() for f in self.findings]
        return out


def _input_json(shown: Any, value: Any) -> Any:
    """One input as understood, without a meaningless "unit": null; a number that has no
    finite decimal (100.3 °F in °C) also carries its exact value as a ratio."""
    if not isinstance(shown, dict):
        return shown
    out = {k: v for k, v in shown.items() if v is not None}
    ratio = exact_ratio(Fraction(value)) if isinstance(value, (Fraction, int)) else None
    if ratio is not None:
        out = {"value": out["value"], "exact": ratio} | out
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
        # The inputs some condition reads; a patient must give at least one of them.
        read = {name for _o, _k, cond in self.program.conditions() for name in cond.deps}
        read.add(self.program.severity.input)
        self._read = frozenset(read)
        filled = {d.input: d.when_given for d in self.program.derived}
        self._read_words = [name + (f" (or {' with '.join(filled[name])})"
                                    if name in filled else "")
                            for name in (i.id for i in self.program.inputs) if name in read]

    @cached_property
    def kb_json(self) -> dict[str, str]:
        """Which knowledge base decided, for audits: id, version and decisions fingerprint."""
        program = self.program
        return {"id": program.kb_id, "version": program.version, "fingerprint": program.fingerprint}

    @cached_property
    def level_json(self) -> dict[str, dict[str, Any]]:
        """Each level as a result shows it: its patient text, action and service."""
        out = {}
        for level in self.kb.levels:
            entry: dict[str, Any] = {"id": level.id, "title": level.title,
                                     "text": expand(self.kb, level.text), "action": level.action}
            service = self.kb.level_service(level.id)
            if service is not None:
                entry["service"] = {"id": service.id, "name": service.name} | (
                    {"phone": service.phone} if service.phone else {}) | (
                    {"say": service.say} if service.say else {})
            out[level.id] = entry
        return out

    def evaluate(self, patient: Mapping[str, Any], units: Mapping[str, Unit] | None = None
                 ) -> Result:
        """Raises problems.InputError naming the field, the value and what is allowed, also
        for a patient that gives nothing the rules read. ``units``: the unit of bare numbers
        per input, from ``parser.column_units`` (a batch's ``--unit``)."""
        return self.decide(self.parse(patient, units))

    def parse(self, patient: Mapping[str, Any], units: Mapping[str, Unit] | None = None
              ) -> Patient:
        """The patient's inputs read and checked, as ``evaluate`` decides on them."""
        parsed = self.parser.parse(patient, units)
        if self._read.isdisjoint(parsed.values):
            raise InputError("patient", patient, "at least one answer the rules read: "
                             + ", ".join(self._read_words))
        return parsed

    @cached_property
    def region_key(self) -> Callable[[Mapping[str, Any]], Key] | None:
        """values → a key equal for two patients only when every decision is the same for
        both (engine/regions.py); None when the rules read inputs in a way it cannot key."""
        return region_keys(self.program)

    @cached_property
    def analysis(self) -> Analysis:
        """What could change an uncertain result; built on first use."""
        return Analysis(self.kb, self.program, self.compiled.decide)

    @cached_property
    def authored(self) -> Authored:
        """The conditions as written, for explanations only."""
        return Authored(self.kb)

    @cached_property
    def worded(self) -> Worded:
        """Explanations worded once per region (engine/worded.py)."""
        return Worded(self.region_key)

    def decide(self, parsed: Patient) -> Result:
        decision = self.compiled.decide(parsed.values)
        fever_i = self._fever_index
        # An out-of-scope patient (a baby) is not placed in an adult band: the severity is
        # reported unknown and the scope warning says what to do instead. The rules still read
        # the count as the bands do, so a low count is not taken as safe (DESIGN.md).
        in_band = decision.severity if True not in decision.scope else None
        return Result._make({
            "severity": in_band or UNKNOWN,
            "urgency": self._levels[decision.level],
            "urgency_certain": decision.certain,
            "fever": None if fever_i is None else decision.facts[fever_i],
            "advice_ids": decision.advice,
            "patient": parsed,
            "decision": decision,
            "_evaluator": self,
        })

    def evaluate_many(self, rows: Iterable[Mapping[str, Any]]) -> Iterator[Result]:
        """Lazily, one result per row, in order. A bad row raises InputError when it is reached,
        which ends the iteration: the rows before it have been yielded, those after it are not
        read. To keep going past bad rows, use batch.run (it writes each error in its row)."""
        for row in rows:
            yield self.evaluate(row)


_CACHE = EVALUATOR_CACHE = "_nkb_evaluator"  # the attribute of a KnowledgeBase that holds it


def evaluator_for(kb: "KnowledgeBase") -> Evaluator:
    """The knowledge base's evaluator, compiled on first use and then reused. Kept on the
    knowledge base object itself (as functools.cached_property does), so it lives exactly as
    long as the knowledge base and the model need not know the engine exists."""
    cached: Evaluator | None = kb.__dict__.get(_CACHE)
    if cached is None:
        cached = kb.__dict__[_CACHE] = Evaluator(kb)
    return cached
