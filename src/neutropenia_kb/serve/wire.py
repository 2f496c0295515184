"""What goes over the wire: strict JSON in, exact JSON out, and the error answers.

Shared by the Starlette routes (app.py) and the plain ASGI path of the two busy endpoints
(hot.py), so that both answer a given request byte for byte alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Mapping

from neutropenia_kb.core.json_text import DuplicateKey, dumps, loads, number_text
from neutropenia_kb.core.problems import InputError, show_value
from neutropenia_kb.core.units import json_number
from neutropenia_kb.engine.evaluate import Result
from neutropenia_kb.engine.explain import Finding
from neutropenia_kb.serve.cds import PreconditionFailed
from neutropenia_kb.serve.security import AuthError

JSON = "application/json"
FHIR_JSON = "application/fhir+json"


class TooLarge(Exception):
    pass


class UnsupportedType(Exception):
    pass


@dataclass(frozen=True)
class Reply:
    """An answer before it is sent: status, JSON text, media type and any extra headers."""
    text: str
    status: int = 200
    media_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)


def check_body_head(content_type: str | None, content_length: str | None, limit: int) -> None:
    """What the headers already tell: 415 unless the body is JSON, 413 if it says it is too
    large. The body itself is counted as it comes (``limit`` again)."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype != JSON and not ctype.endswith("+json"):
        # Also keeps other sites' plain HTML forms (no CORS preflight) from posting here.
        raise UnsupportedType(f"send the body as Content-Type: application/json, not "
                              f"{show_value(ctype or 'none', 40)!r}")
    if content_length and content_length.isdigit() and int(content_length) > limit:
        raise TooLarge(f"the body has {int(content_length):,} bytes; the limit is {limit:,}")


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"the body has more than {limit:,} bytes, the limit")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: exact decimals (FHIR decimals and patient values are never floats here), no
    NaN or Infinity, no key written twice (which of the two would count?)."""
    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number JSON allows")

    try:
        return loads(raw.decode("utf-8"), parse_constant=no_constant)
    except UnicodeDecodeError:
        raise InputError("body", "(bytes)", "JSON text in UTF-8") from None
    except (ValueError, RecursionError) as exc:
        problem = f"the key {show_value(exc.key, 40)!r} is written twice" \
            if isinstance(exc, DuplicateKey) else str(exc)
        raise InputError("body", show_value(raw.decode("utf-8", "replace"), 60),
                         f"valid JSON ({show_value(problem, 120)})") from None


def failure(fhir: bool, exc: Exception) -> Reply | None:
    """The answer to an expected failure (a 4xx naming what is wrong), or None for a bug.
    ``fhir``: a CDS Hooks endpoint, which answers with a FHIR OperationOutcome."""
    if isinstance(exc, AuthError):
        return error(fhir, 401, "login", str(exc),
                     headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if isinstance(exc, TooLarge):
        return error(fhir, 413, "too-long", str(exc))
    if isinstance(exc, UnsupportedType):
        return error(fhir, 415, "not-supported", str(exc))
    if isinstance(exc, PreconditionFailed):
        return error(fhir, 412, "incomplete", str(exc))
    if isinstance(exc, InputError):
        return error(fhir, 400, "invalid", _message(exc), exc)
    return None


def internal_error(fhir: bool) -> Reply:
    return error(fhir, 500, "exception", "internal error in the service; it has been logged")


def error(fhir: bool, status: int, code: str, message: str, exc: InputError | None = None,
          headers: Mapping[str, str] | None = None) -> Reply:
    if fhir:
        issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": message}
        if exc is not None:
            issue["expression"] = [exc.field]
        return Reply(json_text({"resourceType": "OperationOutcome", "issue": [issue]}), status,
                     FHIR_JSON, dict(headers or {}))
    body: dict[str, Any] = {"error": message}
    if exc is not None:
        body.update(field=exc.field, value=shown(exc.value), allowed=exc.allowed)
    return Reply(json_text(body), status, JSON, dict(headers or {}))


def _message(exc: InputError) -> str:
    return f"{exc.field}: {show_value(_plain(exc.value))} is not allowed: {exc.allowed}"


def shown(value: Any) -> Any:
    """A value quoted back: JSON scalars as they were, anything large or nested as cut text."""
    value = _plain(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return show_value(value if isinstance(value, str) else json.dumps(value, default=str))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite() or abs(value.adjusted()) > 20:
            # As written: int(Decimal('1e999999999')) would build a billion-digit number (the
            # request hung), and float() of it is infinity, which JSON cannot carry.
            return str(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Fraction):
        return float(value)
    return value


def default(value: Any) -> Any:
    if isinstance(value, Fraction):
        return json_number(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON")


class _NotShort(Exception):
    """A Decimal whose digits no float repr writes (e.g. 37.99999999999999999)."""


def _short_number(value: Any) -> Any:
    """A Decimal as the int or float whose repr is exactly its digits (what core.json_text
    writes), so that the C encoder can write it; anything else as ``default`` does."""
    if isinstance(value, Decimal):
        text = number_text(value)
        number: int | float = int(value) if "." not in text else float(value)
        if repr(number) != text:
            raise _NotShort
        return number
    return default(value)


# The standard library's C encoder: half the time of core.json_text's pure-Python one on a
# result with its findings (0.5 against 1.0 ms for 18 KB, a fifth of a request before). Output
# byte-identical: it is used only when every Decimal's digits are some float's repr; otherwise
# core.json_text writes the document (tests/serve/test_json_text.py).
_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                           default=_short_number).encode


def json_text(data: Any) -> str:
    """``core.json_text.dumps(data, compact=True)``: exact numbers, as nkb evaluate writes them."""
    try:
        return _ENCODE(data)
    except _NotShort:
        return dumps(data, compact=True, default=default)


class ResultWriter:
    """``json_text(result.to_json())``, byte for byte, at about half the cost: a finding's id,
    kind, title and sources are the knowledge base's, so each item's are written once (kept by
    item id: as many as the knowledge base has items) and only its ``because`` and ``certain``
    per result. Writing the findings was most of the encoder's time, itself a third of a
    request to POST /evaluate (tests/serve/test_json_text.py holds the two writers equal)."""

    def __init__(self) -> None:
        self._fixed: dict[str, tuple[str, str]] = {}

    def text(self, result: Result) -> str:
        head = json_text(result.to_json(findings=False))  # "findings" is to_json's last key
        findings = ",".join(self._finding(f) for f in result.findings)
        return f'{head[:-1]},"findings":[{findings}]}}'

    def many(self, results: list[Result]) -> str:
        """``json_text({"results": [r.to_json() for r in results]})``."""
        return '{"results":[' + ",".join(self.text(r) for r in results) + "]}"

    def _finding(self, finding: Finding) -> str:
        fixed = self._fixed.get(finding.id)
        if fixed is None:
            whole = finding.to_json()
            fixed = self._fixed[finding.id] = (
                json_text({k: whole[k] for k in ("id", "kind", "title")})[:-1] + ',"because":',
                ',"sources":' + json_text(whole["sources"]) + "}")
        return (fixed[0] + _encode_string(finding.because)
                + (',"certain":true' if finding.certain else ',"certain":false') + fixed[1])


# What the encoder above writes for a str (ensure_ascii=False): the same C function.
_encode_string = json.encoder.encode_basestring
