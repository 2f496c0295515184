"""Reading a tagged PDF's structure tree back with pypdf: which structure types hold the marked
content of each page, in content order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypdf import PdfReader

HEADINGS = {"/H1", "/H2", "/H3", "/H4", "/H5", "/H6"}


def structure_types(path: Path) -> set[str]:
    """Every structure type (/H1, /P, /Table, …) in the document's structure tree."""
    root = PdfReader(path).trailer["/Root"]["/StructTreeRoot"].get_object()
    found: set[str] = set()
    _walk(root, (), {}, found, {})
    return found


def page_contents(path: Path) -> list[list[tuple[str, ...]]]:
    """For each page, the structure types above each marked-content item, in content order
    (outermost first), e.g. ('/Document', '/Part', '/Sect', '/H2', '/Span')."""
    reader = PdfReader(path)
    numbers = {page.indirect_reference.idnum: i for i, page in enumerate(reader.pages)}
    root = reader.trailer["/Root"]["/StructTreeRoot"].get_object()
    by_page: dict[int, dict[int, tuple[str, ...]]] = {}
    _walk(root, (), numbers, set(), by_page)
    return [[chain for _, chain in sorted(by_page.get(i, {}).items())]
            for i in range(len(reader.pages))]


def heading_ends(path: Path) -> list[int]:
    """Pages (1-based) whose last marked content, in reading order, is part of a heading."""
    pages = page_contents(path)
    return [number for number, content in enumerate(pages[:-1], start=1)
            if content and HEADINGS & set(content[-1])]


def _walk(node: Any, chain: tuple[str, ...], numbers: dict[int, int], found: set[str],
          by_page: dict[int, dict[int, tuple[str, ...]]], page: int | None = None) -> None:
    node = node.get_object()
    if isinstance(node, int):  # a marked-content id on the element's page
        if page is not None:
            by_page.setdefault(page, {})[node] = chain
        return
    if not hasattr(node, "get"):
        return
    kind = node.get("/S")
    if kind is not None:
        found.add(str(kind))
        chain = chain + (str(kind),)
    pg = node.get("/Pg")
    if pg is not None and pg.idnum in numbers:
        page = numbers[pg.idnum]
    if node.get("/Type") == "/MCR":
        mcid = node.get("/MCID")
        if page is not None and mcid is not None:
            by_page.setdefault(page, {})[int(mcid)] = chain
        return
    kids = node.get("/K")
    if kids is None:
        return
    for kid in kids if isinstance(kids, list) else [kids]:
        _walk(kid, chain, numbers, found, by_page, page)
