"""Explanations: why each finding holds, in words a nurse can read, and the step-by-step trace.

Built only on demand (Result.findings / Result.trace), by interpreting the conditions as
authored (parsed, not compiled) with the values the compiled program decided, so the words can
quote the condition as written. Tests check that this interpreter and the engines agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Collection, Mapping, Protocol

from neutropenia_kb.core.units import BASE_UNIT, format_number, format_quantity, json_number
from neutropenia_kb.engine.compile import literal_value
from neutropenia_kb.engine.program import Decision, Program
from neutropenia_kb.kb.text import band_range, display_units
from neutropenia_kb.lang.check import Scope
from neutropenia_kb.lang.parse import And, Arith, Bool, Call, Compare, In, Name, Node, Not, Number, Or, parse, unparse

if TYPE_CHECKING:
    from neutropenia_kb.engine.patient import Patient
    from neutropenia_kb.kb.model import Item, KnowledgeBase, ScopeLimit

Tri = bool | None
_OPS = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above", "==": "equal to",
        "!=": "not equal to"}
_WORD = {True: "true", False: "false", None: "unknown"}
QUANTITY_CACHE = 4096


@dataclass(frozen=True)
class Finding:
    id: str
    kind: str  # band, fact, scope, urgency_rule, test, treatment, precaution
    title: str
    because: str  # the condition and the input values that made it true, in words
    sources: tuple[tuple[str, str | None], ...]  # (source id, section id)
    certain: bool = True  # False when the condition is unknown and counted to be cautious

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title, "because": self.because,
                "certain": self.certain,
                "sources": [{"source": s} | ({"section": sec} if sec else {})
                            for s, sec in self.sources]}


class Outcome(Protocol):
    """What an explanation reads of a result (evaluate.Result is one), so that this module
    needs nothing of the module that builds results."""

    @property
    def severity(self) -> str: ...
    @property
    def urgency(self) -> str: ...
    @property
    def urgency_certain(self) -> bool: ...
    @property
    def advice_ids(self) -> frozenset[str]: ...
    @property
    def settle_with(self) -> tuple[str, ...]: ...
    @property
    def scope_warnings(self) -> tuple["ScopeLimit", ...]: ...


class Authored:
    """Every condition of the knowledge base parsed as written, by owner id; built once per
    knowledge base (Evaluator.authored), only when something is explained."""

    def __init__(self, kb: "KnowledgeBase") -> None:
        self.scope = Scope.from_kb(kb)
        whens = [*((f.id, f.when) for f in kb.facts),
                 *((s.id, s.when) for s in kb.severity.out_of_scope),
                 *((r.id, r.when) for r in kb.urgency_rules)]
        self.nodes: Mapping[str, Node] = {
            **{owner: parse(when) for owner, when in whens},
            **{a.id: parse(a.applies_when) for a in (*kb.tests, *kb.treatments, *kb.precautions)
               if a.applies_when}}
        self.written = {owner: unparse(node) for owner, node in self.nodes.items()}
        self.advice = tuple(a for a in (*kb.tests, *kb.treatments, *kb.precautions)
                            if a.applies_when)
        self.level_ids = frozenset(lv.id for lv in kb.levels)
        self.sources: dict[str, tuple[tuple[str, str | None], ...]] = {
            item.id: tuple((s.source, s.section) for s in item.sources) for item in kb.items()}
        self.display = {kind: display_units(kb, kind) for kind in BASE_UNIT}
        # Formatting a quantity is exact Fraction arithmetic per display unit, the largest
        # cost of an explanation; the same thresholds and common values recur across patients.
        # Bounded: emptied when full rather than kept in LRU order (cheaper, and enough).
        self.quantities: dict[tuple[str, Fraction | int], str] = {}

    def quantity(self, kind: str, value: Fraction | int) -> str:
        key = (kind, value)
        text = self.quantities.get(key)
        if text is None:
            unit = BASE_UNIT.get(kind)
            text = format_number(Fraction(value)) if unit is None else \
                format_quantity(Fraction(value), unit, self.display.get(kind))
            if len(self.quantities) >= QUANTITY_CACHE:
                self.quantities.clear()
            self.quantities[key] = text
        return text


class Explainer:
    def __init__(self, kb: "KnowledgeBase", program: Program, authored: Authored,
                 patient: "Patient", decision: Decision) -> None:
        self.kb = kb
        self.program = program
        self.patient = patient
        self.decision = decision
        self.scope = authored.scope
        self.nodes = authored.nodes
        self.authored = authored
        # Facts are quoted inside every rule that reads them, so the same nodes are judged and
        # worded many times per patient: remember each by node identity (the parsed nodes live
        # as long as ``authored``) and each input's wording by name.
        self._truths: dict[int, Tri] = {}
        self._words: dict[int | str, str] = {}
        self._shown: dict[str, str] = {}
        self._because: dict[str, str] = {}  # by condition as written: 32 advice items say
        # "neutropenia", and a condition written alike is parsed alike, so it reads alike
        self.env: dict[str, Any] = dict(patient.values)
        self.env["severity"] = decision.severity
        self.facts = dict(zip((f.id for f in program.facts), decision.facts))

    # ---- interpretation ----------------------------------------------------------------------

    def value(self, node: Node, other: Node | None = None) -> Any:
        if isinstance(node, Number):
            return literal_value(node, other, self.scope)
        if isinstance(node, Name):
            if node.name in self.scope.thresholds:
                return self.scope.thresholds[node.name][1]
            if node.name in self.facts:
                return self.facts[node.name]
            if node.name in self.scope.bands:
                return node.name
            return self.env.get(node.name)
        return self.truth(node)

    def truth(self, node: Node) -> Tri:
        """Kleene three-valued logic, independent of the generated code."""
        key = id(node)
        if key in self._truths:
            return self._truths[key]
        value = self._truth(node)
        self._truths[key] = value
        return value

    def _truth(self, node: Node) -> Tri:
        if isinstance(node, Bool):
            return node.value
        if isinstance(node, Name):
            value = self.value(node)
            return None if value is None else bool(value)
        if isinstance(node, Call):
            symptoms = self.env.get("symptoms")
            if node.func == "known":
                return node.args[0].name in self.env
            if symptoms is None:
                return None
            if node.func == "any_symptom":
                return bool(symptoms)
            return any(a.name in symptoms for a in node.args)
        if isinstance(node, Not):
            inner = self.truth(node.operand)
            return None if inner is None else not inner
        if isinstance(node, (And, Or)):
            stop = isinstance(node, Or)
            values = [self.truth(i) for i in node.items]
            if stop in values:
                return stop
            return None if None in values else not stop
        if isinstance(node, In):
            left = self.value(node.left)
            return None if left is None else left in {n.name for n in node.names}
        if isinstance(node, Number):
            return None  # not a condition; the checker refuses it
        left, right = self.value(node.left, node.right), self.value(node.right, node.left)
        if left is None or right is None:
            return None
        return bool({"<": left < right, "<=": left <= right, ">": left > right,
                     ">=": left >= right, "==": left == right, "!=": left != right}[node.op])

    # ---- words -------------------------------------------------------------------------------

    def words(self, node: Node) -> str:
        """Why ``node`` has the value it has, naming the inputs that decided it."""
        # A name reads the same wherever it is written (a fact's words, or an input's value):
        # kept by the name, so 'neutropenia' in eight rules is worded once.
        key: int | str = node.name if type(node) is Name else id(node)
        text = self._words.get(key)
        if text is None:
            text = self._words[key] = self._say(node)
        return text

    def _say(self, node: Node) -> str:
        value = self.truth(node)
        if isinstance(node, Bool):
            return "always" if node.value else "never"
        if isinstance(node, Name) and node.name in self.facts:
            fact = self.nodes.get(node.name)
            inner = f" ({self.words(fact)})" if fact is not None else ""
            return f"{node.name} is {_WORD[value]}{inner}"
        if isinstance(node, Name):
            return f"{node.name} is {self.show(node.name)}"
        if isinstance(node, Call):
            symptoms = self.env.get("symptoms")
            if node.func == "known":
                name = node.args[0].name
                return f"{name} was {'given' if name in self.env else 'not given'}"
            if symptoms is None:
                return "symptoms were not given"
            asked = [a.name for a in node.args] if node.func == "symptom" else sorted(symptoms)
            hits = [self.title(s) for s in asked if s in symptoms]
            if hits:
                return f"symptom reported: {', '.join(hits)}"
            return f"no symptom reported of: {', '.join(self.title(s) for s in asked)}" \
                if asked else "no symptom reported"
        if isinstance(node, Not):
            return f"not: {self.words(node.operand)}"
        if isinstance(node, (And, Or)):
            parts = [i for i in node.items if self.truth(i) == value] or list(node.items)
            if isinstance(node, And) and value is not False:
                parts = list(node.items)
            if isinstance(node, Or) and value is not True:
                parts = list(node.items)
            joiner = " and " if isinstance(node, And) else " or "
            return joiner.join(self.words(p) for p in parts)
        if isinstance(node, In):
            sev = self.env.get("severity")
            if sev is None:
                return f"severity is unknown ({self.missing(self.kb.severity.input)})"
            return f"severity is {sev} ({self.kb.severity.input} {self.show(self.kb.severity.input)})"
        if isinstance(node, (Number, Arith)):  # arithmetic is refused in conditions
            return unparse(node)
        return self._compare_words(node)

    def _compare_words(self, node: Compare) -> str:
        sides = []
        for side, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(side, Name) and side.name in self.scope.inputs:
                if side.name not in self.env:
                    return self.missing(side.name)
                sides.append(f"{side.name} {self.show(side.name)}")
            elif isinstance(side, Name) and side.name in self.scope.thresholds:
                kind, base = self.scope.thresholds[side.name]
                sides.append(f"{side.name} {self.quantity(kind, base)}")
            elif isinstance(side, Number):
                kind = self.scope.inputs.get(other.name, "number") if isinstance(other, Name) \
                    else "number"
                sides.append(self.quantity(kind, Fraction(literal_value(side, other, self.scope))))
            else:
                sides.append(unparse(side))
        verb = "is" if self.truth(node) else "is not"
        return f"{sides[0]} {verb} {_OPS[node.op]} {sides[1]}"

    def missing(self, name: str) -> str:
        if name == self.kb.severity.input:
            return f"{name} was not given (nor wbc with neutrophils_percent)"
        return f"{name} was not given"

    def quantity(self, kind: str, value: Fraction | int) -> str:
        return self.authored.quantity(kind, value)

    def show(self, name: str) -> str:
        """An input's value in words, as understood and as given ('800 cells/µL (0.8 ×10⁹/L)')."""
        text = self._shown.get(name)
        if text is None:
            text = self._shown[name] = self._show(name)
        return text

    def _show(self, name: str) -> str:
        value = self.env.get(name)
        if value is None:
            return "not given"
        kind = self.scope.inputs.get(name)
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, frozenset):
            return ", ".join(sorted(value)) or "none"
        if not isinstance(value, (int, Fraction)):
            return str(value)
        text = self.quantity(kind or "number", value) if kind in BASE_UNIT else \
            format_number(Fraction(value))
        given = self.patient.given.get(name)
        if given and given[1] is not None and given[1] is not BASE_UNIT.get(kind or ""):
            as_given = f"{format_number(Fraction(given[0]))} {given[1].symbol}"
            if as_given not in text:  # already shown among the display units: say it once
                text += f", given as {as_given}"
        if name == self.kb.severity.input and self.patient.anc_derived:
            text += f", worked out as {self.derivation()}"
        return text

    def derivation(self) -> str:
        def part(name: str) -> str:
            given = self.patient.given.get(name)
            if given is None:
                return "0%"
            number, unit = given
            if name == "wbc":
                return f"{format_number(Fraction(number))} {unit.symbol if unit else ''}".strip()
            return f"{format_number(Fraction(number))}%"
        return (f"wbc × (neutrophils_percent + bands_percent) / 100 = {part('wbc')} × "
                f"({part('neutrophils_percent')} + {part('bands_percent')}) / 100")

    def title(self, item_id: str) -> str:
        item = self.kb.by_id.get(item_id)
        return item.title.lower() if item is not None and item.kind == "symptom" else item_id

    # ---- findings and trace ------------------------------------------------------------------

    def because(self, owner: str) -> str:
        written = self.authored.written[owner]
        text = self._because.get(written)
        if text is None:
            text = self._because[written] = f"when {written}: {self.words(self.nodes[owner])}"
        return text

    def finding(self, item: "Item", because: str, certain: bool = True) -> Finding:
        sources = self.authored.sources.get(item.id)
        if sources is None:
            sources = tuple((s.source, s.section) for s in item.sources)
        return Finding(item.id, item.kind, item.title, because, sources, certain)

    def findings(self, result: Outcome, kinds: Collection[str] | None = None
                 ) -> tuple[Finding, ...]:
        """Every finding, in this order: scope limits, the band, true facts, the rules not
        false, the level, the advice given. ``kinds``: only the findings of these kinds, the
        others not worked out (a CDS card shows three kinds of the seven); the same findings,
        in the same order, as filtering them all."""
        def wanted(kind: str) -> bool:
            return kinds is None or kind in kinds

        out = []
        kb = self.kb
        anc_name = kb.severity.input
        for limit in result.scope_warnings:
            if wanted(limit.kind):
                certain = self.truth(self.nodes[limit.id]) is True
                out.append(self.finding(limit, self.because(limit.id) + "; the severity bands "
                                        "may not apply", certain))
        band = kb.band(result.severity) if result.severity != "unknown" else None
        if band is not None and wanted(band.kind):
            out.append(self.finding(band, f"{anc_name} {self.show(anc_name)} is in "
                                    f"{_band_words(band, kb)}"))
        for fid, value in self.facts.items():
            if value and wanted(kb.by_id[fid].kind):
                out.append(self.finding(kb.by_id[fid], self.because(fid)))
        for rule, value in zip(kb.urgency_rules, self.decision.rules):
            if value is not False and wanted(rule.kind):
                text = self.because(rule.id)
                if value is None:
                    text += "; not decided, so counted to be safe"
                out.append(self.finding(rule, text, value is True))
        level = kb.level(result.urgency) if result.urgency in self.authored.level_ids else None
        if level is not None and wanted(level.kind):
            why = "a rule of this level holds" if result.urgency_certain else (
                "a rule of this level may hold; to settle it give: " +
                ", ".join(result.settle_with))
            if not any(v is not False for v, r in zip(self.decision.rules, self.program.rules)
                       if r.rank == level.rank):
                why = "no rule for a more urgent level holds"
            out.append(self.finding(level, why, result.urgency_certain))
        for item in self.authored.advice:
            if item.id in result.advice_ids and wanted(item.kind):
                value = self.truth(self.nodes[item.id])
                out.append(self.finding(item, self.because(item.id), value is True))
        return tuple(out)

    def trace(self, result: Outcome) -> tuple[str, ...]:
        lines = [f"input {name} = {self.show(name)}" for name in self.patient.values]
        anc_name = self.kb.severity.input
        if result.severity == "unknown" and result.scope_warnings:
            lines.append(f"severity = unknown: out of scope "
                         f"({', '.join(s.id for s in result.scope_warnings)}), so not placed in "
                         f"a band; the rules read {anc_name} {self.show(anc_name)} as the "
                         "bands do")
        elif result.severity == "unknown":
            lines.append(f"severity = unknown: {self.missing(anc_name)}")
        else:
            band = self.kb.band(result.severity)
            lines.append(f"severity = {band.id}: {anc_name} {self.show(anc_name)} is in "
                         f"{_band_words(band, self.kb)}")
        for fid, value in self.facts.items():
            lines.append(f"fact {fid} = {_WORD[value]}: {self.because(fid)}")
        for limit, value in zip(self.program.limits, self.decision.scope):
            lines.append(f"out_of_scope {limit.id} = {_WORD[value]}: {self.because(limit.id)}")
        for rule, value in zip(self.kb.urgency_rules, self.decision.rules):
            lines.append(f"rule {rule.id} ({rule.level}) = {_WORD[value]}: "
                         f"{self.because(rule.id)}")
        settle = "" if result.urgency_certain else \
            f" (not certain; would be settled by: {', '.join(result.settle_with) or '-'})"
        lines.append(f"urgency = {result.urgency}{settle}")
        return tuple(lines)

    def inputs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in self.patient.values.items():
            kind = self.scope.inputs.get(name)
            if isinstance(value, frozenset):
                out[name] = sorted(value)
            elif isinstance(value, bool):
                out[name] = value
            else:
                unit = BASE_UNIT.get(kind or "")
                number = Fraction(value)
                out[name] = {"value": json_number(number), "unit": unit.name if unit else None,
                             "text": self.show(name)}
        return out


def _band_words(band: Any, kb: "KnowledgeBase") -> str:
    return f"the {band.id} band ({band_range(kb, band)})"


