"""Fuzzing patient input: whatever a mapping or a file holds, the only error is the project's own
(InputError for a value, UsageError for an unreadable file), and output numbers read back exactly.

Each test is bounded: a few hundred examples with a per-example deadline, ~15 s in all."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neutropenia_kb import evaluate
from neutropenia_kb.core.json_text import dumps
from neutropenia_kb.core.problems import InputError, NkbError
from neutropenia_kb.core.units import JSON_PLACES, exact_ratio, json_number
from neutropenia_kb.engine.patient import read_json
from neutropenia_kb.engine.patient_file import read_patient

FUZZ = settings(max_examples=150, deadline=timedelta(seconds=1), derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# The values people and programs really send, and the ones issue 12 found crashing.
WORDS = st.sampled_from(["0.8 G/L", "800", "100.4 F", "38.2 °C", "fever", "cough;rash", "yes",
                         "no", "", " ", "NaN", "Infinity", "-inf", "1e10000000", "1e-1000000",
                         "1,500", "12 %", "0x10", "1_000", "sNaN", "\x1b[2J", "5 cells/mL"])
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(10**20, 10**200)
           | st.floats() | st.decimals() | st.fractions() | st.text(max_size=20) | WORDS)


def json_like(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(keys, inner, max_size=4), max_leaves=12)


def patients(names: list[str]) -> st.SearchStrategy[dict[Any, Any]]:
    keys = st.sampled_from([*names, "value", "unit", "id"]) | st.text(max_size=12)
    return st.dictionaries(keys, json_like(keys), max_size=6)


@FUZZ
@given(data=st.data())
def test_any_patient_mapping_gives_a_result_or_an_input_error(kb, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    names = [i.id for i in kb.inputs] + ["symptoms"]
    patient = data.draw(patients(names) | json_like(st.sampled_from(names)), label="patient")
    try:
        result = evaluate(kb, patient)
    except InputError as exc:
        assert len(str(exc)) < 1000
        return
    out = json.loads(dumps(result.to_json()), parse_float=Decimal)  # no NaN, exact numbers
    anc = out.get("anc_cells_per_ul")
    assert (anc is None) == (result.anc_cells_per_ul is None)
    if anc is not None:
        exact = result.anc_cells_per_ul
        ratio = exact_ratio(exact)
        if ratio is None:
            assert _read_back(anc) == exact
        else:  # a count with no finite decimal (a Fraction through the API): floored, ratio kept
            assert 0 <= exact - _read_back(anc) < Fraction(1, 10**JSON_PLACES)
            assert out["inputs"]["anc"]["exact"] == ratio


def _json_text(value: Any) -> str:
    """JSON as a program might write it, NaN and Infinity tokens and long numbers included."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_json_text(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    if isinstance(value, (Decimal, Fraction)):
        return json.dumps(str(value)) if isinstance(value, Fraction) or value.is_snan() \
            else str(value).replace("E", "e").replace("e+", "e")  # Decimal: NaN, Infinity, 1e5
    return json.dumps(value)


@FUZZ
@given(data=st.data())
def test_any_patient_file_gives_a_result_or_a_usage_or_input_error(  # type: ignore[no-untyped-def]
        kb, tmp_path: Path, data: st.DataObject) -> None:
    names = [i.id for i in kb.inputs] + ["symptoms"]
    patient = data.draw(patients(names), label="patient")
    text = _json_text(patient)
    suffix = data.draw(st.sampled_from([".json", ".yaml"]), label="suffix")
    cut = data.draw(st.integers(0, len(text)), label="cut")  # also as a broken file
    raw = data.draw(st.sampled_from([text, text[:cut], text[:cut] + "[" * 1200]), label="raw")
    path = tmp_path / f"p{suffix}"
    path.write_bytes(raw.encode("utf-8", "surrogatepass"))
    try:
        evaluate(kb, read_patient(str(path)))
    except NkbError as exc:
        assert exc.exit_code == 2 and len(str(exc)) < 1000


@FUZZ
@given(text=st.text(alphabet='{}[]":,0123456789.eE-+ \nNaIfinytrulsf\\', max_size=60))
def test_json_text_is_read_or_refused_as_json(text: str) -> None:
    try:
        read_json(text)
    except json.JSONDecodeError:
        pass


def _read_back(number: Any) -> Fraction:
    return Fraction(number) if isinstance(number, (int, str, Decimal)) else Fraction(repr(number))


@settings(max_examples=300, deadline=timedelta(seconds=1), derandomize=True)
@given(value=st.fractions(max_denominator=10**12) | st.decimals(places=25, allow_nan=False,
                                                                 allow_infinity=False).map(Fraction))
def test_output_numbers_read_back_exactly(value: Fraction) -> None:
    back = _read_back(json.loads(dumps(json_number(value)), parse_float=Decimal))
    ratio = exact_ratio(value)
    if ratio is None:
        assert back == value
    else:  # a repeating decimal: floored to JSON_PLACES places, the exact ratio beside it
        assert Fraction(ratio) == value and 0 <= value - back < Fraction(1, 10**JSON_PLACES)
