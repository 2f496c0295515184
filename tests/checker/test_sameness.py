"""The browser decides as Python does: every rule case, a boundary grid in every unit, and
12,000 seeded random patients (missing inputs, every unit spelling, bad values), evaluated
through window.neutropeniaKb.evaluate in the built site opened from disk in headless Chromium.
Any difference in a decision, an error's field or its message fails."""

from __future__ import annotations

import json
from typing import Any

import pytest
from checker_browser import needs_chromium
from checker_patients import boundaries, random_patients, rule_cases
from nkb_site_build import REPO

from neutropenia_kb import evaluate, evaluator_for, load
from neutropenia_kb.core.problems import InputError
from neutropenia_kb.engine.patient import read_json

pytestmark = needs_chromium

# Each patient twice: as JSON text (read exactly, as the CLI reads a file) and as the object
# JSON.parse makes of it (numbers as doubles, as a page or a caller hands them over).
_BATCH = """texts => texts.map(text => {
  const one = p => { try { return {ok: JSON.parse(JSON.stringify(window.neutropeniaKb.evaluate(p)))}; }
    catch (e) { return {error: e.name, field: e.field === undefined ? null : e.field, message: e.message}; } };
  let parsed;
  try { parsed = JSON.parse(text); } catch (e) { parsed = undefined; }
  return [one(text), parsed === undefined ? null : [JSON.stringify(parsed), one(parsed)]];
})"""


@pytest.fixture(scope="module")
def kb() -> Any:
    return load(REPO / "rules")


def python(kb: Any, text: str) -> dict[str, Any]:
    try:
        raw = read_json(text)
    except json.JSONDecodeError:
        return {"error": "UsageError"}
    try:
        return {"ok": json.loads(json.dumps(evaluate(kb, raw).decision_json()))}
    except InputError as exc:
        return {"error": "InputError", "field": exc.field, "message": str(exc)}


def _canonical(text: str) -> str:
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


def _compare(kb: Any, page: Any, named: list[tuple[str, str]]) -> list[str]:
    diffs = []
    for start in range(0, len(named), 3000):
        chunk = named[start:start + 3000]
        got = page.evaluate(_BATCH, [text for _, text in chunk])
        for (name, text), (as_text, as_object) in zip(chunk, got):
            want = python(kb, text)
            if want.get("error") == "UsageError":  # not JSON Python reads: the page says so too
                if as_text.get("error") != "UsageError":
                    diffs.append(f"{name}: {text}\n  python: unreadable JSON\n  browser: {as_text}")
                continue
            if as_text != want:
                diffs.append(f"{name}: {text}\n  python:  {want}\n  browser: {as_text}")
            # A double cannot carry every decimal (37.99999999999999999, 1.0 against 1): the
            # object must give the same answer whenever JSON.parse kept the text's numbers.
            if as_object is not None and as_object[0] == _canonical(text) and as_object[1] != want:
                diffs.append(f"{name} (as an object): {text}\n  python:  {want}\n  browser: {as_object[1]}")
    return diffs


def test_every_rule_case_decides_alike(kb: Any, checker_page: Any) -> None:
    assert checker_page.evaluate("window.neutropeniaKb.version") == {
        "id": kb.meta.id, "version": kb.meta.version,
        "fingerprint": evaluator_for(kb).program.fingerprint}
    cases = rule_cases()
    assert len(cases) >= 100
    assert _compare(kb, checker_page, cases) == []


def test_boundary_grid_in_every_unit_decides_alike(kb: Any, checker_page: Any) -> None:
    grid = boundaries(evaluator_for(kb).program)
    units = {u for t in grid for u in ("F", "°F", "10^9/L", "G/L", "cells/uL", "°C") if u in t}
    assert units == {"F", "°F", "10^9/L", "G/L", "cells/uL", "°C"} and len(grid) >= 300
    assert _compare(kb, checker_page, [(f"grid {i}", t) for i, t in enumerate(grid)]) == []


def test_twelve_thousand_random_patients_decide_alike(kb: Any, checker_page: Any) -> None:
    texts = random_patients(evaluator_for(kb).program, 12_000, seed=15)
    results = [python(kb, t) for t in texts[:2000]]
    # The sample must hold what it claims: bad input, missing inputs, every level.
    assert sum("error" in r for r in results) >= 50
    assert {r["ok"]["urgency"] for r in results if "ok" in r} == {"emergency", "contact_provider", "routine"}
    assert sum(not r["ok"]["urgency_certain"] for r in results if "ok" in r) >= 200
    diffs = _compare(kb, checker_page, [(f"random {i}", t) for i, t in enumerate(texts)])
    assert diffs[:20] == []
    assert checker_page.attempted == []
