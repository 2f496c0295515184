"""The HTTP application of `nkb serve`: CDS Hooks endpoints, the plain JSON API, and their guards.

Every answer is JSON we built (or a PDF): a bad request is a 400 naming the field, the value and
what is allowed; an unexpected failure is a generic 500 whose traceback goes to the server's log
only. CDS Hooks endpoints answer errors as FHIR OperationOutcomes, the JSON API as
``{error, field, value, allowed}``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from neutropenia_kb import __version__, evaluator_for
from neutropenia_kb.core.json_text import DuplicateKey, dumps, loads, number_text
from neutropenia_kb.core.problems import InputError, show_value
from neutropenia_kb.core.units import json_number
from neutropenia_kb.serve import cds
from neutropenia_kb.serve.config import ServeConfig
from neutropenia_kb.serve.openapi import document
from neutropenia_kb.serve.security import AuthError, JwtVerifier

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase

Handler = Callable[[Request], Awaitable[Response]]
LEAFLET_OPTIONS = {"size", "large_print"}


class TooLarge(Exception):
    pass


class UnsupportedType(Exception):
    pass


def make_app(kb: "KnowledgeBase", config: ServeConfig, base_url: str) -> Starlette:
    """``base_url``: the service's public address, the prefix of every JWT audience and link."""
    from neutropenia_kb.kb.fingerprint import fingerprint

    verifier = JwtVerifier(config) if config.auth_required else None
    version = {"nkb": __version__, "knowledge_base": {"id": kb.meta.id, "title": kb.meta.title,
                                                      "version": kb.meta.version},
               "decisions_fingerprint": fingerprint(kb)}
    # What depends only on the knowledge base and the settings is written once.
    version_text = json_text(version)
    openapi_text = json_text(document(kb, config))
    discovery_text = json_text(cds.discovery(kb))
    pages = cds.page_names(kb)
    # Compiled and parsed now, once, rather than by the first requests (racing in the pool).
    evaluator_for(kb).authored  # noqa: B018
    leaflets = asyncio.Semaphore(config.max_leaflets_at_once)

    def guarded(handler: Handler, protected: bool = True) -> Handler:
        async def run(request: Request) -> Response:
            fhir = request.url.path.startswith("/cds-services")
            try:
                if protected and verifier is not None:
                    verifier.verify(request.headers.get("authorization"),
                                    base_url + request.url.path)
                return await handler(request)
            except AuthError as exc:
                return _error(fhir, 401, "login", str(exc),
                              headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            except TooLarge as exc:
                return _error(fhir, 413, "too-long", str(exc))
            except UnsupportedType as exc:
                return _error(fhir, 415, "not-supported", str(exc))
            except cds.PreconditionFailed as exc:
                return _error(fhir, 412, "incomplete", str(exc))
            except InputError as exc:
                return _error(fhir, 400, "invalid", _message(exc), exc)
        return run

    async def get_discovery(request: Request) -> Response:
        return _text(discovery_text)

    # The engine runs in Starlette's thread pool, not on the event loop. Measured with
    # benchmarks/serve.py --baseline (50 clients, the machine shared with other work): the same
    # server CPU per request (2.5 ms) either way, and 2-2.4x the requests/s with the pool, p99
    # 1.0-1.2 s against 1.4-2.1 s inline: the loop keeps reading and writing sockets while a
    # decision is worked out, and a busy machine's scheduler gives the process more turns.
    async def post_hook(request: Request) -> Response:
        body = await _body_json(request, config.max_body_bytes)
        return await run_in_threadpool(hook_cards, body, dt.datetime.now(dt.timezone.utc))

    def hook_cards(body: Any, now: dt.datetime) -> Response:
        _, data = cds.read_request(kb, body, config, now)
        if not cds.has_results(data):
            return _json({"cards": [cds.no_results_card(kb, data, config)]})
        result = evaluator_for(kb).evaluate(data.mapping)
        return _json({"cards": cds.cards(kb, result, data, config, base_url, pages)})

    async def post_evaluate(request: Request) -> Response:
        body = await _body_json(request, config.max_body_bytes)
        return await run_in_threadpool(evaluate, body)

    def evaluate(body: Any) -> Response:
        if isinstance(body, Mapping) and "patients" in body and "patients" not in kb.input_by_id:
            patients = body["patients"]
            if set(body) != {"patients"} or not isinstance(patients, list):
                raise InputError("patients", _shown(patients), "a list of patient objects, "
                                 "alone in the request: {\"patients\": [{...}, ...]}")
            if len(patients) > config.max_batch:
                raise InputError("patients", f"{len(patients)} patients",
                                 f"at most {config.max_batch} patients in one request")
            results = []
            for i, patient in enumerate(patients):
                try:
                    results.append(evaluator_for(kb).evaluate(patient).to_json())
                except InputError as exc:
                    raise InputError(f"patients[{i}].{exc.field}", exc.value,
                                     exc.allowed) from None
            return _json({"results": results})
        return _json(evaluator_for(kb).evaluate(body).to_json())

    async def get_leaflet(request: Request) -> Response:
        from neutropenia_kb.render.leaflet import render_personal
        from neutropenia_kb.render.leaflet_table import Variant

        patient: dict[str, str] = {}
        for key, value in request.query_params.multi_items():
            if key in patient:
                raise InputError(key, value, "one value per input (the name is repeated)")
            patient[key] = value
        size = patient.pop("size", "a4")
        if size not in ("a4", "letter"):
            raise InputError("size", size, "a4 or letter")
        large = patient.pop("large_print", "false").lower()
        if large not in ("true", "false"):
            raise InputError("large_print", large, "true or false")
        result = evaluator_for(kb).evaluate(patient)
        variant = Variant(size, large == "true")  # type: ignore[arg-type]
        async with leaflets:  # layouts take about a second each: a few at a time
            pdf = await run_in_threadpool(render_personal, kb, result, variant)
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": 'inline; filename="neutropenia-leaflet.pdf"',
            "Cache-Control": "no-store"})

    async def get_health(request: Request) -> Response:
        return _json({"status": "ok"})

    async def get_version(request: Request) -> Response:
        return _text(version_text)

    async def get_openapi(request: Request) -> Response:
        return _text(openapi_text)

    routes = [
        Route("/cds-services", guarded(get_discovery), methods=["GET"]),
        Route(f"/cds-services/{cds.SERVICE_ID}", guarded(post_hook), methods=["POST"]),
        Route("/evaluate", guarded(post_evaluate), methods=["POST"]),
        # Opened by a clinician's browser from a card link, which cannot carry a bearer token;
        # the PDF is a pure function of the query: it reveals nothing the link does not hold.
        Route("/leaflet", guarded(get_leaflet, protected=False), methods=["GET"]),
        Route("/health", get_health, methods=["GET"]),
        Route("/version", get_version, methods=["GET"]),
        Route("/openapi.json", get_openapi, methods=["GET"]),
    ]
    middleware = []
    if config.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                                     allow_methods=["GET", "POST"],
                                     allow_headers=["Authorization", "Content-Type"]))
    return Starlette(routes=routes, middleware=middleware, exception_handlers={
        HTTPException: _http_error, Exception: _internal_error})


async def _body_json(request: Request, limit: int) -> Any:
    """The body as JSON, decimals kept exact; 413 past ``limit`` bytes, counted as they come."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        # Also keeps other sites' plain HTML forms (no CORS preflight) from posting here.
        raise UnsupportedType(f"send the body as Content-Type: application/json, not "
                              f"{show_value(ctype or 'none', 40)!r}")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the body has {int(declared):,} bytes; the limit is {limit:,}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the body has more than {limit:,} bytes, the limit")
        chunks.append(chunk)
    return parse_json(b"".join(chunks))


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


def _message(exc: InputError) -> str:
    return f"{exc.field}: {show_value(_plain(exc.value))} is not allowed: {exc.allowed}"


def _error(fhir: bool, status: int, code: str, message: str, exc: InputError | None = None,
           headers: Mapping[str, str] | None = None) -> Response:
    if fhir:
        issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": message}
        if exc is not None:
            issue["expression"] = [exc.field]
        return _json({"resourceType": "OperationOutcome", "issue": [issue]}, status, headers,
                     media_type="application/fhir+json")
    body: dict[str, Any] = {"error": message}
    if exc is not None:
        body.update(field=exc.field, value=_shown(exc.value), allowed=exc.allowed)
    return _json(body, status, headers)


def _shown(value: Any) -> Any:
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


def _default(value: Any) -> Any:
    if isinstance(value, Fraction):
        return json_number(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON")


class _NotShort(Exception):
    """A Decimal whose digits no float repr writes (e.g. 37.99999999999999999)."""


def _short_number(value: Any) -> Any:
    """A Decimal as the int or float whose repr is exactly its digits (what core.json_text
    writes), so that the C encoder can write it; anything else as _default does."""
    if isinstance(value, Decimal):
        text = number_text(value)
        number: int | float = int(value) if "." not in text else float(value)
        if repr(number) != text:
            raise _NotShort
        return number
    return _default(value)


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
        return dumps(data, compact=True, default=_default)


def _text(text: str) -> Response:
    return Response(text, media_type="application/json")


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None,
          media_type: str = "application/json") -> Response:
    return Response(json_text(data), status_code=status, headers=dict(headers or {}),
                    media_type=media_type)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    fhir = request.url.path.startswith("/cds-services")
    code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "processing")
    message = {404: f"no such address: {show_value(request.url.path, 80)}",
               405: f"{request.method} is not allowed here"}.get(exc.status_code, str(exc.detail))
    return _error(fhir, exc.status_code, code, message, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this answer, so the server logs the traceback; the caller only
    # learns that it was our fault.
    fhir = request.url.path.startswith("/cds-services")
    return _error(fhir, 500, "exception", "internal error in the service; it has been logged")
