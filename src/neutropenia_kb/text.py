"""Patient text helpers: placeholders that print the knowledge base's own threshold values.

An author writes "A temperature of {fever_temperature} or more is a fever." and the reader sees
"38.0 °C (100.4 °F)", taken from the same value the rule compares against, so they cannot drift.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import TYPE_CHECKING, Iterator

from .units import Unit, find_unit, format_number, format_quantity

if TYPE_CHECKING:
    from .model import Band, KnowledgeBase

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)(?:\.(from|below|range))?\}")
BAND_PARTS = ("from", "below", "range")


class PlaceholderError(ValueError):
    pass


def placeholders(text: str) -> Iterator[tuple[str, str | None, int]]:
    """(id, part, offset) of each ``{id}`` / ``{id.part}`` in ``text``."""
    for match in PLACEHOLDER.finditer(text):
        yield match.group(1), match.group(2), match.start()


def display_units(kb: "KnowledgeBase", dimension: str) -> list[Unit]:
    """The units a patient sees a ``dimension`` in: the display_units of the first input of that
    dimension naming any (e.g. [°C, °F]); [] when none does."""
    for inp in kb.inputs:
        if inp.dimension == dimension and inp.display_units:
            return [u for u in (find_unit(name) for name in inp.display_units) if u]
    return []


def band_range(kb: "KnowledgeBase", band: "Band") -> str:
    """'1,000 to under 1,500 cells/µL', 'under 500 cells/µL', '1,500 cells/µL or more'."""
    unit = find_unit(kb.severity.unit)
    assert unit is not None

    def fmt(value: Fraction) -> str:
        assert unit is not None
        return format_quantity(unit.to_base(value), unit)

    if band.lower is not None and band.below is not None:
        return f"{format_number(band.lower)} to under {fmt(band.below)}"
    if band.below is not None:
        return f"under {fmt(band.below)}"
    if band.lower is not None:
        return f"{fmt(band.lower)} or more"
    return "any count"


def value_of(kb: "KnowledgeBase", ident: str, part: str | None) -> str:
    """The words for one placeholder; raises PlaceholderError if it names nothing usable."""
    bands = {b.id: b for b in kb.severity.bands}
    if ident in bands:
        band = bands[ident]
        unit = find_unit(kb.severity.unit)
        assert unit is not None
        if part == "range" or part is None:
            return band_range(kb, band)
        edge = band.lower if part == "from" else band.below
        if edge is None:
            raise PlaceholderError(f"band '{ident}' has no '{part}' edge")
        return format_quantity(unit.to_base(edge), unit)
    for threshold in kb.thresholds:
        if threshold.id == ident:
            if part is not None:
                raise PlaceholderError(f"'{{{ident}.{part}}}': only bands have .{part}; "
                                       f"write '{{{ident}}}'")
            unit = find_unit(threshold.unit)
            if unit is None:
                raise PlaceholderError(f"threshold '{ident}' has an unknown unit")
            return format_quantity(unit.to_base(threshold.value), unit,
                                   display_units(kb, unit.dimension))
    raise PlaceholderError(f"'{{{ident}{'.' + part if part else ''}}}' names no threshold or "
                           "severity band")


def expand(kb: "KnowledgeBase", text: str) -> str:
    """Replace every placeholder in ``text`` with its value in words."""
    return PLACEHOLDER.sub(lambda m: value_of(kb, m.group(1), m.group(2)), text)
