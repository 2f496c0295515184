"""The schemas are the authors' reference: valid draft 2020-12, each with $id, and every
property described; they resolve each other locally, with nothing fetched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from jsonschema import Draft202012Validator

from neutropenia_kb.kb.kinds import FILES as KINDS
from neutropenia_kb.kb.schema import schema_dir, schemas, validator

SCHEMA_FILES = sorted(schema_dir().glob("*.schema.json"))


def test_one_schema_per_file_kind() -> None:
    names = {p.name.removesuffix(".schema.json") for p in SCHEMA_FILES}
    assert set(KINDS) <= names


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_with_relative_id(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(path.name)
    if any(not ref.startswith("#") for ref in _refs(schema)):
        # A relative $id keeps "defs.schema.json" next to the file an editor opened by path;
        # an absolute one would send the editor to the network for it.
        assert schema["$id"] == path.name


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _properties(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            yield f"{where}.{name}", prop
        for key, value in node.items():
            if key != "if":  # a condition's "properties" only test values; they define none
                yield from _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{where}[{i}]")


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_property_has_title_and_description(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    if path.name == "case.schema.json":
        missing = [w for w, p in _properties(schema) if not p.get("description")]
    else:
        missing = [w for w, p in _properties(schema)
                   if not (p.get("description") and p.get("title"))]
    assert missing == []


def test_closed_mappings_everywhere() -> None:
    """additionalProperties: false on every object with properties, so typos never vanish."""
    open_objects = [(name, where) for name, schema in schemas().items() if name in KINDS
                    for where, node in _objects(schema)
                    if node.get("additionalProperties") is not False]
    assert open_objects == []


def _objects(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "properties" in node and node.get("type") == "object":
            yield where, node
        for key, value in node.items():
            yield from _objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, f"{where}[{i}]")


def test_cross_file_references_resolve_locally() -> None:
    errors = list(validator("symptoms").iter_errors({"symptoms": [{"id": "Bad-Id"}]}))
    assert any(e.validator == "pattern" for e in errors)  # the pattern lives in defs.schema.json
