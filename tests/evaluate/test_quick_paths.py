"""The batch's cheaper paths give exactly what the plain ways give: the derived ANC worked out by
the formula function against Fractions computed here, a count's cell written from its digits
against json_number's Decimal, the rounding range from the denominator's factors against trying
each number of places, show_value's printable shortcut against translating every character, and
a symptom cell read again from what was kept against reading it afresh."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import pytest

from neutropenia_kb import evaluator_for
from neutropenia_kb.core.problems import _CONTROL, InputError, show_value
from neutropenia_kb.core.units import UNITS, json_number
from neutropenia_kb.engine.batch_write import _cell, _decimal_text
from neutropenia_kb.engine.plausible import written_range


def _numbers(rnd: random.Random, count: int) -> list[int | Fraction]:
    """Ints, decimals of 0 to 20 places, repeating fractions (°F), zero."""
    out: list[int | Fraction] = [0, 1, 100]
    for _ in range(count):
        kind = rnd.random()
        if kind < 0.3:
            out.append(rnd.randint(0, 10**6))
        elif kind < 0.8:
            value = Fraction(rnd.randint(0, 10**9), 10**rnd.randint(0, 20))
            out.append(value.numerator if value.denominator == 1 else value)
        else:
            out.append(Fraction(rnd.randint(1, 10**6), rnd.choice([3, 7, 9, 18, 90, 4096])))
    return out


def test_derived_anc_is_the_formula_in_exact_fractions(kb: Any) -> None:
    """wbc × (neutrophils + bands) / 100, bands counted as 0 when missing: an int when whole
    (as units.simplest gives it), else the same Fraction."""
    derive = evaluator_for(kb).parser.derive["anc"]
    rnd = random.Random(5)
    numbers = _numbers(rnd, 3000)
    checked = whole = 0
    for _ in range(5000):
        values: dict[str, Any] = {"wbc": rnd.choice(numbers),
                                  "neutrophils_percent": rnd.choice(numbers)}
        if rnd.random() < 0.5:
            values["bands_percent"] = rnd.choice(numbers)
        expected = Fraction(values["wbc"]) * (Fraction(values["neutrophils_percent"])
                                              + Fraction(values.get("bands_percent", 0))) / 100
        got = derive(values)
        if expected.denominator == 1:
            assert type(got) is int and got == expected, values
            whole += 1
        else:
            assert type(got) is Fraction and got == expected, values
        checked += 1
    assert checked == 5000 and 10 < whole < 4900  # both kinds of value were met
    assert derive({"wbc": 2500, "neutrophils_percent": 40}) == 1000
    assert type(derive({"wbc": 2500, "neutrophils_percent": Fraction(402, 10)})) is int
    assert derive({"wbc": 2501, "neutrophils_percent": 40}) == Fraction(5002, 5)


def test_count_cells_from_digits_are_json_numbers_written() -> None:
    """Every value whose decimal ends is written as json_number's Decimal writes it, and None
    (the Decimal path) is given only where that is in exponent form or too long."""
    rnd = random.Random(8)
    values = [Fraction(rnd.randint(-10**12, 10**12), 2**rnd.randint(0, 40) * 5**rnd.randint(0, 40))
              for _ in range(5000)]
    values += [Fraction(n, 10**p) for p in range(1, 30) for n in (1, 5, 12, 999, -3)]
    exponent_form = 0
    for value in values:
        if value.denominator == 1:
            continue
        found = _decimal_text(value)
        expected = _cell(json_number(value))
        if found is None:
            exponent_form += "E" in expected
            assert "E" in expected or len(expected) > 60, value
        else:
            assert found == expected, value
    assert exponent_form > 10
    assert _decimal_text(Fraction(683, 18)) is None


def test_rounding_range_is_found_from_the_denominator() -> None:
    """The places a number was written with, as the first p in 0..30 with number × 10^p
    whole (no finite decimal, or more than 30 places: taken as exact)."""
    rnd = random.Random(11)
    numbers = _numbers(rnd, 3000) + [Fraction(1, 10**30), Fraction(1, 10**31), Fraction(1, 2**31)]
    units = [None, UNITS["cells/uL"], UNITS["G/L"], UNITS["%"]]
    for number in numbers:
        unit = rnd.choice(units)
        value = unit.to_base(Fraction(number)) if unit is not None else number
        places = next((p for p in range(31) if (Fraction(number) * 10**p).denominator == 1),
                      None)
        low, high = written_range(value, (number, unit))
        if places is None:
            assert low == high == value, number
            continue
        half = Fraction(1, 2 * 10**places)
        if unit is not None:
            half = unit.to_base(number + half) - unit.to_base(number)
        assert (low, high) == (value - half, value + half), number


def test_show_value_escapes_exactly_what_translate_escapes() -> None:
    """Every character of the Basic Multilingual Plane, alone and among printable text."""
    for code in range(0x10000):
        if 0xD800 <= code < 0xE000:
            continue  # surrogates are not text
        text = f"a{chr(code)}b"
        assert show_value(text) == text.translate(_CONTROL), hex(code)
    assert show_value("\x1b[31m") == "\\x1b[31m"
    assert show_value("1\u2028") == "1\\u2028"  # a line end in editors and JavaScript


@pytest.mark.parametrize("cell", ["fever,cough", "none", " None ", "fevr", "fever;Fever",
                                  "a\tb", "x" * 41, "x" * 120])
def test_a_symptom_cell_read_again_gives_the_same_answer(kb: Any, cell: str) -> None:
    """Kept answers and kept errors are given again word for word, a fresh error each time
    (raising the kept one would pile up tracebacks); long cells are not kept."""
    parser = evaluator_for(kb).parser
    outcomes: list[tuple[Any, ...]] = []
    errors: list[InputError] = []
    for _ in range(3):
        try:
            outcomes.append(("ok", parser._symptoms(cell)))
        except InputError as exc:
            errors.append(exc)
            outcomes.append(("error", str(exc), exc.field, exc.value, exc.allowed))
    fresh = evaluator_for(kb).parser._symptom_list(cell) if outcomes[0][0] == "ok" else None
    assert outcomes[0][0] == outcomes[1][0] == outcomes[2][0]
    if outcomes[0][0] == "ok":
        assert outcomes[0] == outcomes[1] == outcomes[2] == ("ok", fresh)
    else:
        assert outcomes[0] == outcomes[1] == outcomes[2]
        assert errors[0] is not errors[1] and errors[1] is not errors[2]


def test_a_cell_is_quoted_as_csv_writer_quotes_it() -> None:
    """Every character, alone in a cell and among others, as csv.writer writes it."""
    import csv
    import io

    from neutropenia_kb.engine.batch_write import _quoted

    for code in range(0x110000):
        if 0xD800 <= code < 0xE000:
            continue
        for cell in (chr(code), f"a{chr(code)}b", f'"{chr(code)}"'):
            out = io.StringIO(newline="")
            csv.writer(out).writerow(["1", cell])
            assert out.getvalue() == f"1,{_quoted(cell)}\r\n", hex(code)


def test_rows_joined_by_commas_are_what_csv_writer_writes(kb: Any, tmp_path: Any) -> None:
    """The writer joins a row's cells itself, quoting only a cell that holds a comma, a quote
    or a line break: the file read back and written again by csv.writer is the same, byte for
    byte, and both kinds of row were written."""
    import csv
    import io

    from neutropenia_kb.engine import batch

    lines = ["id,anc,temperature,symptoms,on_chemotherapy",
             "1,800,38.5,fever,yes", '"2,b",1500,37,,no', '"say ""x""",0.8 G/L,37 C,cough,y',
             "4,abc,37,,yes", "5,800,38 K,,yes", '6,"1,500",37,,yes', "7,800\r,37,,yes",
             "8,,,,", "9,800,37,fevr;headache,maybe", '10,"80""0",37,,yes', "11, 900 ,37.0,,no"]
    src = tmp_path / "in.csv"
    src.write_bytes("\n".join(lines).encode() + b"\n")
    evaluator = evaluator_for(kb)
    out = io.StringIO(newline="")
    with src.open("rb") as stream:
        rows = batch.Rows(stream, "csv", batch.accepted_columns(evaluator), src)
        batch.run(evaluator, rows, out, "csv", rows.columns)
    written = out.getvalue()
    read_back = list(csv.reader(io.StringIO(written, newline="")))
    assert {len(cells) for cells in read_back} == {len(read_back[0])}
    assert [cells[1] for cells in read_back[1:]] == \
        [batch.split_cells(line)[0] for line in lines[1:]]  # each id cell as it was read
    again = io.StringIO(newline="")
    csv.writer(again).writerows(read_back)
    assert written == again.getvalue()
    body = written.split("\r\n")[1:-1]
    assert len(body) == len(lines) - 1
    assert any('"' in line for line in body) and any('"' not in line for line in body)


def test_json_lines_cells_with_line_breaks_are_quoted_in_csv(kb: Any) -> None:
    """JSON Lines in, CSV out: a cell may hold a line break, which only csv.writer writes."""
    import csv
    import io
    import json

    from neutropenia_kb.engine import batch

    ids = ["a\nb", "c\rd", "plain", "e,f", 'g"h']
    data = "".join(json.dumps({"id": i, "anc": 800, "temperature": 37}) + "\n" for i in ids)
    evaluator = evaluator_for(kb)
    stream = io.BytesIO(data.encode())
    columns = batch.jsonl_columns(stream)
    stream.seek(0)
    out = io.StringIO(newline="")
    batch.run(evaluator, batch.Rows(stream, "jsonl"), out, "csv", columns)
    read_back = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert [cells[1] for cells in read_back[1:]] == ids
    assert {len(cells) for cells in read_back} == {len(read_back[0])}


@pytest.mark.parametrize("name", ["anc", "wbc", "temperature", "neutrophils_percent", "age_years"])
def test_long_plain_numbers_read_quickly_as_exactly(kb: Any, name: str) -> None:
    """Up to 15 digits before the point, 20 after it and 30 in all (leading zeros not counted,
    trailing ones counted, as Decimal counts them) go the quick way and give what the exact way
    gives; longer ones go the exact way, which refuses those over 30 digits."""
    from tests.evaluate.test_quick_number import _same

    from neutropenia_kb.engine.quick_number import plain

    evaluator = evaluator_for(kb)
    rnd = random.Random(len(name))
    units = {"anc": ["", " cells/uL", " G/L"], "wbc": ["", " /uL", " x10^9/L"],
             "temperature": ["", " C", " F"], "neutrophils_percent": ["", "%"],
             "age_years": [""]}[name]
    quick = slow = 0
    for whole_digits in range(1, 17):
        for places in range(1, 23):
            for zeros in (0, 1, 5):
                whole = "".join(rnd.choice("0123456789") for _ in range(whole_digits))
                part = "".join(rnd.choice("0123456789") for _ in range(places))
                if zeros:
                    whole = "0" * zeros + whole[zeros:] if zeros < len(whole) else whole
                    part = part[:-zeros] + "0" * zeros if zeros < len(part) else part
                text = f"{whole}.{part}{rnd.choice(units)}"
                taken = _same(evaluator, name, text)
                assert taken == (plain(text) is not None)
                quick += taken
                slow += not taken
                if whole_digits <= 15 and places <= 20 and \
                        len(str(int(whole + part))) <= 30:
                    assert plain(text) is not None, text
    for places in range(18, 24):  # the smallest numbers: exact refuses below 1e-20
        for text in ("0." + "0" * (places - 1) + "1", "0." + "0" * (places - 1) + "5" + units[-1]):
            _same(evaluator, name, text)
    assert quick > 500 and slow > 50


def test_an_unknown_symptom_is_worded_the_same_in_every_list(kb: Any) -> None:
    """The "did you mean" kept per item: the same words in a list met later as in a parser
    that has never seen the item."""
    from neutropenia_kb.engine.patient import PatientParser

    parser = evaluator_for(kb).parser
    for cell in ("fevr", "cough,fevr", "fevr;cough;rash", "cough|Fever", "Fever"):
        with pytest.raises(InputError) as seen:
            parser._symptoms(cell)
        with pytest.raises(InputError) as fresh:
            PatientParser(kb)._symptoms(cell)
        assert str(seen.value) == str(fresh.value) and "did you mean" in str(seen.value)


def test_each_unit_is_the_linear_map_the_quick_way_uses() -> None:
    """(a·v + b) / d equals the unit's own exact conversion, also away from the three points
    it was checked at; °F is 5, -160, 9."""
    from neutropenia_kb.engine.quick_number import linear

    rnd = random.Random(2)
    values = [Fraction(rnd.randint(-10**9, 10**9), 10**rnd.randint(0, 20)) for _ in range(300)]
    for unit in {id(u): u for u in UNITS.values()}.values():
        line = linear(unit)
        assert line is not None and line[2] > 0, unit.name
        a, b, d = line
        for v in values:
            assert Fraction(a * v + b, 1) / d == unit.to_base(v), (unit.name, v)
    assert linear(UNITS["F"]) == (5, -160, 9) and linear(None) == (1, 0, 1)
