"""The speed-ups must not show: reused layouts, worker processes and the PDF cache give the
pages, page numbers, metadata and bytes of a plain render."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from leaflet_pdf import words
from pypdf import PdfReader

from neutropenia_kb import evaluate
from neutropenia_kb.cli import main
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.render import leaflet as L
from neutropenia_kb.render import leaflet_table as T
from neutropenia_kb.render.leaflet_build import build_leaflets

DAY = dt.date(2026, 12, 1)
SMALL = [T.leaflet_by_slug("when-to-get-help"), T.leaflet_by_slug("preventing-infection-at-home")]


def _footers(pdf: bytes) -> list[list[str]]:
    return [re.findall(r"Page \d+ of \d+", p.extract_text() or "")
            for p in PdfReader(io.BytesIO(pdf)).pages]


def test_personal_page_numbers_and_metadata(kb: KnowledgeBase) -> None:
    result = evaluate(kb, {"anc": 800, "temperature": "38.5 C", "on_chemotherapy": True})
    pdf = L.render_personal(kb, result, T.Variant("letter", large_print=True), today=DAY)
    reader = PdfReader(io.BytesIO(pdf))
    total = len(reader.pages)
    assert total > 2
    assert _footers(pdf) == [[f"Page {n} of {total}"] for n in range(1, total + 1)]
    texts = [words(p.extract_text() or "") for p in reader.pages]
    assert all(L.PERSONAL_TITLE in t for t in texts[1:])  # the running header
    assert sum(t.count("Written by") for t in texts) == 1
    info = reader.metadata
    assert info is not None and info.title == L.PERSONAL_TITLE
    assert info.author == ", ".join(kb.meta.written_by)
    assert reader.trailer["/Root"]["/Lang"] == kb.meta.language


def test_notes_space_shrinks_rather_than_start_a_page_alone(kb: KnowledgeBase) -> None:
    # this adult, not on chemotherapy, gets the most advice of test_personal_patients' patients:
    # with the full notes space the phone numbers and notes start a fourth page of their own
    result = evaluate(kb, {"wbc": "3.1 x10^9/L", "neutrophils_percent": 40, "age_years": 50,
                           "temperature": "37 C", "on_chemotherapy": False, "symptoms": []})
    parts = L.personal_parts_html(kb, result, today=DAY)
    lines = [v.count('class="note-line"') for v in parts.versions]
    assert lines == list(L.NOTE_LINES) and lines[0] > lines[1] > lines[-1] == 0
    assert 'id="notes"' not in parts.versions[-1]
    full = L.layout(parts.versions[0], T.Variant())
    assert set(full.pages[-1].anchors) <= L.END_IDS  # the notes would have started a page
    reader = PdfReader(io.BytesIO(L.render_personal_html(parts, T.Variant())))
    assert len(reader.pages) < len(full.pages)
    last = words(reader.pages[-1].extract_text() or "")
    assert "Phone numbers" in last and "Notes and questions" in last  # shorter, not gone


def test_parallel_build_writes_the_serial_bytes(kb: KnowledgeBase, tmp_path: Path) -> None:
    variants = [T.Variant("a4")]
    serial = build_leaflets(kb, tmp_path / "serial", SMALL, variants, workers=1)
    parallel = build_leaflets(kb, tmp_path / "parallel", SMALL, variants, workers=2)
    assert [p.name for p in serial] == [p.name for p in parallel] == [
        "when-to-get-help-a4.pdf", "preventing-infection-at-home-a4.pdf"]
    assert [p.read_bytes() for p in serial] == [p.read_bytes() for p in parallel]


def test_cache_copies_unchanged_leaflets_and_renders_changed_ones(
        kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    first, = build_leaflets(kb, tmp_path / "a", SMALL[:1], [T.Variant("a4")], cache_dir=cache)
    entries = list(cache.glob("*.pdf"))
    assert [e.read_bytes() for e in entries] == [first.read_bytes()]
    entries[0].write_bytes(b"from the cache")  # proves the next build copies, not renders
    again, = build_leaflets(kb, tmp_path / "b", SMALL[:1], [T.Variant("a4")], cache_dir=cache)
    assert again.read_bytes() == b"from the cache"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # another date in the PDF: a new key
    changed, = build_leaflets(kb, tmp_path / "c", SMALL[:1], [T.Variant("a4")], cache_dir=cache)
    assert changed.read_bytes().startswith(b"%PDF") and len(list(cache.glob("*.pdf"))) == 2
    assert not list(cache.glob(".*"))  # no partial files left behind


def test_batch_in_worker_processes_matches_a_single_render(
        kb: KnowledgeBase, tmp_path: Path, rules_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796083200")  # 2026-12-01
    rows = tmp_path / "patients.csv"
    rows.write_text("id,anc,temperature\nann,800,38.5 C\nbob,lots,37\ncy,2000,36.8 C\n",
                    encoding="utf-8")
    out = tmp_path / "out"
    assert main(["leaflet", "--rules", str(rules_dir), "--patients", str(rows),
                 "--out-dir", str(out), "--jobs", "2"]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["ann.pdf", "cy.pdf"]
    ann = evaluate(kb, {"anc": "800", "temperature": "38.5 C"})
    assert (out / "ann.pdf").read_bytes() == L.render_personal(kb, ann, today=DAY)


def test_jobs_must_be_positive(rules_dir: Path) -> None:
    assert main(["leaflet", "--rules", str(rules_dir), "--jobs", "0"]) == 2
