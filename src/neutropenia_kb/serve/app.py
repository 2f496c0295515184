"""The HTTP application of `nkb serve`: CDS Hooks endpoints, the plain JSON API, and their guards.

Every answer is JSON we built (or a PDF): a bad request is a 400 naming the field, the value and
what is allowed; an unexpected failure is a generic 500 whose traceback goes to the server's log
only. CDS Hooks endpoints answer errors as FHIR OperationOutcomes, the JSON API as
``{error, field, value, allowed}`` (wire.py). The hook and POST /evaluate, the busy ones, are
answered by hot.py as plain ASGI; every other address by Starlette.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from neutropenia_kb import __version__, evaluator_for
from neutropenia_kb.core.problems import InputError, show_value
from neutropenia_kb.serve import cds
from neutropenia_kb.serve.config import ServeConfig
from neutropenia_kb.serve.hot import App, HotPaths
from neutropenia_kb.serve.openapi import document
from neutropenia_kb.serve.security import JwtVerifier
from neutropenia_kb.serve.wire import Reply, ResultWriter, error, failure, internal_error, json_text, shown

if TYPE_CHECKING:
    from neutropenia_kb.kb.model import KnowledgeBase

Handler = Callable[[Request], Awaitable[Response]]
LEAFLET_OPTIONS = {"size", "large_print"}
# A batch of more patients than this is worked out in the thread pool, so that the event loop
# keeps answering the other connections meanwhile; one patient or a hook (about a millisecond)
# is worked out inline: 1.45-1.60 ms of server CPU per request against 1.67-1.71 in the pool
# (benchmarks/serve.py, side by side), no thread hand-off or GIL ping-pong (DESIGN.md).
INLINE_PATIENTS = 1


def make_app(kb: "KnowledgeBase", config: ServeConfig, base_url: str) -> App:
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
    texts = cds.KbTexts(kb)
    templates = cds.prefetch_templates(kb)
    evaluator = evaluator_for(kb)
    # Parsed now, once, rather than by the first requests.
    evaluator.authored  # noqa: B018
    leaflets = asyncio.Semaphore(config.max_leaflets_at_once)
    writer = ResultWriter()

    def guarded(handler: Handler, protected: bool = True) -> Handler:
        async def run(request: Request) -> Response:
            fhir = request.url.path.startswith("/cds-services")
            try:
                if protected and verifier is not None:
                    verifier.verify(request.headers.get("authorization"),
                                    base_url + request.url.path)
                return await handler(request)
            except Exception as exc:
                reply = failure(fhir, exc)
                if reply is None:
                    raise
                return _response(reply)
        return run

    async def get_discovery(request: Request) -> Response:
        return _text(discovery_text)

    def hook_cards(body: Any) -> str:
        _, data = cds.read_request(kb, body, config, dt.datetime.now(dt.timezone.utc), templates)
        if not cds.has_results(data):
            return json_text({"cards": [cds.no_results_card(kb, data, config)]})
        result = evaluator.evaluate(data.mapping)
        return json_text({"cards": cds.cards(kb, result, data, config, base_url, texts)})

    def evaluate(body: Any) -> str:
        if isinstance(body, Mapping) and "patients" in body and "patients" not in kb.input_by_id:
            patients = body["patients"]
            if set(body) != {"patients"} or not isinstance(patients, list):
                raise InputError("patients", shown(patients), "a list of patient objects, "
                                 "alone in the request: {\"patients\": [{...}, ...]}")
            if len(patients) > config.max_batch:
                raise InputError("patients", f"{len(patients)} patients",
                                 f"at most {config.max_batch} patients in one request")
            results = []
            for i, patient in enumerate(patients):
                try:
                    results.append(evaluator.evaluate(patient))
                except InputError as exc:
                    raise InputError(f"patients[{i}].{exc.field}", exc.value,
                                     exc.allowed) from None
            return writer.many(results)
        return writer.text(evaluator.evaluate(body))

    def a_batch(body: Any) -> bool:
        patients = body.get("patients") if isinstance(body, Mapping) else None
        return isinstance(patients, list) and len(patients) > INLINE_PATIENTS

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
        result = evaluator.evaluate(patient)
        variant = Variant(size, large == "true")  # type: ignore[arg-type]
        async with leaflets:  # layouts take about a second each: a few at a time
            pdf = await run_in_threadpool(render_personal, kb, result, variant)
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": 'inline; filename="neutropenia-leaflet.pdf"',
            "Cache-Control": "no-store"})

    async def get_health(request: Request) -> Response:
        return _text(json_text({"status": "ok"}))

    async def get_version(request: Request) -> Response:
        return _text(version_text)

    async def get_openapi(request: Request) -> Response:
        return _text(openapi_text)

    async def post_elsewhere(request: Request) -> Response:
        # Never reached: hot.py answers POST to these two; the routes are here so that other
        # methods get a 405 rather than a 404.
        raise HTTPException(405)

    hook_path = f"/cds-services/{cds.SERVICE_ID}"
    routes = [
        Route("/cds-services", guarded(get_discovery), methods=["GET"]),
        Route(hook_path, post_elsewhere, methods=["POST"]),
        Route("/evaluate", post_elsewhere, methods=["POST"]),
        # Opened by a clinician's browser from a card link, which cannot carry a bearer token;
        # the PDF is a pure function of the query: it reveals nothing the link does not hold.
        Route("/leaflet", guarded(get_leaflet, protected=False), methods=["GET"]),
        Route("/health", get_health, methods=["GET"]),
        Route("/version", get_version, methods=["GET"]),
        Route("/openapi.json", get_openapi, methods=["GET"]),
    ]
    middleware = []
    cors: Callable[[App], App] | None = None
    if config.cors_origins:
        options = {"allow_origins": list(config.cors_origins), "allow_methods": ["GET", "POST"],
                   "allow_headers": ["Authorization", "Content-Type"]}
        middleware.append(Middleware(CORSMiddleware, **options))  # type: ignore[arg-type]

        def cors(inner: App) -> App:
            return CORSMiddleware(inner, **options)  # type: ignore[arg-type]
    rest = Starlette(routes=routes, middleware=middleware, exception_handlers={
        HTTPException: _http_error, Exception: _internal_error})
    return HotPaths(rest, {hook_path: (hook_cards, lambda body: False),
                           "/evaluate": (evaluate, a_batch)},
                    verifier=verifier, base_url=base_url, max_body=config.max_body_bytes,
                    wrap=cors)


def _text(text: str) -> Response:
    return Response(text, media_type="application/json")


def _response(reply: Reply) -> Response:
    return Response(reply.text, status_code=reply.status, headers=dict(reply.headers),
                    media_type=reply.media_type)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    fhir = request.url.path.startswith("/cds-services")
    code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "processing")
    message = {404: f"no such address: {show_value(request.url.path, 80)}",
               405: f"{request.method} is not allowed here"}.get(exc.status_code, str(exc.detail))
    return _response(error(fhir, exc.status_code, code, message, headers=exc.headers))


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this answer, so the server logs the traceback; the caller only
    # learns that it was our fault.
    return _response(internal_error(request.url.path.startswith("/cds-services")))
