"""Running the ELM library with the reference CQL engine (cql-execution, installed by `npm ci`
in scripts/setup --test), and the CQL parameters of a parsed patient."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping, Sequence

from neutropenia_kb.engine.elm_backend import ElmLibrary
from neutropenia_kb.engine.patient import Patient

HERE = Path(__file__).parent
REPO = HERE.parents[1]
RUNNER = HERE / "run_elm.js"


def run_elm(elm_file: Path, patients: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every define of the library for each parameter set, as cql-execution computes it."""
    node = shutil.which("node")
    assert node, "node is missing: run scripts/setup --test"
    assert (REPO / "node_modules" / "cql-execution").is_dir(), \
        "cql-execution is missing: run scripts/setup --test (npm ci)"
    done = subprocess.run([node, str(RUNNER), str(elm_file)], input=json.dumps(patients),
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    out: list[dict[str, Any]] = json.loads(done.stdout)
    assert len(out) == len(patients)
    return out


def decimal_text(value: Fraction | int) -> str:
    """Exact decimal text of a value that was written as a decimal."""
    value = Fraction(value)
    places = 0
    while (value * 10 ** places).denominator != 1:
        places += 1
        assert places <= 40, f"{value} was not written as a decimal"
    return str(Decimal(int(value * 10 ** places)).scaleb(-places))


def parameters(library: ElmLibrary, patient: Patient) -> dict[str, Any]:
    """The CQL parameters for a parsed patient: quantities in the unit and digits given, coded
    in UCUM; what was worked out (the ANC from a blood count) is left to the library."""
    out: dict[str, Any] = {}
    inputs = library.program.input_by_id
    for param in library.parameters:
        name = param.input
        if name in patient.given:
            number, unit = patient.given[name]
            if param.cql_type == "Quantity":
                default = inputs[name].default_unit
                unit_name = unit.name if unit is not None else default.name  # type: ignore[union-attr]
                out[name] = {"value": decimal_text(number), "unit": param.units[unit_name][0]}
            else:
                out[name] = decimal_text(number)
        elif name in patient.values and param.cql_type in ("Boolean", "List<String>"):
            value = patient.values[name]
            out[name] = sorted(value) if isinstance(value, frozenset) else value
    return out
