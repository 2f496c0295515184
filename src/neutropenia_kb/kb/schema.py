"""Check each rules/*.yaml file against its JSON Schema and say what is wrong in plain words.

jsonschema finds the faults; this module turns each one into a Problem placed at the offending
node (or key) with a sentence an author can act on, instead of a regex or a dict dump.
"""

from __future__ import annotations

import calendar
import json
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Mapping

import referencing
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing.jsonschema import DRAFT202012

from neutropenia_kb.core.problems import SHOWN_CHARS, Problem, did_you_mean, show_value
from neutropenia_kb.kb.loader import Doc, PathKey, format_path


def schema_dir() -> Path:
    """schema/ of an installed wheel (packaged as neutropenia_kb/schema), else of the checkout."""
    packaged = resources.files("neutropenia_kb").joinpath("schema")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "schema"


@lru_cache(maxsize=None)
def schemas() -> Mapping[str, dict[str, Any]]:
    """Every schema by name ('causes', 'defs', ...), read once."""
    folder = schema_dir()
    return {p.name.removesuffix(".schema.json"): json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(folder.glob("*.schema.json"))}


@lru_cache(maxsize=None)
def _registry() -> referencing.Registry[Any]:
    # Schemas carry relative $id values ("causes.schema.json"); registering them under those ids
    # resolves "defs.schema.json#/$defs/id" locally, so nothing is ever fetched.
    return referencing.Registry().with_resources(
        (s["$id"], DRAFT202012.create_resource(s)) for s in schemas().values() if "$id" in s)


@lru_cache(maxsize=None)
def validator(kind: str) -> Draft202012Validator:
    """The compiled validator of one file kind, built once per process. Formats are checked
    (a "date" must be a real day), which JSON Schema leaves off by default."""
    return Draft202012Validator(schemas()[kind], registry=_registry(),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def resolve(kind: str, node: Any) -> Any:
    """``node``, a part of schema/<kind>.schema.json, with its "$ref" followed to what it
    names (in that file or in defs.schema.json)."""
    resolver = _registry().resolver(base_uri=schemas()[kind].get("$id", ""))
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        found = resolver.lookup(node["$ref"])
        node, resolver = found.contents, found.resolver
    return node


def check_doc(kind: str, doc: Doc) -> list[Problem]:
    """Every schema violation of one file, each placed and worded for an author."""
    errors = list(validator(kind).iter_errors(doc.data))
    # A value outside an enum also breaks the id pattern; the enum message (with its "did you
    # mean") is the one that helps, so the pattern one is dropped for that value.
    enums = {tuple(e.absolute_path) for e in errors if e.validator == "enum"}
    # Likewise a date of the wrong shape is no real date either: the pattern says how to write it.
    patterns = {tuple(e.absolute_path) for e in errors if e.validator == "pattern"}
    problems: list[Problem] = []
    for error in errors:
        if error.validator == "pattern" and tuple(error.absolute_path) in enums:
            continue
        if error.validator == "format" and tuple(error.absolute_path) in patterns:
            continue
        problems.extend(_explain(doc, error))
    return problems


# ---- turning one ValidationError into words ------------------------------------------------


def _explain(doc: Doc, error: ValidationError) -> Iterator[Problem]:
    if error.validator in ("oneOf", "anyOf") and error.context:
        # Show the one alternative that came closest, not a dump of every branch.
        yield from _explain(doc, best_match(error.context))
        return
    where: PathKey = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    check = error.validator
    if check == "additionalProperties" and isinstance(value, dict):
        allowed = list(schema.get("properties", {}))
        for key in value:
            if key in allowed:
                continue
            line, column = doc.mark(where + (key,), key=True)
            hint = did_you_mean(key, allowed) if len(key) <= SHOWN_CHARS else ""
            yield Problem(doc.path, line, column, format_path(where),
                          f"unknown key '{show_value(key)}'{hint} "
                          f"(allowed: {', '.join(allowed)})")
        return
    if check == "required" and isinstance(value, dict):
        allowed = list(schema.get("properties", {}))
        strays = [k for k in value if k not in allowed]
        required: list[str] = list(schema.get("required", []))
        for name in required:
            if name in value or any(did_you_mean(k, [name]) for k in strays):
                continue  # a misspelt key already says "did you mean '<name>'?"
            about = _first_sentence(schema.get("properties", {}).get(name, {}).get("description", ""))
            yield doc.problem(where, f"missing required key '{name}'" + (f" ({about})" if about else ""))
        return
    yield doc.problem(where, _sentence(check, error.validator_value, value, schema))


def _sentence(check: object, expected: Any, value: Any, schema: Mapping[str, Any]) -> str:
    noun = str(schema.get("title") or "value")
    if check == "type":
        return _type_sentence(expected, value)
    if check == "enum":
        choices = [str(c) for c in expected]
        hint = did_you_mean(str(value), choices) if len(str(value)) <= SHOWN_CHARS else ""
        return (f"{_show(value)} is not one of the {noun.lower()}s{hint} "
                f"(allowed: {', '.join(choices)})")
    if check == "const":
        return f"{_show(value)} is not allowed here; write {_show(expected)}"
    if check == "pattern":
        hint = schema.get("patternErrorMessage", "see the description of this field")
        return f"{_show(value)} is not a valid {noun.lower()}: {hint}"
    if check == "minLength":
        return "this is empty; write some words or remove the key"
    if check == "maxLength":
        return f"this is too long: at most {expected} characters"
    if check == "minItems":
        return ("this list is empty; add at least one entry" if expected == 1
                else f"this list needs at least {expected} entries")
    if check == "maxItems":
        return f"this list may hold at most {expected} entries"
    if check == "uniqueItems" and isinstance(value, list):
        seen: set[str] = set()
        twice = [v for v in map(str, value) if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
        return f"'{show_value(twice[0])}' is listed twice; keep one" if twice else \
            "entries are repeated"
    if check == "minimum":
        return f"{_show(value)} is too small: the lowest allowed is {expected}"
    if check == "maximum":
        return f"{_show(value)} is too large: the highest allowed is {expected}"
    if check == "exclusiveMinimum":
        return f"{_show(value)} is too small: it must be more than {expected}"
    if check == "exclusiveMaximum":
        return f"{_show(value)} is too large: it must be less than {expected}"
    if check == "not":
        return f"{_show(value)} is not allowed here"
    if check == "format" and expected == "date":
        return f"{_show(value)} is not a real date; write it as YYYY-MM-DD, e.g. {_real_date(value)}"
    return f"this {noun.lower()} does not fit the rules of the schema ({check})"


_EXPECTED = {"object": "a mapping (key: value lines)", "array": "a list", "string": "text",
             "number": "a number", "integer": "a whole number", "boolean": "true or false",
             "null": "nothing"}


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _type_sentence(expected: Any, value: Any) -> str:
    wanted = expected if isinstance(expected, list) else [expected]
    text = f"expected {' or '.join(_EXPECTED.get(str(w), str(w)) for w in wanted)}, got {_kind_of(value)}"
    if "string" in wanted and isinstance(value, bool):
        return text + " (YAML reads yes/no/on/off as true/false); put the value in quotes"
    if "string" in wanted and isinstance(value, (int, Decimal)):
        return text + f"; put it in quotes: \"{value}\""
    if value is None:
        return text + "; write a value after the colon or remove the key"
    if "array" in wanted and isinstance(value, str):
        return text + f"; write it as a list: [{show_value(value)}]"
    return text


def _real_date(value: Any) -> str:
    """The last day of the month written (the pattern has checked year and month), so
    '2027-02-30' suggests 2027-02-28."""
    year, month = (int(part) for part in str(value).split("-")[:2])
    return f"{year:04d}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{show_value(value)}'"
    if isinstance(value, (dict, list)):
        return _kind_of(value)
    return str(value)


def _first_sentence(description: str) -> str:
    first = description.split(". ")[0].split(": ")[0].rstrip(".")
    return first[:1].lower() + first[1:]
