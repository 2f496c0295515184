"""The "Check your result" page: its questions (from inputs.yaml and symptoms.yaml, danger signs
first) and the files it runs on, which the MkDocs plugin adds to the site: the rules' runtime and
generated script (engine/js_backend.py), the page's authored text as JSON data, and its own
script and style. Decisions are made only by the rules' script; this module only words them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping

from neutropenia_kb.core.units import find_unit
from neutropenia_kb.engine.evaluate import evaluator_for
from neutropenia_kb.engine.js_backend import ReaderWords, compile_js, script_json
from neutropenia_kb.engine.program import AnySymptom, Cond, FactRef, SymptomAny, walk
from neutropenia_kb.kb.model import Input, KnowledgeBase, Level
from neutropenia_kb.kb.text import display_units, expand

ASSET_DIR = "assets/checker"
# Inputs asked together on one step, in this order; an input not named here gets a step of its
# own after them, so a new input in inputs.yaml is asked without a code change.
_GROUPS: tuple[tuple[str, ...], ...] = (
    ("temperature",), ("on_chemotherapy",),
    ("anc", "wbc", "neutrophils_percent", "bands_percent"), ("age_years",))


@dataclass(frozen=True)
class Question:
    input: Input
    units: tuple[tuple[str, str], ...]  # (unit name as the rules read it, symbol shown)


@dataclass(frozen=True)
class Step:
    id: str
    title: str  # the step's heading: the first question
    questions: tuple[Question, ...]


def danger_signs(kb: KnowledgeBase) -> list[str]:
    """Symptom ids that the most urgent level's rules read (through their facts too), in
    symptoms.yaml order."""
    program = evaluator_for(kb).program
    facts = {f.id: f.when for f in program.facts}
    wanted: set[str] = set()
    todo: list[Cond] = [rule.when for rule in program.rules if rule.rank == 0]
    seen: set[str] = set()
    while todo:
        for node in walk(todo.pop()):
            if isinstance(node, SymptomAny):
                wanted.update(node.symptoms)
            elif isinstance(node, AnySymptom):
                wanted.update(program.symptoms)
            elif isinstance(node, FactRef) and node.fact not in seen:
                seen.add(node.fact)
                todo.append(facts[node.fact])
    return [s.id for s in kb.symptoms if s.id in wanted]


def steps(kb: KnowledgeBase) -> list[Step]:
    inputs = {i.id: i for i in kb.inputs if i.type != "symptoms"}
    groups = [g for g in _GROUPS if any(name in inputs for name in g)]
    named = {name for g in groups for name in g}
    groups += [(name,) for name in inputs if name not in named]
    out = []
    for group in groups:
        questions = tuple(_question(kb, inputs[name]) for name in group if name in inputs)
        out.append(Step(group[0], questions[0].input.question, questions))
    return out


def _question(kb: KnowledgeBase, inp: Input) -> Question:
    units: tuple[tuple[str, str], ...] = ()
    if inp.type == "quantity" and inp.dimension:
        shown = [u for u in (find_unit(n) for n in inp.display_units) if u] or \
            display_units(kb, inp.dimension) or [u for u in [find_unit(inp.unit or "")] if u]
        units = tuple((u.name, u.symbol) for u in shown)
    return Question(inp, units)


def checker_context(kb: KnowledgeBase) -> dict[str, Any]:
    """What checker.md.j2 reads besides the usual page context."""
    danger = danger_signs(kb)
    emergency = kb.levels[0] if kb.levels else None
    return {
        "asset_dir": ASSET_DIR,
        "danger": [s for s in kb.symptoms if s.id in danger],
        "other_symptoms": [s for s in kb.symptoms if s.id not in danger],
        "symptoms_input": next(i for i in kb.inputs if i.type == "symptoms"),
        "steps": steps(kb),
        "emergency_level": emergency,
        "emergency_service": _service(kb, emergency) if emergency else None,
    }


def _service(kb: KnowledgeBase, level: Level) -> dict[str, Any] | None:
    """The level's service as JSON data; None for a level with no one to call now."""
    service = kb.level_service(level.id)
    if service is None:
        return None
    out = {"id": service.id, "name": service.name, "when": service.when}
    if service.phone:
        out["phone"] = service.phone
    if service.say:
        out["say"] = service.say
    return out


def _sources(kb: KnowledgeBase, refs: Any) -> list[str]:
    out = []
    for ref in refs:
        source = kb.source_by_id.get(ref.source)
        if source is not None:
            section = source.section(ref.section)
            out.append(source.title + (f", “{section.title}”" if section else ""))
    return out


def page_text(kb: KnowledgeBase, pages: Mapping[str, str]) -> dict[str, Any]:
    """Every authored word the outcome may show, as JSON data (never markup)."""
    def href(item_id: str) -> str:
        page = pages.get(item_id)
        return f"{page[:-3]}.html#{item_id}" if page else ""

    def words(text: str) -> str:
        return " ".join(expand(kb, text).replace("*", "").split())

    return {
        "levels": {lv.id: {"title": words(lv.title), "text": words(lv.text),
                           "action": words(lv.action),
                           "service": _service(kb, lv), "href": href(lv.id)} for lv in kb.levels},
        "rules": {r.id: {"title": words(r.title), "text": words(r.text), "level": r.level,
                         "sources": _sources(kb, r.sources), "href": href(r.id)}
                  for r in kb.urgency_rules},
        "limits": {s.id: {"title": words(s.title), "text": words(s.text), "href": href(s.id)}
                   for s in kb.severity.out_of_scope},
        "bands": {b.id: words(b.title) for b in kb.severity.bands},
        "advice": [{"id": a.id, "kind": a.kind, "title": words(a.title), "href": href(a.id),
                    "always": not a.applies_when}
                   for a in (*kb.tests, *kb.treatments, *kb.precautions)],
        "inputs": {i.id: words(i.question) for i in kb.inputs},
        "symptoms": {s.id: words(s.title) for s in kb.symptoms},
    }


def checker_assets(kb: KnowledgeBase, pages: Mapping[str, str]) -> dict[str, str]:
    """File name under the site → contents: the rules (runtime + generated script), the page's
    text, and the page's own script and style."""
    js = compile_js(evaluator_for(kb).program, ReaderWords.of(kb))
    here = resources.files("neutropenia_kb").joinpath("templates/site")
    return {
        f"{ASSET_DIR}/runtime.js": js.runtime,
        f"{ASSET_DIR}/rules.js": js.script,
        f"{ASSET_DIR}/text.js": "window.neutropeniaKbText = "
                                f"{script_json(page_text(kb, pages))};\n",
        f"{ASSET_DIR}/checker.js": here.joinpath("checker.js").read_text("utf-8"),
        f"{ASSET_DIR}/checker.css": here.joinpath("checker.css").read_text("utf-8"),
    }
