"""Reading leaflets back: text with white space folded, and where test artefacts go."""

from __future__ import annotations

import re
from pathlib import Path

from pypdf import PdfReader

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "leaflets"


def pdf_text(path: Path, pages: slice = slice(None)) -> str:
    """The text of the PDF with runs of white space (line ends in columns) made single spaces."""
    reader = PdfReader(path)
    text = " ".join(page.extract_text() or "" for page in reader.pages[pages])
    return re.sub(r"\s+", " ", text)


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
