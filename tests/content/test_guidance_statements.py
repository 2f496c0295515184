"""The guidance added in 1.1.0 side by side with the knowledge base, statement by statement.

guidance_statements.yaml quotes, with the address it was read at, every sentence of the national
guidance and charity pages that an item relies on. As for the seeds (test_coverage_of_sources.py)
the claim "nothing in rules/ cites a page that does not say it" is held in both directions:
  * every item named for a statement exists and cites that source and section;
  * every citation of these sources in rules/ is backed by a quoted statement of that source
    and section, and every section of the bibliography has at least one;
  * every item that cites them carries a reviewer note.
The pages themselves are not kept (third-party text), so the quotes cannot be compared with a
copy here; what is checked is that each is a clean quote read at one of its source's addresses.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_coverage_of_sources import cited

from neutropenia_kb.kb.model import KnowledgeBase

TABLE = Path(__file__).with_name("guidance_statements.yaml")
SEEDS = Path(__file__).with_name("source_statements.yaml")

Backing = dict[tuple[str, str, str], list[str]]


@pytest.fixture(scope="module")
def table() -> dict[str, Any]:
    with TABLE.open(encoding="utf-8") as f:
        data: dict[str, Any] = yaml.safe_load(f)
    return data


def backing(statements: list[dict[str, Any]]) -> Backing:
    """(item, source, section) -> the quotes that back that citation."""
    backed: Backing = defaultdict(list)
    for row in statements:
        for ident in row["items"]:
            backed[(ident, row["source"], row["section"])].append(row["quote"])
    return backed


def unbacked(kb: KnowledgeBase, sources: set[str], statements: list[dict[str, Any]]) -> list[str]:
    """Citations of the guidance in rules/ that no quoted statement backs."""
    backed = backing(statements)
    return [f"{i} cites {src} {sec}" for (i, src, sec) in cited(kb)
            if src in sources and sec is not None and (i, src, sec) not in backed]


# ---- the table against the bibliography -------------------------------------------------------


def test_guidance_and_seeds_together_are_the_bibliography(table: dict[str, Any],
                                                          kb: KnowledgeBase) -> None:
    with SEEDS.open(encoding="utf-8") as f:
        seeds = set(yaml.safe_load(f)["documents"])
    guidance = set(table["sources"])
    assert not seeds & guidance
    assert seeds | guidance == {s.id for s in kb.sources}


def test_the_first_address_is_the_bibliography_url(table: dict[str, Any],
                                                   kb: KnowledgeBase) -> None:
    wrong = [f"{ident}: {addresses[0]} != {kb.source_by_id[ident].url}"
             for ident, addresses in table["sources"].items()
             if addresses[0] != kb.source_by_id[ident].url]
    assert not wrong, "\n".join(wrong)


def test_each_statement_was_read_at_an_address_of_its_source(table: dict[str, Any]) -> None:
    wrong = [f"{row['source']}: {row['url']} ({row['quote']!r})" for row in table["statements"]
             if row["url"] not in table["sources"][row["source"]]]
    assert not wrong, "statements read at an address not listed for their source:\n" + \
        "\n".join(wrong)


def test_quotes_are_clean_single_quotes(table: dict[str, Any]) -> None:
    """A quote is the page's words: no ellipsis or square-bracket edits, no bullet, one line."""
    bad = [row["quote"] for row in table["statements"]
           if row["quote"] != row["quote"].strip() or "\n" in row["quote"]
           or "…" in row["quote"] or "[...]" in row["quote"] or row["quote"].startswith(("•", "-"))]
    assert not bad, bad


def test_quotes_are_not_listed_twice_for_one_source(table: dict[str, Any]) -> None:
    keys = [(row["source"], row["quote"]) for row in table["statements"]]
    assert len(keys) == len(set(keys))


def test_each_statement_names_a_real_section_and_items(table: dict[str, Any],
                                                      kb: KnowledgeBase) -> None:
    for row in table["statements"]:
        source = kb.source_by_id[row["source"]]
        assert source.section(row["section"]) is not None, (row["source"], row["section"])
        assert row["items"], f"statement with no item: {row['quote']!r}"


# ---- the table against the knowledge base ------------------------------------------------------


def test_each_listed_item_exists_and_cites_that_section(table: dict[str, Any],
                                                        kb: KnowledgeBase) -> None:
    citations = cited(kb)
    wrong = []
    for row in table["statements"]:
        for ident in row["items"]:
            if ident not in kb.by_id:
                wrong.append(f"{ident}: no such item ({row['quote']!r})")
            elif (ident, row["source"], row["section"]) not in citations:
                wrong.append(f"{ident} does not cite {row['source']} {row['section']} "
                             f"({row['quote']!r})")
    assert not wrong, "\n".join(wrong)


def test_every_guidance_citation_is_backed_by_a_quote(table: dict[str, Any],
                                                      kb: KnowledgeBase) -> None:
    left = unbacked(kb, set(table["sources"]), table["statements"])
    assert not left, ("citations of the guidance that no quoted statement backs (quote the "
                      "sentence with its address, or fix the citation):\n" + "\n".join(left))


def test_a_dropped_quote_is_noticed(table: dict[str, Any], kb: KnowledgeBase) -> None:
    """The backing check can fail: without the quotes behind one citation, it is reported."""
    gone = "Don’t take medicines to reduce your fever (such as Tylenol®, Advil®, Motrin®, or " \
        "aspirin) without checking with your doctor first."
    fewer = [row for row in table["statements"] if row["quote"] != gone]
    assert len(fewer) == len(table["statements"]) - 1
    assert unbacked(kb, set(table["sources"]), fewer) == [
        "painkillers_can_hide_fever cites acs_infection_signs acs_signs"]


def test_every_guidance_section_is_quoted(table: dict[str, Any], kb: KnowledgeBase) -> None:
    quoted = {(row["source"], row["section"]) for row in table["statements"]}
    missing = [(s.id, sec.id) for s in kb.sources if s.id in table["sources"]
               for sec in s.sections if (s.id, sec.id) not in quoted]
    assert not missing, f"sections with no quoted statement: {missing}"


def test_items_citing_guidance_carry_a_reviewer_note(table: dict[str, Any],
                                                     kb: KnowledgeBase) -> None:
    silent = sorted({i for (i, src, _) in cited(kb)
                     if src in table["sources"] and not kb.by_id[i].note})
    assert not silent, f"items citing the guidance without a reviewer note: {silent}"
