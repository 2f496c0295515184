"""Every bad patient input is an input error naming the field, in bounded time and size; JSON and
YAML are read alike and output numbers are written exactly (issue 12)."""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from neutropenia_kb import evaluate
from neutropenia_kb.cli import main
from neutropenia_kb.core.json_text import dumps
from neutropenia_kb.core.problems import SHOWN_CHARS, InputError
from neutropenia_kb.core.units import exact, exact_ratio, json_number
from neutropenia_kb.engine.patient_file import read_patient

from .bad_inputs import API_CASES, FILE_CASES

# Before the fix the slowest of these took over a minute; each now takes well under 10 ms
# (bad_inputs.py prints the table). The bound is loose because the test machine is shared.
SECONDS = 1.0
# A message quotes at most SHOWN_CHARS of any value or name, plus its own words and the list
# of inputs or units it offers.
LONGEST_MESSAGE = 1000
_RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # newlines separate problems


@pytest.mark.parametrize("name", API_CASES)
def test_each_bad_value_is_an_input_error_naming_its_field(kb, name: str) -> None:  # type: ignore[no-untyped-def]
    patient = API_CASES[name]
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        evaluate(kb, patient)
    assert time.perf_counter() - start < SECONDS
    assert info.value.field == next(iter(patient))
    message = str(info.value)
    assert len(message) < LONGEST_MESSAGE and not _RAW_CONTROL.search(message)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("name", FILE_CASES)
def test_each_bad_file_exits_2_without_a_traceback(name: str, rules_dir: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    filename, data, field = FILE_CASES[name]
    path = tmp_path / filename
    path.write_bytes(data)
    start = time.perf_counter()
    status = main(["evaluate", str(path), "--rules", str(rules_dir)])
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err and "internal error" not in err
    assert err.startswith("nkb: error: ") and len(err) < LONGEST_MESSAGE
    assert not _RAW_CONTROL.search(err)
    assert field is None or field in err
    assert elapsed < SECONDS + 2  # the knowledge base is loaded in this time too


def test_a_duplicate_json_key_is_reported_like_yamls(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"anc": 400,\n "temperature": 38,\n "anc": 4000}')
    (tmp_path / "p.yaml").write_text("anc: 400\ntemperature: 38\nanc: 4000\n")
    messages = []
    for name in ("p.json", "p.yaml"):
        with pytest.raises(Exception) as info:
            read_patient(str(tmp_path / name))
        messages.append(str(info.value).splitlines()[1].replace(str(tmp_path), ""))
    assert messages == [
        "/p.json:3:2: error: duplicate key 'anc' (first written on line 1); JSON would "
        "silently keep only the last one: remove or rename one",
        "/p.yaml:3:1: error: anc: duplicate key 'anc' (first written on line 1); YAML would "
        "silently keep only the last one: remove or rename one"]


def test_a_name_with_control_characters_is_shown_escaped(kb) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        evaluate(kb, {"a\x1b[31mnc": 800})
    assert str(info.value).startswith("a\\x1b[31mnc: 800 is not allowed: it is not an input")


def test_a_long_value_is_cut_in_the_message(kb) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        evaluate(kb, {"on_chemotherapy": "y" * 1_000_000})
    assert str(info.value) == (f"on_chemotherapy: '{'y' * SHOWN_CHARS}… (1,000,000 characters)' "
                               "is not allowed: true or false (yes/no)")


def test_wrong_symptom_element_names_the_element(kb) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        evaluate(kb, {"symptoms": ["cough", ["fever"]]})
    assert str(info.value) == ("symptoms: ['cough', ['fever']] is not allowed: a list of symptom "
                               "ids (words), e.g. [fever, cough]; ['fever'] is not a word")


@pytest.mark.parametrize("written, message", [
    ("1e10000000", "is far too large"),
    ("1e-1000000", "is far too small"),
    ("1." + "1" * 30, "has too many digits"),
    ("NaN", "'NaN' is not a finite number"),
])
def test_written_numbers_are_bounded_before_conversion(written: str, message: str) -> None:
    for value in (written, Decimal(written)):
        start = time.perf_counter()
        with pytest.raises(ValueError, match=re.escape(message)):
            exact(value)
        assert time.perf_counter() - start < 0.05


def test_numbers_inside_the_bounds_are_exact() -> None:
    assert exact("1" * 21) == 10**21 // 9  # 21 digits: under 1e21
    assert exact("0." + "0" * 19 + "1") == Fraction(1, 10**20)
    assert exact("1." + "0" * 29) == 1  # 30 digits as written
    assert exact("0e-1000000") == 0 and exact(Decimal("-0E+99")) == 0


# (temperature, fever?), (anc as written, severity): each written the same way in both formats.
BOUNDARIES = [
    ("37.99999999999999999", False), ("38", True), ("38.0", True), ("38.00000000000000001", True),
    ("37.9999999", False), ("100.39999999999999999", None),
]
ANC_BOUNDARIES = [
    ("1499.9999999999999999", "mild"), ("1500", "normal"), ("1500.0", "normal"),
    ("499.99999999999999999", "severe"), ("500.00000000000000001", "moderate"),
    ("999.999999999999999999", "moderate"),
]


@pytest.mark.parametrize("temperature, fever", BOUNDARIES)
def test_json_and_yaml_decide_alike_at_the_fever_boundary(kb, tmp_path: Path, temperature: str,  # type: ignore[no-untyped-def]
                                                          fever: bool | None) -> None:
    results = []
    for name, text in (("p.json", f'{{"temperature": {temperature}, "symptoms": []}}'),
                       ("p.yaml", f"temperature: {temperature}\nsymptoms: []\n")):
        (tmp_path / name).write_text(text)
        try:
            results.append(evaluate(kb, read_patient(str(tmp_path / name))).fever)
        except InputError as exc:  # 100.4-ish is out of range in °C: refused alike
            results.append(str(exc))
    assert results[0] == results[1]
    if fever is not None:
        assert results[0] is fever


@pytest.mark.parametrize("anc, severity", ANC_BOUNDARIES)
def test_json_and_yaml_decide_alike_at_the_severity_boundaries(kb, tmp_path: Path, anc: str,  # type: ignore[no-untyped-def]
                                                               severity: str) -> None:
    decided = []
    for name, text in (("p.json", f'{{"anc": {anc}}}'), ("p.yaml", f"anc: {anc}\n")):
        (tmp_path / name).write_text(text)
        result = evaluate(kb, read_patient(str(tmp_path / name)))
        decided.append((result.severity, result.decision_json()["anc_cells_per_ul"]))
    assert decided[0] == decided[1] and decided[0][0] == severity
    assert Fraction(str(decided[0][1])) == Fraction(anc)  # the count as given, not a float's


@pytest.mark.parametrize("value, written, ratio", [
    (Fraction(1500), "1500", None), (Fraction(3795, 100), "37.95", None),
    (Fraction(-1, 2), "-0.5", None), (Fraction(1, 10**20), "0.00000000000000000001", None),
    (Fraction("37.99999999999999999"), "37.99999999999999999", None),
    # a repeating decimal is floored (never up across a threshold), the ratio kept beside it
    (Fraction(683, 18), "37.944444", "683/18"), (Fraction(-1, 3), "-0.333334", "-1/3"),
])
def test_output_numbers_are_exact(value: Fraction, written: str, ratio: str | None) -> None:
    out = json_number(value)
    assert dumps(out) == written  # a JSON number, with every digit
    back = json.loads(dumps(out), parse_float=Decimal)
    assert Fraction(back) == (value if ratio is None else Fraction(written))
    assert exact_ratio(value) == ratio
    if ratio is not None:
        assert Fraction(ratio) == value and Fraction(written) <= value


def test_a_whole_count_given_as_a_float_is_written_as_an_int(kb, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                              capsys: pytest.CaptureFixture[str],
                                                              rules_dir: Path) -> None:
    (tmp_path / "p.json").write_text('{"anc": 1500.0, "temperature": 37.99999999999999999, '
                                     '"symptoms": []}')
    assert main(["evaluate", str(tmp_path / "p.json"), "--format", "json",
                 "--rules", str(rules_dir)]) == 0
    out = capsys.readouterr().out
    assert '"anc_cells_per_ul": 1500,' in out
    data: dict[str, Any] = json.loads(out, parse_float=Decimal)
    assert data["fever"] is False and data["severity"] == "normal"
    assert '"value": 37.99999999999999999,' in out  # a number, every digit: not 38.0
    assert data["inputs"]["temperature"]["value"] == Decimal("37.99999999999999999")
