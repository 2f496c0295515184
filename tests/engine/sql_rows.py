"""Seeded patients for the sameness tests: good rows, rows at every edge, missing inputs and bad
rows, written as the CSV cells a lab feed or a spreadsheet gives."""

from __future__ import annotations

import csv
import random
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator, Sequence

from neutropenia_kb.engine.program import Compare, Const, InputRef, Program, walk

COLUMNS = ("id", "anc", "wbc", "neutrophils_percent", "bands_percent", "temperature", "symptoms",
           "on_chemotherapy", "age_years")
_UNIT_SPELLINGS = {"cells/uL": ["", " cells/uL", "/uL", " cells/µL", " cells/mm3", "cells/ul"],
                   "10^9/L": [" x10^9/L", " G/L", " ×10⁹/L", "10^9/l", " x 10^9/L"],
                   "C": ["", " C", "°C", " celsius"], "F": [" F", "°F", " fahrenheit"],
                   "%": ["", "%", " %", " percent"], "": [""]}
_BAD_NUMBERS = ["abc", "1e25", "1e-25", "-5", "12.5.3", "1234567890123456789012345678901",
                "38 K", "5 %", "five", " ", "1e99999999999", "0e999", "\x1b[31m", "x" * 150,
                "1,2,3", ".5", "+7", "-0", "٣٨", "38\t", "1\u2028", "37 C extra", "100 cells/uL", "0.8 G/L"]
_WORDS = ["yes", "no", "true", "false", "Y", "n", "1", "0", " Yes ", "maybe", "TRUE", "2"]
# What show_value escapes beyond C0 and DEL (C1 controls with NEL, the line and paragraph
# separators, the bidirectional formatting characters), then neighbours it leaves as they are
# (no-break and narrow spaces, a hyphenation point, a zero-width space, a byte order mark, é,
# an emoji outside the BMP): put into some bad cells, so every engine must quote them alike.
ODD_CHARS = ("\x80\x85\x9b\x9f\u2028\u2029\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
             "\u2066\u2067\u2068\u2069" "\xa0\u2027\u202f\u200b\ufeff\xe9\U0001f600")


def with_odd_char(rnd: random.Random, text: str, share: float = 0.3) -> str:
    """``text`` with one of ODD_CHARS put in at a random place, for ``share`` of the texts."""
    if rnd.random() >= share:
        return text
    at = rnd.randint(0, len(text))
    return text[:at] + rnd.choice(ODD_CHARS) + text[at:]


def decimal_text(value: Fraction, places: int) -> str:
    """The value cut to ``places`` decimals, as text."""
    scaled = value * 10**places
    whole = int(scaled)
    sign = "-" if value < 0 and whole == 0 and scaled != 0 else ""
    digits = str(abs(whole)).rjust(places + 1, "0")
    text = digits if places == 0 else f"{digits[:-places]}.{digits[-places:]}"
    return ("-" if whole < 0 else sign) + text


def edges(program: Program) -> list[tuple[str, str, Fraction]]:
    """(input, unit name, value in that unit) for every band edge and threshold in every unit."""
    out = []
    inputs = program.input_by_id
    sev = inputs[program.severity.input]
    for band in program.severity.bands:
        for edge in (band.lower, band.below):
            if edge is not None:
                out += [(sev.id, u.name, u.from_base(edge)) for u in sev.units]
    for _owner, _kind, cond in program.conditions():
        for node in walk(cond):
            if isinstance(node, Compare) and isinstance(node.left, InputRef) and \
                    isinstance(node.right, Const):
                for unit, value in node.in_units.items():
                    out.append((node.left.input, unit, value))
                if not node.in_units:
                    out.append((node.left.input, "", node.right.value))  # type: ignore[arg-type]
    for inp in program.inputs:
        for edge in (inp.min, inp.max):
            if edge is not None:
                out += [(inp.id, u.name, u.from_base(edge)) for u in inp.units] or \
                    [(inp.id, "", edge)]
    return sorted(set(out))


def grid(program: Program) -> Iterator[dict[str, str]]:
    """Each edge, and just above and below it at 1, 2, 12, 13 and 20 decimals, in each unit."""
    for name, unit, value in edges(program):
        spelling = _UNIT_SPELLINGS.get(unit, [f" {unit}"])[-1] if unit else ""
        for step in (0, 1, 2, 12, 13, 20):
            for sign in (-1, 1):
                near = value + sign * Fraction(1, 10**step) if step else value
                for places in sorted({step, 20}):
                    row = {"anc": "800", "temperature": "37", "on_chemotherapy": "yes",
                           "symptoms": "", "age_years": "40"}
                    row[name] = decimal_text(near, places) + spelling
                    if name == "wbc":
                        row.pop("anc")
                        row["neutrophils_percent"] = "40"
                    if name in ("neutrophils_percent", "bands_percent"):
                        row.pop("anc")
                        row["wbc"] = "2500"
                    yield row


def patients(seed: int, count: int, symptoms: Sequence[str]) -> Iterator[dict[str, str]]:
    rnd = random.Random(seed)
    odd = random.Random(f"{seed} odd")  # its own stream: the rest of each row stays as it was

    def number(low: float, high: float, units: list[str], edges_: list[float]) -> str:
        roll = rnd.random()
        if roll < 0.06:
            return with_odd_char(odd, rnd.choice(_BAD_NUMBERS))
        if roll < 0.3 and edges_:
            base = rnd.choice(edges_)
            text = decimal_text(Fraction(base) + Fraction(rnd.randint(-3, 3), 10**rnd.choice(
                [0, 1, 2, 13, 18])), rnd.choice([0, 1, 2, 13, 18]))
        else:
            text = str(round(rnd.uniform(low, high), rnd.choice([0, 1, 2, 3])))
        return text + rnd.choice(units)

    for i in range(count):
        row: dict[str, str] = {"id": str(i)}
        unit = rnd.choice(["cells/uL", "10^9/L"])
        scale = 1 if unit == "cells/uL" else 1000
        if rnd.random() < 0.6:
            row["anc"] = number(0, 3000 / scale, _UNIT_SPELLINGS[unit],
                                [500 / scale, 1000 / scale, 1500 / scale])
        elif rnd.random() < 0.8:
            row["wbc"] = number(0, 9000 / scale, _UNIT_SPELLINGS[unit], [2500 / scale])
            row["neutrophils_percent"] = number(0, 90, _UNIT_SPELLINGS["%"], [20, 40, 60])
            if rnd.random() < 0.5:
                row["bands_percent"] = number(0, 30, _UNIT_SPELLINGS["%"], [10, 50])
        if rnd.random() < 0.85:
            t_unit = rnd.choice(["C", "F"])
            row["temperature"] = number(*((34, 40) if t_unit == "C" else (93, 104)),
                                        _UNIT_SPELLINGS[t_unit],
                                        [38, 36] if t_unit == "C" else [100.4, 96.8])
        if rnd.random() < 0.85:
            picked = rnd.sample(list(symptoms), rnd.choice([0, 0, 1, 1, 2, 3]))
            if rnd.random() < 0.04:
                picked.append(with_odd_char(odd, rnd.choice(["fevr", "headache", "Fever", "x" * 120,
                                                             "a\tb"])))
            row["symptoms"] = rnd.choice([",", ";", "|", ", "]).join(picked)
        if rnd.random() < 0.8:
            row["on_chemotherapy"] = rnd.choice(_WORDS)
        if rnd.random() < 0.7:
            row["age_years"] = number(0, 90, [""], [12])
        yield row


def write_csv(path: Path, rows: Iterator[dict[str, Any]], columns: Sequence[str] = COLUMNS) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(columns)
        for row in rows:
            out.writerow([row.get(c, "") for c in columns])


def lab_feed(seed: int, count: int, symptoms: Sequence[str]) -> Iterator[dict[str, str]]:
    """Rows as a lab feed sends them: most cells plain (a whole count in cells/µL, a temperature
    with one decimal in °C, yes/no, a whole age), a few other unit spellings, and about 1 % bad
    rows (a cell no engine can read). The realistic set of benchmarks/scale.py; `patients` is the
    adversarial one."""
    rnd = random.Random(seed)
    ids = list(symptoms)
    bad = {"anc": ["abc", "-5", "12..5", "1,2,3", "38 K"], "temperature": ["hot", "38 K", "99"],
           "symptoms": ["fevr", "headache"], "on_chemotherapy": ["maybe", "2"],
           "age_years": ["200", "forty"], "wbc": ["n/a"], "neutrophils_percent": ["140"]}
    for i in range(count):
        row: dict[str, str] = {"id": str(i)}
        roll = rnd.random()
        low = rnd.random() < 0.15  # the patients on chemotherapy run low
        count_ = rnd.randrange(0, 1500) if low else rnd.randrange(1000, 7000)
        if roll < 0.75:
            spell = rnd.random()
            if spell < 0.85 and count_ >= 100:  # a bare count below 100 is ambiguous
                row["anc"] = str(count_)
            elif spell < 0.93:
                row["anc"] = f"{count_ / 1000:.2f} " + rnd.choice(["x10^9/L", "G/L", "10^9/L"])
            else:
                row["anc"] = f"{count_} " + rnd.choice(["cells/uL", "/uL", "cells/µL"])
        elif roll < 0.9:
            row["wbc"] = str(rnd.randrange(500, 12000))
            row["neutrophils_percent"] = str(rnd.randrange(5, 80))
            if rnd.random() < 0.3:
                row["bands_percent"] = str(rnd.randrange(0, 10))
        if rnd.random() < 0.9:
            c = rnd.gauss(37.0, 0.8)
            row["temperature"] = f"{c:.1f}" if rnd.random() < 0.95 else f"{c * 9 / 5 + 32:.1f} F"
        if rnd.random() < 0.9:
            row["symptoms"] = ";".join(rnd.sample(ids, rnd.choice([0, 0, 0, 1, 1, 2])))
        if rnd.random() < 0.95:
            row["on_chemotherapy"] = "yes" if low or rnd.random() < 0.2 else "no"
        if rnd.random() < 0.95:
            row["age_years"] = str(rnd.randrange(0, 90))
        if rnd.random() < 0.01:
            name = rnd.choice(list(bad))
            row[name] = rnd.choice(bad[name])
        yield row


# Cells no lab sends but a spreadsheet, a copy-paste or a broken export can: odd spaces and
# controls around and inside numbers, digits of other scripts, signs, decimal marks, exponents,
# long runs of digits in every unit spelling, yes/no words, symptom lists with odd separators,
# and plain junk. No line breaks: each row stays on its line (a file with one is the Python
# engine's, test_sql_bad_files.py).
_ODD_SPACE = [" ", "  ", "\t", "\u00a0", "\u2007", "\u3000", "\u200b", "\x1c", "\x1f", "\x85",
              "\u2028", "\u202f", "\ufeff", ""]
_ODD_DIGITS = ["٣", "３", "³", "১"]
_ODD_UNITS = ["", "", "", "x10^9/L", "×10⁹/L", "X10^9/l", "10^9/L", "G/L", "g/l", "/mm3",
              "/mm³", "cells/µL", "cells/μL", "cells/ul", "/uL", "°C", "°F", "C", "F", "c",
              "f", "K", "%", "percent", "per cent", "º C", "˚F", "deg C"]
_ODD_WORDS = ["yes", "no", "YES", "No", "y", "n", "true", "FALSE", "1", "0", "t", "f", "on",
              "off", "maybe", "none", "None", "NONE", "-", "n/a", "NA", "null"]


def nasty(seed: int, count: int, symptoms: Sequence[str]) -> Iterator[dict[str, str]]:
    rnd = random.Random(seed)

    def number() -> str:
        out = [rnd.choice(_ODD_SPACE) if rnd.random() < 0.2 else "",
               rnd.choice(["", "", "", "+", "-", "−", "--"])]
        out.append("".join(rnd.choice(_ODD_DIGITS) if rnd.random() < 0.1 else
                           rnd.choice("0123456789")
                           for _ in range(rnd.choice([1, 1, 2, 3, 4, 5, 20, 40]))))
        if rnd.random() < 0.4:
            out.append(rnd.choice([",", "٫", "·"]) if rnd.random() < 0.2 else ".")
            out.append("".join(rnd.choice("0123456789")
                               for _ in range(rnd.choice([0, 1, 2, 10, 12, 13, 25]))))
        if rnd.random() < 0.05:
            out.append(rnd.choice(["e", "E", "e+", "e-"]) + str(rnd.randint(0, 400)))
        if rnd.random() < 0.03:
            out.append(rnd.choice([",000", ",5", ",,1", "'000", "_000"]))
        if rnd.random() < 0.5:
            out.append(rnd.choice(_ODD_SPACE) if rnd.random() < 0.3 else
                       rnd.choice([" ", ""]))
            out.append(rnd.choice(_ODD_UNITS))
        if rnd.random() < 0.1:
            out.append(rnd.choice(_ODD_SPACE))
        return "".join(out)

    def junk() -> str:
        return "".join(chr(rnd.choice([rnd.randint(32, 126),
                                       rnd.choice([c for c in range(32) if c not in (10, 13)]),
                                       rnd.randint(0x80, 0x2FFF), rnd.randint(0x1F300, 0x1F6FF)]))
                       for _ in range(rnd.randint(0, 12)))

    def symptom_list() -> str:
        roll = rnd.random()
        if roll < 0.1:
            return junk()
        if roll < 0.2:
            return rnd.choice(_ODD_WORDS)
        items = rnd.sample(list(symptoms), rnd.randint(0, 3))
        items = [i.upper() if rnd.random() < 0.05 else
                 i.replace("_", " ") if rnd.random() < 0.05 else i for i in items]
        if rnd.random() < 0.1:
            items.append(rnd.choice(["fevr", "", " ", "headache", items[0] if items else "x"]))
        return (rnd.choice(_ODD_SPACE) if rnd.random() < 0.1 else "") + rnd.choice(
            [",", ";", "|", ", ", " ; ", " ", "/", "\t"]).join(items)

    for i in range(count):
        row = {"id": str(i)}
        for name in COLUMNS[1:]:
            if rnd.random() < 0.45:
                continue
            if name == "symptoms":
                row[name] = symptom_list()
            elif name == "on_chemotherapy":
                row[name] = rnd.choice(_ODD_WORDS) if rnd.random() < 0.8 else junk()
            else:
                row[name] = number() if rnd.random() < 0.9 else junk()
        yield row
