"""A value quoted in a message stays on one line and in its own order: show_value escapes the
C0 and C1 controls, DEL, the line and paragraph separators and the bidirectional formatting
characters ("Trojan Source", CVE-2021-42574), as repr() writes them, and nothing else."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from neutropenia_kb import evaluate, load
from neutropenia_kb.core.problems import InputError, show_value

ROOT = Path(__file__).resolve().parents[2]
BIDI = [0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068,
        0x2069]
ESCAPED = {*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *BIDI}
# Neighbours left as they are: spaces, a hyphenation point, zero-width and byte-order marks
# (not line breaks, nor do they reorder text), letters, an emoji outside the BMP.
KEPT = [0x20, 0x7E, 0xA0, 0xAD, 0xE9, 0x200B, 0x200C, 0x200D, 0x2027, 0x202F, 0x2060, 0x206A,
        0xFEFF, 0x1F600]


@pytest.fixture(scope="module")
def kb() -> Any:
    return load(ROOT / "rules")


def test_exactly_these_characters_are_escaped_as_repr_writes_them() -> None:
    for code in [*range(0x3000), *range(0xFE00, 0x10000), *KEPT, sys.maxunicode]:
        char = chr(code)
        if code in ESCAPED:
            assert show_value(f"a{char}b") == f"a{repr(char)[1:-1]}b", hex(code)
        else:
            assert show_value(f"a{char}b") == f"a{char}b", hex(code)
    assert show_value("\x85\u2028\u202e") == "\\x85\\u2028\\u202e"
    assert show_value("\u2066x\u2069\x9f") == "\\u2066x\\u2069\\x9f"


def test_every_escaped_character_is_unprintable() -> None:
    """show_value skips its translate for printable text: that shortcut must not skip these."""
    assert not any(chr(code).isprintable() for code in ESCAPED)


@pytest.mark.parametrize("code", sorted(ESCAPED - set(range(0x20))))
def test_a_bad_cell_holding_one_gives_a_one_line_message_in_its_order(kb: Any, code: int) -> None:
    with pytest.raises(InputError) as caught:
        evaluate(kb, {"anc": f"12{chr(code)}3 cells/uL", "temperature": "37"})
    message = str(caught.value)
    assert message.isprintable(), message  # no line end, no bidirectional mark
    assert f"'12{repr(chr(code))[1:-1]}3 cells/uL'" in message
