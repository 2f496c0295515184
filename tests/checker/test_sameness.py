"""The browser decides as Python does: every rule case, a boundary grid in every unit, and
12,000 seeded random patients (missing inputs, every unit spelling, bad values: ambiguous bare
counts, decimal commas, 'none', empty patients, implausible ANCs), evaluated through
window.neutropeniaKb.evaluate in the built site opened from disk in headless Chromium. Any
difference in a decision (settle_with included), an error's field or its message fails."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from checker_browser import needs_chromium
from checker_patients import boundaries, random_patients, rule_cases
from nkb_site_build import REPO

from neutropenia_kb import evaluate, evaluator_for, load
from neutropenia_kb.core.json_text import dumps
from neutropenia_kb.core.problems import InputError
from neutropenia_kb.engine.patient import read_json

pytestmark = needs_chromium

# Each patient twice: as JSON text (read exactly, as the CLI reads a file) and as the object
# JSON.parse makes of it (numbers as doubles, as a page or a caller hands them over).
_BATCH = """texts => texts.map(text => {
  const one = p => { try { return {ok: JSON.stringify(window.neutropeniaKb.evaluate(p))}; }
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
        return {"ok": _exact(dumps(without_words(evaluate(kb, raw).to_json(findings=False))))}
    except InputError as exc:
        return {"error": "InputError", "field": exc.field, "message": str(exc)}


def without_words(result: dict[str, Any]) -> dict[str, Any]:
    """The CLI's JSON less what the browser leaves to the page's authored text: the level's
    text, the inputs in words, and each question's wording."""
    out = {k: v for k, v in result.items() if k not in ("level", "inputs")}
    out["questions"] = [{"input": q["input"], "level": q["level"]} for q in out["questions"]]
    return out


def _exact(text: str) -> Any:
    """Decision JSON with its numbers as exact decimals. The browser gives a number as a JS
    number when that is exact, else as its decimal text (37.99999999999999999): either way the
    value must be Python's to the last digit."""
    out = json.loads(text, parse_float=Decimal)
    if isinstance(out.get("anc_cells_per_ul"), str):
        out["anc_cells_per_ul"] = Decimal(out["anc_cells_per_ul"])
    return out


def _browser(got: dict[str, Any]) -> dict[str, Any]:
    return {"ok": _exact(got["ok"])} if "ok" in got else got


def _canonical(text: str) -> str:
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


def _compare(kb: Any, page: Any, named: list[tuple[str, str]]) -> list[str]:
    diffs = []
    for start in range(0, len(named), 3000):
        chunk = named[start:start + 3000]
        got = page.evaluate(_BATCH, [text for _, text in chunk])
        for (name, text), (as_text, as_object) in zip(chunk, got):
            want = python(kb, text)
            as_text = _browser(as_text)
            if as_object is not None:
                as_object = [as_object[0], _browser(as_object[1])]
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
    # The sample must hold what it claims: bad input of each kind 1.2.0 reads, missing inputs,
    # every level.
    errors = [r["message"] for r in results if "error" in r]
    assert len(errors) >= 50
    for kind in ("is ambiguous", "comma cannot be read", "at least one answer the rules read",
                 "can be true with the other results given", "a date written YYYY-MM-DD"):
        assert any(kind in m for m in errors), kind
    assert any(json.loads(t).get("symptoms", "").strip().lower() == "none" for t in texts[:2000]
               if isinstance(json.loads(t).get("symptoms"), str))
    assert {r["ok"]["urgency"] for r in results if "ok" in r} == {"emergency", "contact_provider", "routine"}
    assert sum(not r["ok"]["urgency_certain"] for r in results if "ok" in r) >= 200
    diffs = _compare(kb, checker_page, [(f"random {i}", t) for i, t in enumerate(texts)])
    assert diffs[:20] == []
    assert checker_page.attempted == []
