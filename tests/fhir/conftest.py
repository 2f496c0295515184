"""Fixtures of the FHIR tests: the ELM library of the real knowledge base, and its file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from neutropenia_kb import evaluator_for
from neutropenia_kb.engine.elm_backend import ElmLibrary, compile_elm
from neutropenia_kb.serve.fhir_input import UCUM_UNITS


@pytest.fixture(scope="session")
def elm_library(kb: Any) -> ElmLibrary:
    return compile_elm(evaluator_for(kb).program, UCUM_UNITS)


@pytest.fixture(scope="session")
def elm_file(elm_library: ElmLibrary, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("elm") / "library.json"
    path.write_text(json.dumps(elm_library.elm), encoding="utf-8")
    return path
