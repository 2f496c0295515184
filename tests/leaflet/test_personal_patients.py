"""Personal leaflets for six patients, rendered and read back: page count, what page 1 says,
no near-empty page, tagged structure; and the same patients' nurse summaries."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from leaflet_pdf import ARTEFACTS, words
from pdf_tags import heading_ends, page_contents, structure_types
from PIL import Image
from pypdf import PdfReader

from neutropenia_kb import evaluate
from neutropenia_kb.cli import main
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.kb.schema import schema_dir
from neutropenia_kb.kb.text import service_line
from neutropenia_kb.render import leaflet as L
from neutropenia_kb.render import leaflet_table as T
from neutropenia_kb.render.summary import summary_text

DAY = dt.date(2026, 12, 1)
ADULT = {"symptoms": [], "age_years": 50}
PATIENTS: dict[str, dict[str, Any]] = {
    "severe-with-fever": {"anc": 300, "temperature": "38.4 C", "on_chemotherapy": True, **ADULT,
                          "name": "Ann Lee", "test_date": "2026-11-30"},
    "severe-without-fever": {"anc": 300, "temperature": "36.8 C", "on_chemotherapy": True,
                             **ADULT},
    "lab-result-only": {"anc": "0.4 x10^9/L"},
    "normal": {"anc": 3000, "temperature": "36.8 C", "on_chemotherapy": False, **ADULT},
    "wbc-with-percentages": {"wbc": "3.1 x10^9/L", "neutrophils_percent": 40,
                             "temperature": "37 C", "on_chemotherapy": False, **ADULT},
    "baby": {"anc": 800, "age_years": 0.5, "temperature": "37.2 C", "symptoms": ["cough"]},
}


@pytest.fixture(scope="module")
def leaflets(kb: KnowledgeBase) -> dict[str, Path]:
    """The six leaflets, kept in test-artifacts/leaflets/personal/ for a person to look at."""
    out = ARTEFACTS / "personal"
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, patient in PATIENTS.items():
        paths[name] = out / f"{name}.pdf"
        paths[name].write_bytes(L.render_personal(kb, evaluate(kb, patient), today=DAY))
    return paths


def pages(path: Path) -> list[str]:
    return [words(p.extract_text() or "") for p in PdfReader(path).pages]


def test_page_one_repeats_the_input_and_says_what_to_do(kb: KnowledgeBase,
                                                        leaflets: dict[str, Path]) -> None:
    first = {name: pages(path)[0] for name, path in leaflets.items()}
    fever = first["severe-with-fever"]
    for said in ("Ann Lee", "30 November 2026", "300 cells/µL (0.3 ×10⁹/L)", "38.4 °C (101.1 °F)",
                 "Having chemotherapy yes", "Symptoms none", kb.band("severe").title,
                 f"What to do now: {kb.level('emergency').action}"):
        assert said in fever, said
    assert "101.12" not in fever  # no false precision
    assert fever.index("Your result") < fever.index("What to do now")
    # severe without fever: the safety net, from the data, on page 1
    calm = first["severe-without-fever"]
    assert f"What to do now: {kb.level('routine').action}" in calm
    assert "If your temperature is 38.0 °C (100.4 °F) or higher: " \
           f"{kb.level('emergency').action}" in calm
    assert calm.index("What to do now") < calm.index("If things change")
    # whom to call if things change, with the number (or a blank for it), on page 1 too
    emergency = kb.level_service("emergency")
    assert emergency is not None
    assert calm.index("If things change") < calm.index(service_line(emergency))
    only = first["lab-result-only"]
    assert "400 cells/µL" in only and "Some answers were missing" in only
    assert "What is your temperature?" in only
    assert "1,240 cells/µL" in first["wbc-with-percentages"]
    assert "Neutrophils 40%" in first["wbc-with-percentages"]
    baby = first["baby"]
    assert kb.severity.out_of_scope[0].title in baby and "Cough" in baby
    assert f"What to do now: {kb.level('contact_provider').action}" in baby
    # the scope note follows what to do now, never between the result and the action
    assert baby.index("What to do now") < baby.index(kb.severity.out_of_scope[0].title)


def test_pages_and_what_is_left_out(kb: KnowledgeBase, leaflets: dict[str, Path]) -> None:
    count = {name: len(PdfReader(path).pages) for name, path in leaflets.items()}
    # at most 3 A4 pages for a typical adult; the adult not on chemotherapy, who also gets the
    # tests and treatments for other causes, and the baby are held to it too
    assert all(n <= 3 for n in count.values()), count
    assert count["normal"] < count["severe-without-fever"]
    for name, path in leaflets.items():
        text = " ".join(pages(path))
        # the general part is referred to, not repeated
        assert "About neutropenia" not in text and "Where this information comes from" not in text
        assert f"see the leaflet “{T.leaflet_by_slug(T.GENERAL_SLUG).title}”" in text
        assert "Phone numbers" in text and "Notes and questions" in text
        assert "DRAFT: not yet checked by a clinical reviewer" in text
    normal = " ".join(pages(leaflets["normal"]))
    assert "Bone marrow biopsy" not in normal and "For you: Treatment" not in normal
    on_chemo = " ".join(pages(leaflets["severe-without-fever"]))
    for title in ("Bone marrow biopsy", "Steroids", "Medicines that calm the immune system"):
        assert title not in on_chemo, title
    assert "Bone marrow biopsy" in " ".join(pages(leaflets["wbc-with-percentages"]))


def test_tagged(leaflets: dict[str, Path]) -> None:
    for path in leaflets.values():
        assert {"/H1", "/H2", "/Table", "/TH", "/L"} <= structure_types(path)
        assert "/H1" in page_contents(path)[0][0]
        assert not heading_ends(path), path.name  # no heading left at the foot of a page


def fullness(png: Path) -> float:
    """How far down the body area the ink reaches (0 empty, 1 full): the running header and
    footer (the top and bottom 6 % of the sheet) are left out."""
    image = Image.open(png).convert("L")
    width, height = image.size
    top, bottom = int(height * 0.06), int(height * 0.94)
    pixels = image.load()
    assert pixels is not None
    inked = [y for y in range(top, bottom) if any(pixels[x, y] < 200 for x in range(0, width, 2))]
    return (inked[-1] - top) / (bottom - top) if inked else 0.0


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_no_near_empty_page(leaflets: dict[str, Path]) -> None:
    measured = {}
    for name, path in leaflets.items():
        for old in path.parent.glob(f"{name}-*.png"):  # a longer leaflet of an earlier run
            old.unlink()
        subprocess.run(["pdftoppm", "-png", "-r", "30", str(path), str(path.parent / name)],
                       check=True)
        shots = sorted(path.parent.glob(f"{name}-*.png"))
        assert len(shots) == len(PdfReader(path).pages)
        measured[name] = [round(fullness(s), 2) for s in shots]
    # every page but the last at least a third full; a blank sheet measures 0
    assert all(f >= 1 / 3 for v in measured.values() for f in v[:-1]), measured
    assert all(v[-1] > 0.05 for v in measured.values()), measured


def test_nurse_summary_for_the_same_patients(kb: KnowledgeBase) -> None:
    for name, patient in PATIENTS.items():
        result = evaluate(kb, patient)
        text = summary_text(kb, result)
        level = kb.level(result.urgency)
        lines = text.splitlines()
        assert lines[0].startswith(level.title.upper()), name
        assert lines[1].startswith("Tell the patient: "), name
        rule_language = ("has_fever", "on_chemotherapy", "severity in", "symptom(", " is true",
                         "is unknown", "any_symptom", "rule ")
        assert not [w for w in rule_language if w in text], name
        verbose = summary_text(kb, result, verbose=True)
        assert verbose.startswith(text) and "Trace (rule language, for audits):" in verbose
        assert any(w in verbose for w in rule_language[:3])


def test_the_same_patients_through_nkb_evaluate(kb: KnowledgeBase, leaflets: dict[str, Path],
                                                rules_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI's text and JSON for the leaflets' patients: the JSON valid against
    schema/result.schema.json, and all three outputs telling the same patient the same thing."""
    schema = json.loads((schema_dir() / "result.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for name, patient in PATIENTS.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(patient), encoding="utf-8")
        assert main(["evaluate", str(path), "--rules", str(rules_dir)]) == 0, name
        text = capsys.readouterr().out
        assert main(["evaluate", str(path), "--format", "json", "--rules", str(rules_dir)]) == 0
        data = json.loads(capsys.readouterr().out)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
        assert errors == [], (name, errors)
        level = kb.level(data["urgency"])
        assert data["level"]["action"] == level.action and data["kb"]["version"] == kb.meta.version
        assert text.splitlines()[0].startswith(f"{level.title.upper()}: "), name
        assert f"What to do now: {level.action}" in pages(leaflets[name])[0], name
