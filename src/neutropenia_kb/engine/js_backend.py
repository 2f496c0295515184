"""The JavaScript backend: the compiled form (program.py) → a small script for the browser.

The script is data, not code: the program as JSON (conditions as small arrays, numbers as exact
``"p/q"`` strings) handed to a hand-written runtime (``engine/js/runtime.js``) that interprets it
with BigInt rationals and Kleene logic, and reads patient input by the rules of patient.py. No
identifier or authored text becomes code, so nothing needs eval; the JSON is safe inside a
``<script>`` element. ``window.neutropeniaKb.evaluate(patient)`` returns the decision JSON of
``nkb evaluate --format json`` without the explanations (``inputs``, ``findings``): their wording
is long, and the checker page shows the authored text beside the ids instead. The few authored
words that the Python reader puts into its error messages (the severity bands' titles, a derived
input's formula) travel with the program (``ReaderWords``), so every error reads the same.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import TYPE_CHECKING, Any, Mapping

from neutropenia_kb.core.units import ACCEPTED, UNIT_FOLDS, UNITS, find_unit, format_number
from neutropenia_kb.engine.compile import CompileError
from neutropenia_kb.engine.evaluate import FEVER_FACT
from neutropenia_kb.engine.patient import PASSTHROUGH
from neutropenia_kb.engine.program import (
    ARITH_OPS,
    COMPARE_OPS,
    And,
    AnySymptom,
    Arith,
    Compare,
    Const,
    FactRef,
    InputDef,
    InputRef,
    InSet,
    Known,
    Node,
    Not,
    Or,
    Program,
    SeverityRef,
    SymptomAny,
    unit_def,
)
from neutropenia_kb.engine.questions import _Input

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase

_NOUN = {"cell_count": "count", "temperature": "temperature", "percent": "percent",
         "number": "number"}


@dataclass(frozen=True)
class JsProgram:
    """The browser's copy of the rules: ``runtime`` (hand-written) then ``script`` (generated)."""

    runtime: str
    script: str

    @property
    def size(self) -> int:
        """Bytes before compression, both files."""
        return len(self.runtime.encode("utf-8")) + len(self.script.encode("utf-8"))


@dataclass(frozen=True)
class ReaderWords:
    """Authored words patient.py quotes in its messages, which the compiled form does not keep."""

    bands: Mapping[str, str]  # band id → its title in lower case (an ambiguous count's readings)
    formulas: Mapping[str, str]  # derived input → its formula as written, on one line

    @classmethod
    def of(cls, kb: "KnowledgeBase") -> "ReaderWords":
        return cls({b.id: b.title.lower() for b in kb.severity.bands},
                   {d.id: " ".join(d.formula.split()) for d in kb.derived})


def runtime_source() -> str:
    return resources.files("neutropenia_kb.engine").joinpath("js/runtime.js").read_text("utf-8")


# A comment that opens a line runs to its close; a line comment follows two spaces. The runtime
# is written so that no string or regular expression holds either form (a browser test runs
# the lean form: the site ships it).
_BLOCK_COMMENT = re.compile(r"^[ \t]*/\*.*?\*/[ \t]*\n", re.S | re.M)
_LINE_COMMENT = re.compile(r"(^[ \t]*|[ \t]{2,})//.*$", re.M)


def lean(source: str) -> str:
    """The runtime without its comments and indentation: what the browser needs, within the
    size budget (issue 15: under 40 KB with the script, before compression)."""
    source = _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", source))
    return "".join(line.strip() + "\n" for line in source.splitlines() if line.strip())


def script_json(value: Any) -> str:
    """JSON that is also safe as the text of a <script> element: no U+2028/U+2029 line ends
    (escaped), and no '</' (so no '</script>') nor '<!--' anywhere. Other characters stay
    UTF-8 (the site's pages and scripts are UTF-8): half the bytes of \\u escapes."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
            .replace("</", "<\\/").replace("<!--", "<\\u0021--"))


def _q(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}" if value.denominator != 1 else str(value.numerator)


def _dimension(inp: InputDef) -> str:
    if inp.units:
        return inp.units[0].dimension
    return "percent" if inp.type == "percent" else "number"


def allowed(inp: InputDef) -> str:
    """What patient.py says is allowed for ``inp``, worked out from the form (a test holds the
    two to the same words)."""
    dimension = _dimension(inp)
    unit = inp.default_unit if inp.type == "quantity" else None  # a percent is written bare
    rng = ""
    if inp.min is not None and inp.max is not None:
        low, high = inp.min, inp.max
        if unit is not None:
            low, high = unit.from_base(low), unit.from_base(high)
        sym = (" " + unit.symbol) if unit else ("%" if dimension == "percent" else "")
        rng = f" from {format_number(low)} to {format_number(high)}{sym}"
    if unit is not None:
        names = {u.name for u in inp.units}
        spellings = [s for s in ACCEPTED.get(dimension, [])
                     if (found := find_unit(s)) is not None and found.name in names]
        rng += f" (a bare number is in {unit.symbol}; units: {', '.join(spellings)})"
    return f"a {_NOUN.get(dimension, 'value')}{rng}"


def _node(node: Node) -> list[Any]:
    if isinstance(node, Const):
        if isinstance(node.value, bool):
            return ["b", node.value]
        if isinstance(node.value, Fraction):
            return ["n", _q(node.value)]
        return ["k", node.value]
    if isinstance(node, InputRef):
        return ["i", node.input]
    if isinstance(node, FactRef):
        return ["f", node.fact]
    if isinstance(node, SeverityRef):
        return ["sev"]
    if isinstance(node, Arith):
        if node.op not in ARITH_OPS:
            raise CompileError(f"unknown arithmetic '{node.op}'")
        return ["a", node.op, _node(node.left), _node(node.right)]
    if isinstance(node, Compare):
        if node.op not in COMPARE_OPS:
            raise CompileError(f"unknown comparison '{node.op}'")
        return ["cmp", node.op, _node(node.left), _node(node.right)]
    if isinstance(node, And):
        return ["and", [_node(i) for i in node.items]]
    if isinstance(node, Or):
        return ["or", [_node(i) for i in node.items]]
    if isinstance(node, Not):
        return ["not", _node(node.operand)]
    if isinstance(node, InSet):
        return ["in", _node(node.value), list(node.members)]
    if isinstance(node, SymptomAny):
        return ["sym", list(node.symptoms)]
    if isinstance(node, AnySymptom):
        return ["any"]
    if isinstance(node, Known):
        return ["known", node.input]
    raise CompileError(f"{type(node).__name__} has no JavaScript form")


def _read(program: Program) -> tuple[list[str], str]:
    """The inputs some condition reads (a patient must give one), and how the error names them
    (as engine/evaluate.py words them: 'anc (or wbc with neutrophils_percent), temperature')."""
    read = {name for _o, _k, cond in program.conditions() for name in cond.deps}
    read.add(program.severity.input)
    filled = {d.input: d.when_given for d in program.derived}
    names = [i.id for i in program.inputs if i.id in read]
    return names, ", ".join(n + (f" (or {' with '.join(filled[n])})" if n in filled else "")
                            for n in names)


def _regions(program: Program) -> dict[str, dict[str, Any]]:
    """One value per region of each input the rules read (engine/questions.py), for the
    runtime's exact 'which missing inputs can change the level'."""
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(set().union(*(r.deps for r in program.rules))):
        spec = _Input(program, name)
        values: list[Any] = [r.value for r in spec.regions]
        if spec.kind == "symptoms":
            values = [min(c) for c in spec.classes]
        elif spec.kind != "bool":
            values = [_q(Fraction(v)) for v in values]
        out[name] = {"k": {"bool": "bool", "symptoms": "symptoms"}.get(spec.kind, "number"),
                     "o": spec.opaque, "v": values}
    return out


def program_data(program: Program, words: ReaderWords) -> dict[str, Any]:
    """The program as the runtime reads it (JSON values only)."""
    units = {id(u): u for u in UNITS.values()}.values()
    inputs = []
    for inp in program.inputs:
        declared = inp.default_unit if inp.type == "quantity" else None
        names = {u.name for u in inp.units}
        inputs.append({
            "id": inp.id, "type": inp.type, "dim": _dimension(inp),
            "unit": declared.name if declared else None,
            "min": None if inp.min is None else _q(inp.min),
            "max": None if inp.max is None else _q(inp.max),
            "allowed": allowed(inp),
            # The accepted units, in the order patient.py tries them for the readings of an
            # ambiguous bare number (one in (0, below) plausible in another unit too).
            "below": None if declared is None or inp.ambiguous_below is None
            else _q(Fraction(inp.ambiguous_below)),
            "readings": [u.name for u in units if u.name in names]})
    facts = [f.id for f in program.facts]
    read, read_words = _read(program)
    return {
        "kb": {"id": program.kb_id, "version": program.version,
               "fingerprint": program.fingerprint},
        "units": [[d.name, d.dimension, _q(d.scale), _q(d.offset), d.symbol]
                  for d in (unit_def(u) for u in units)],
        "spellings": {spelling: unit.name for spelling, unit in UNITS.items()},
        "folds": [list(pair) for pair in UNIT_FOLDS],
        "inputs": inputs,
        "passthrough": sorted(PASSTHROUGH),
        "derived": [{"input": d.input, "expr": _node(d.expr), "when_given": list(d.when_given),
                     "add_up_to_100": list(d.add_up_to_100), "formula": words.formulas[d.input],
                     "inputs": sorted(d.expr.deps)} for d in program.derived],
        "read": read,
        "read_words": read_words,
        "regions": _regions(program),
        "symptoms": list(program.symptoms),
        "severity": {"input": program.severity.input, "bands": [
            [b.id, None if b.lower is None else _q(b.lower),
             None if b.below is None else _q(b.below), words.bands[b.id]]
            for b in program.severity.bands]},
        "facts": [[f.id, _node(f.when)] for f in program.facts],
        "limits": [[lim.id, _node(lim.when)] for lim in program.limits],
        "levels": [lv.id for lv in program.levels],
        "rules": [[r.id, r.rank, _node(r.when), sorted(r.deps)] for r in program.rules],
        "advice": [[a.id, None if a.when is None else _node(a.when)] for a in program.advice],
        "fever": FEVER_FACT if FEVER_FACT in facts else None,
    }


def compile_js(program: Program, words: ReaderWords) -> JsProgram:
    """The runtime and the generated script for ``program``."""
    data = script_json(program_data(program, words))
    script = ("/* Generated by neutropenia_kb.engine.js_backend from the compiled rules of "
              f"{program.kb_id} {program.version}; do not edit. */\n"
              f"window.neutropeniaKb = neutropeniaKbRuntime.load({data});\n")
    return JsProgram(lean(runtime_source()), script)
