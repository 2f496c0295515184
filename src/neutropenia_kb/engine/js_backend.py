"""The JavaScript backend: the compiled form (program.py) → a small script for the browser.

The script is data, not code: the program as JSON (conditions as small arrays, numbers as exact
``"p/q"`` strings) handed to a hand-written runtime (``engine/js/runtime.js``) that interprets it
with BigInt rationals and Kleene logic, and reads patient input by the rules of patient.py. No
identifier or authored text becomes code, so nothing needs eval; the JSON is safe inside a
``<script>`` element. ``window.neutropeniaKb.evaluate(patient)`` returns the decision JSON of
``nkb evaluate --format json`` without the explanations (``inputs``, ``findings``): their wording
is long, and the checker page shows the authored text beside the ids instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import Any

from neutropenia_kb.core.units import ACCEPTED, UNITS, find_unit, format_number
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


def runtime_source() -> str:
    return resources.files("neutropenia_kb.engine").joinpath("js/runtime.js").read_text("utf-8")


def script_json(value: Any) -> str:
    """JSON that is also safe as the text of a <script> element: ASCII only (no U+2028 line
    ends), and no '</' (so no '</script>') nor '<!--' anywhere."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


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


def program_data(program: Program) -> dict[str, Any]:
    """The program as the runtime reads it (JSON values only)."""
    units = {id(u): u for u in UNITS.values()}.values()
    inputs = []
    for inp in program.inputs:
        declared = inp.default_unit if inp.type == "quantity" else None
        inputs.append({
            "id": inp.id, "type": inp.type, "dim": _dimension(inp),
            "unit": declared.name if declared else None,
            "accepted": [u.name for u in inp.units],
            "min": None if inp.min is None else _q(inp.min),
            "max": None if inp.max is None else _q(inp.max),
            "allowed": allowed(inp)})
    facts = [f.id for f in program.facts]
    return {
        "kb": {"id": program.kb_id, "version": program.version,
               "fingerprint": program.fingerprint},
        "units": [[d.name, d.dimension, _q(d.scale), _q(d.offset)]
                  for d in (unit_def(u) for u in units)],
        "spellings": {spelling: unit.name for spelling, unit in UNITS.items()},
        "inputs": inputs,
        "passthrough": sorted(PASSTHROUGH),
        "derived": [{"input": d.input, "expr": _node(d.expr), "when_given": list(d.when_given),
                     "add_up_to_100": list(d.add_up_to_100)} for d in program.derived],
        "symptoms": list(program.symptoms),
        "severity": {"input": program.severity.input, "bands": [
            [b.id, None if b.lower is None else _q(b.lower),
             None if b.below is None else _q(b.below)] for b in program.severity.bands]},
        "facts": [[f.id, _node(f.when)] for f in program.facts],
        "limits": [[lim.id, _node(lim.when)] for lim in program.limits],
        "levels": [lv.id for lv in program.levels],
        "rules": [[r.id, r.rank, _node(r.when), sorted(r.deps)] for r in program.rules],
        "advice": [[a.id, None if a.when is None else _node(a.when)] for a in program.advice],
        "fever": FEVER_FACT if FEVER_FACT in facts else None,
    }


def compile_js(program: Program) -> JsProgram:
    """The runtime and the generated script for ``program``."""
    script = ("/* Generated by neutropenia_kb.engine.js_backend from the compiled rules of "
              f"{program.kb_id} {program.version}; do not edit. */\n"
              f"window.neutropeniaKb = neutropeniaKbRuntime.load({script_json(program_data(program))});\n")
    return JsProgram(runtime_source(), script)
