"""What could change an uncertain result: the inputs worth asking for, and the questions to ask.

Exact, from the compiled form: every condition compares an input only with constants, so each
input's values fall into a few regions that no condition can tell apart (the numbers between
two constants, each constant itself; the symptom lists by which `symptom(...)` calls they make
true). Re-deciding a patient with one value per region is therefore the same as trying every
value. DESIGN.md ("Missing inputs: what could change the level") states the two definitions.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from neutropenia_kb.core.units import BASE_UNIT, format_number, format_quantity, simplest
from neutropenia_kb.engine.program import Compare, Const, Decision, InputRef, Program, SymptomAny, walk
from neutropenia_kb.kb.text import display_units

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase

MAX_SYMPTOM_CLASSES = 12  # 4,096 symptom lists at most; beyond, every symptom class is asked
_CACHE_SIZE = 4096


@dataclass(frozen=True)
class Question:
    """One answer that would raise the level decided on what is known, and the level it leads to."""

    input: str
    question: str  # the input's question, as inputs.yaml words it
    when: str  # "If your temperature is 38.0 °C (100.4 °F) or higher"
    level: str  # level id

    def to_json(self) -> dict[str, str]:
        return {"input": self.input, "question": self.question, "if": self.when,
                "level": self.level}


@dataclass(frozen=True)
class _Region:
    value: Any  # one value of the region, in base units
    low: Fraction | None = None  # numbers: the region's edges (None: open)
    low_in: bool = False
    high: Fraction | None = None
    high_in: bool = False


class _Input:
    """The regions of one input's values that the conditions can tell apart."""

    def __init__(self, program: Program, name: str) -> None:
        self.name = name
        inp = program.input_by_id[name]
        self.kind = inp.value_type
        self.opaque = False  # compared with another input: regions unknown, always asked
        self.cuts: list[Fraction] = []
        self.regions: list[_Region] = []
        self.classes: list[frozenset[str]] = []
        if self.kind == "bool":
            self.regions = [_Region(True), _Region(False)]
        elif self.kind == "symptoms":
            self._symptoms(program)
        else:
            self._numbers(program, inp.min, inp.max)

    def _numbers(self, program: Program, low: Fraction | None, high: Fraction | None) -> None:
        cuts: set[Fraction] = set()
        if program.severity.input == self.name:
            for band in program.severity.bands:
                cuts.update(e for e in (band.lower, band.below) if e is not None)
        for _owner, _kind, cond in program.conditions():
            for node in walk(cond):
                if isinstance(node, Compare) and isinstance(node.left, InputRef) and \
                        self.name in (node.left.input, getattr(node.right, "input", None)):
                    if isinstance(node.right, Const) and isinstance(node.right.value, Fraction):
                        cuts.add(node.right.value)
                    else:
                        self.opaque = True
        self.cuts = cuts_ = sorted(c for c in cuts if (low is None or c >= low)
                                   and (high is None or c <= high))
        regions: list[_Region] = []
        if not cuts_:
            self.regions = [_Region(low if low is not None else Fraction(0), low, True, high,
                                    True)]
            return
        if low is None or low < cuts_[0]:  # under the lowest cut
            rep = cuts_[0] - 1 if low is None else (low + cuts_[0]) / 2
            regions.append(_Region(rep, low, low is not None, cuts_[0], False))
        for i, cut in enumerate(cuts_):
            regions.append(_Region(cut, cut, True, cut, True))
            top = cuts_[i + 1] if i + 1 < len(cuts_) else high
            if top is None or top > cut:  # between this cut and the next (or the top)
                rep = cut + 1 if top is None else (cut + top) / 2
                regions.append(_Region(rep, cut, False, top,
                                       top is not None and i + 1 == len(cuts_)))
        # whole values as ints, as the patient's own values are (units.simplest): the
        # compiled rules compare an int with a whole constant many times faster
        self.regions = [_Region(simplest(r.value), r.low, r.low_in, r.high, r.high_in)
                        for r in regions]

    def _symptoms(self, program: Program) -> None:
        atoms = [n.symptoms for _o, _k, c in program.conditions() for n in walk(c)
                 if isinstance(n, SymptomAny)]
        by_signature: dict[tuple[bool, ...], list[str]] = {}
        for symptom in program.symptoms:
            by_signature.setdefault(tuple(symptom in a for a in atoms), []).append(symptom)
        self.classes = [frozenset(ids) for ids in by_signature.values()]
        reps = [min(c) for c in self.classes]
        self.regions = [_Region(frozenset())] + [_Region(frozenset({r})) for r in reps]
        if len(reps) <= MAX_SYMPTOM_CLASSES:  # every union of classes, for exact relevance
            self.regions += [_Region(frozenset(combo)) for size in range(2, len(reps) + 1)
                             for combo in combinations(reps, size)]

    def region_of(self, value: Any) -> Any:
        """A key that is equal for two values exactly when no condition tells them apart."""
        if self.kind == "symptoms":
            return frozenset(i for i, c in enumerate(self.classes) if not c.isdisjoint(value))
        if self.kind == "bool" or self.opaque:
            return value
        i = bisect_left(self.cuts, value)
        return 2 * i + (1 if i < len(self.cuts) and self.cuts[i] == value else 0)


class Analysis:
    """Built once per evaluator; answers for many patients (results are cached by region)."""

    def __init__(self, kb: "KnowledgeBase", program: Program,
                 decide: Callable[[Mapping[str, Any]], Decision]) -> None:
        self.kb = kb
        self.program = program
        self.decide = decide
        read = set().union(*(r.deps for r in program.rules)) if program.rules else set()
        self.inputs = {name: _Input(program, name) for name in sorted(read)}
        self._cache: dict[Any, tuple[tuple[str, ...], tuple[Question, ...]]] = {}
        self._settled: dict[Any, tuple[str, ...]] = {}

    def answer(self, values: Mapping[str, Any], decision: Decision
               ) -> tuple[tuple[str, ...], tuple[Question, ...]]:
        """(settle_with, questions) for a patient whose decision is not certain."""
        key = self._key(values, decision)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            settle = self._settle(values, key)
            found = settle, self._questions(values, decision, settle)
            self._cache[key] = found
        return found

    def settle(self, values: Mapping[str, Any], decision: Decision) -> tuple[str, ...]:
        """``answer``'s settle_with alone (a batch writes no questions)."""
        key = self._key(values, decision)
        found = self._cache.get(key)
        return found[0] if found is not None else self._settle(values, key)

    def _key(self, values: Mapping[str, Any], decision: Decision) -> Any:
        """The regions of the inputs the rules read, and the candidates: the answers'
        key (the candidates are the missing inputs of unknown rules above the level)."""
        candidates: dict[str, None] = {}
        for rule, value in zip(self.program.rules, decision.rules):
            if value is None and rule.rank < decision.decided_level:
                candidates.update((n, None) for n in sorted(rule.deps) if n not in values)
        return (tuple((n, spec.region_of(values[n])) for n, spec in self.inputs.items()
                      if n in values), tuple(candidates))

    def _settle(self, values: Mapping[str, Any], key: Any) -> tuple[str, ...]:
        found = self._settled.get(key)
        if found is None:
            if len(self._settled) >= _CACHE_SIZE:
                self._settled.clear()
            candidates = list(key[1])
            found = self._settled[key] = tuple(
                n for n in candidates if self._matters(values, n, candidates))
        return found

    # ---- which inputs can change the level --------------------------------------------------

    def _matters(self, values: Mapping[str, Any], name: str, missing: list[str]) -> bool:
        """True if some answers to the other missing inputs leave the level depending on
        ``name``. A branch is cut as soon as its level is certain (Kleene logic is sound: a
        certain level holds for every completion)."""
        spec = self.inputs.get(name)
        if spec is None or spec.opaque:
            return True
        others = [n for n in missing if n != name]
        for filled in self._branches(dict(values), others):
            first = None
            for region in spec.regions:  # until two regions decide two levels
                level = self.decide({**filled, name: region.value}).decided_level
                if first is None:
                    first = level
                elif level != first:
                    return True
        return False

    def _branches(self, values: dict[str, Any], others: list[str]) -> Iterator[dict[str, Any]]:
        if self.decide(values).certain:
            return
        if not others:
            yield values
            return
        first, rest = others[0], others[1:]
        spec = self.inputs.get(first)
        regions = spec.regions if spec is not None and not spec.opaque else []
        for region in regions:
            yield from self._branches({**values, first: region.value}, rest)

    # ---- the questions, in words -------------------------------------------------------------

    def _questions(self, values: Mapping[str, Any], decision: Decision,
                   settle: tuple[str, ...]) -> tuple[Question, ...]:
        out: list[tuple[int, Question]] = []
        levels = self.program.levels
        for name in settle:
            spec = self.inputs[name]
            if spec.opaque:
                continue
            single = [r for r in spec.regions if spec.kind != "symptoms" or len(r.value) <= 1]
            raised = [(r, self.decide({**values, name: r.value}).decided_level) for r in single]
            raised = [(r, lv) for r, lv in raised if lv < decision.decided_level]
            inp = self.kb.input_by_id[name]
            for when, rank in self._words(spec, raised, inp.phrase):
                out.append((rank, Question(name, inp.question, when, levels[rank].id)))
        out.sort(key=lambda item: item[0])  # most urgent first; stable within a level
        return tuple(q for _rank, q in out)

    def _words(self, spec: _Input, raised: list[tuple[_Region, int]], phrase: str
               ) -> Iterator[tuple[str, int]]:
        if spec.kind == "bool":
            for region, rank in raised:
                yield (f"If {phrase}" if region.value else f"If this is not so: {phrase}"), rank
        elif spec.kind == "symptoms":
            yield from self._symptom_words(raised, phrase)
        else:
            for low, high, rank in _merge(raised, spec.regions):
                yield f"If {phrase} is {self._interval(spec, low, high)}", rank

    def _symptom_words(self, raised: list[tuple[_Region, int]], phrase: str
                       ) -> Iterator[tuple[str, int]]:
        titles = {s.id: s.title.lower() for s in self.kb.symptoms}
        classes = {min(c): c for c in self.inputs["symptoms"].classes}
        listed: set[str] = set()
        for rank in sorted({lv for _r, lv in raised}):
            ids = sorted({s for r, lv in raised if lv == rank for rep in r.value
                          for s in classes[rep]}, key=list(titles).index)
            rest = set(titles) - listed
            if listed and set(ids) == rest:
                yield f"If {phrase} any other symptom", rank
            else:
                yield (f"If {phrase} any of these: {'; '.join(titles[i] for i in ids)}" if len(ids) > 1
                       else f"If {phrase} this: {titles[ids[0]]}"), rank
            listed.update(ids)

    def _interval(self, spec: _Input, low: _Region, high: _Region) -> str:
        def show(value: Fraction) -> str:
            unit = BASE_UNIT.get(spec.kind)
            if unit is None:
                return format_number(value)
            return format_quantity(value, unit, display_units(self.kb, spec.kind))
        lo, lo_in, hi, hi_in = low.low, low.low_in, high.high, high.high_in
        inp = self.program.input_by_id[spec.name]
        if lo is not None and lo == inp.min and lo_in:
            lo = None  # the lowest plausible value: no lower edge worth saying
        if hi is not None and hi == inp.max and hi_in:
            hi = None
        if lo is not None and hi is not None and lo == hi:
            return f"exactly {show(lo)}"
        parts = []
        if lo is not None:
            parts.append(f"{show(lo)} or higher" if lo_in else f"above {show(lo)}")
        if hi is not None:
            parts.append(f"{show(hi)} or lower" if hi_in else f"below {show(hi)}")
        return " and ".join(parts) or "given"


def _merge(raised: list[tuple[_Region, int]], regions: list[_Region]
           ) -> Iterator[tuple[_Region, _Region, int]]:
    """Runs of neighbouring regions that lead to the same level: (first, last, level)."""
    rank_of = {id(r): lv for r, lv in raised}
    run: list[_Region] = []
    run_rank = None
    for region in [*regions, None]:
        rank = rank_of.get(id(region)) if region is not None else None
        if run and rank != run_rank:
            yield run[0], run[-1], run_rank  # type: ignore[misc]
            run = []
        if region is not None and rank is not None:
            run.append(region)
            run_rank = rank
