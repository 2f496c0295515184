"""The JavaScript backend without a browser: its size budget, its safety, and that it words
what is allowed exactly as patient.py does."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from nkb_site_build import REPO

from neutropenia_kb import evaluator_for, load
from neutropenia_kb.engine.js_backend import ReaderWords, allowed, compile_js, program_data, script_json
from neutropenia_kb.engine.patient import PatientParser
from neutropenia_kb.render.checker import checker_assets, danger_signs


@pytest.fixture(scope="module")
def kb() -> Any:
    return load(REPO / "rules")


def test_script_and_runtime_fit_in_40_kb(kb: Any) -> None:
    js = compile_js(evaluator_for(kb).program, ReaderWords.of(kb))
    print(f"runtime {len(js.runtime.encode())} B + script {len(js.script.encode())} B = {js.size} B")
    assert js.size < 40_000


def test_allowed_is_worded_as_the_python_reader_words_it(kb: Any) -> None:
    specs = PatientParser(kb).specs
    checked = 0
    for inp in evaluator_for(kb).program.inputs:
        if inp.type in ("quantity", "percent", "number"):
            assert allowed(inp) == specs[inp.id].allowed()
            checked += 1
    assert checked >= 5


def test_no_code_is_made_from_data() -> None:
    runtime = compile_js.__globals__["runtime_source"]()
    assert not re.search(r"\beval\s*\(|new\s+Function|Function\s*\(|setTimeout\s*\(\s*[\"']", runtime)
    assert not re.search(r"\b(fetch|XMLHttpRequest|sendBeacon|WebSocket|importScripts)\b", runtime)


def test_authored_text_cannot_close_the_script() -> None:
    text = script_json({"title": "</script><script>alert(1)</script><!-- \u2028"})
    assert "</" not in text and "<!--" not in text and "\u2028" not in text
    assert json.loads(text)["title"] == "</script><script>alert(1)</script><!-- \u2028"


def test_the_script_holds_ids_and_numbers_only(kb: Any) -> None:
    data = program_data(evaluator_for(kb).program, ReaderWords.of(kb))
    # The only authored words: the bands' titles, which an ambiguous count's error quotes.
    bands = {b.title.lower() for b in kb.severity.bands}
    titles = {item.title.lower() for item in kb.items()} - bands
    text = json.dumps(data, ensure_ascii=False).lower()
    assert not [t for t in titles if " " in t and len(t) > 12 and t in text]  # ids have no space
    assert all(b in text for b in bands)
    assert data["kb"] == {"id": kb.meta.id, "version": kb.meta.version,
                          "fingerprint": evaluator_for(kb).program.fingerprint}


def test_page_assets_and_danger_signs(kb: Any) -> None:
    assets = checker_assets(kb, {})
    assert set(assets) == {f"assets/checker/{n}" for n in
                           ("runtime.js", "rules.js", "text.js", "checker.js", "checker.css")}
    assert "</" not in assets["assets/checker/text.js"]
    signs = danger_signs(kb)
    assert "fever" in signs and signs == [s.id for s in kb.symptoms if s.id in signs]
