"""Leaflet batches: one file per row, guaranteed; never through a symlink, never outside --out-dir."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

from neutropenia_kb.core.output_files import clash_key, file_stem
from neutropenia_kb.engine.batch import Row
from neutropenia_kb.render.leaflet_batch import plan_names


def test_every_row_gets_its_own_file_or_an_error_naming_the_other_rows(tmp_path: Path) -> None:
    ids = {2: "a/b", 3: "a-b", 4: "", 5: "row-4", 6: "Ann", 7: "ann", 8: "../x", 9: ".hidden",
           10: "dup", 11: "dup", 12: "\u00c5", 13: "\u212b", 14: "x" * 300}
    rows = [Row(line, {"id": text}) for line, text in ids.items()] + [Row(15, {}, "bad UTF-8")]
    paths, errors = plan_names(rows, tmp_path)
    assert set(paths) | set(errors) == set(range(len(ids)))  # every readable row, exactly once
    assert not set(paths) & set(errors)
    by_line = {rows[i].line: p.name for i, p in paths.items()}
    assert by_line == {2: "a%2Fb.pdf", 3: "a-b.pdf", 8: "%2E.%2Fx.pdf", 9: "%2Ehidden.pdf"}
    assert all(p.parent == tmp_path for p in paths.values())
    assert len({clash_key(p.name) for p in paths.values()}) == len(paths)
    said = {rows[i].line: message for i, message in errors.items()}
    assert said[4] == ("row 4 (no id, so named row-4) and row 5 (id 'row-4') would be written to "
                       "the same file, 'row-4.pdf'; give each row its own id")
    assert "row 5 (id 'row-4') and row 4 (no id, so named row-4)" in said[5]
    assert said[6] == ("row 6 (id 'Ann') and row 7 (id 'ann') would be written to the same file, "
                       "'Ann.pdf' and 'ann.pdf', one file where case or Unicode form is not told "
                       "apart; give each row its own id")
    assert "row 10 (id 'dup') and row 11 (id 'dup')" in said[10] and "row 10" in said[11]
    assert "row 13 (id '\u212b')" in said[12]  # Å as a letter and as the Ångström sign
    assert said[14] == "the id is too long to name a file (300 characters)"


def test_file_stems_are_one_to_one() -> None:
    texts = ["a/b", "a-b", "a%2Fb", "a b", "a_b", "a.b", ".", "..", "%", "a\x00b", "\u202e"]
    stems = [file_stem(t) for t in texts]
    assert len(set(stems)) == len(texts)
    assert all("/" not in s and not s.startswith(".") and s.isprintable() for s in stems)


def test_cli_batch_writes_one_file_per_row_and_never_through_a_symlink(
        rules_dir: Path, tmp_path: Path) -> None:
    rows = tmp_path / "patients.csv"
    rows.write_bytes(b"id,anc,temperature\nann,800,38.5 C\ndup,900,37\nDup,900,37\n"
                     b"bob,lots,37\n\"open,1,2\nzed,99\n")
    before = hashlib.sha256(rows.read_bytes()).hexdigest()
    out = tmp_path / "out"
    out.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not a leaflet\n", encoding="utf-8")
    (out / "ann.pdf").symlink_to(secret)
    done = subprocess.run([sys.executable, "-m", "neutropenia_kb", "leaflet", "--rules",
                           str(rules_dir), "--patients", str(rows), "--out-dir", str(out)],
                          capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "1 leaflet(s) written to" in done.stderr and "; 5 row(s) failed" in done.stderr
    for line, message in ((3, "row 3 (id 'dup') and row 4 (id 'Dup')"),
                          (4, "row 4 (id 'Dup') and row 3 (id 'dup')"), (5, "anc: 'lots'"),
                          (6, "the quote opened at column 1"),
                          (7, "1 cell fewer than the header")):
        assert f"patients.csv:{line}: error: row {line}: {message}" in done.stderr
    # the link was replaced by the leaflet; what it pointed to is untouched
    assert secret.read_text(encoding="utf-8") == "not a leaflet\n"
    leaflet = out / "ann.pdf"
    assert not leaflet.is_symlink() and len(PdfReader(leaflet).pages) >= 1
    assert sorted(p.name for p in out.iterdir()) == ["ann.pdf"]  # exactly what was counted
    assert hashlib.sha256(rows.read_bytes()).hexdigest() == before
