"""The two busy endpoints, the patient-view hook and POST /evaluate, as plain ASGI.

Every other address goes to the Starlette application (``rest``). These two are answered here
without Starlette's Request, Response, routing and middleware layers, which cost about as much
CPU per request as working out the decision itself (benchmarks/serve.py). The checks are the
same and in the same order as a Starlette route guarded by app.py's ``guarded``: the bearer
token, then the media type, the declared and the counted body size, then strict JSON; the
answers are wire.py's, so a request gets the same bytes either way (tests/serve).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Mapping, MutableMapping

from starlette.concurrency import run_in_threadpool

from neutropenia_kb.serve.security import JwtVerifier
from neutropenia_kb.serve.wire import Reply, check_body_head, failure, internal_error, parse_json, too_large

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
Work = Callable[[Any], str]  # the parsed body → the answer's JSON text (or raises)
# A body larger than this is parsed and worked out in the thread pool, so that the event loop
# keeps answering the other connections meanwhile (a hook with hundreds of observations, up to
# max_body_bytes); a usual one (1-4 KB, about a millisecond of work) is answered inline, without
# a thread hand-off (DESIGN.md, "The service").
INLINE_BYTES = 16 * 1024


class Disconnected(Exception):
    """The client went away before its body arrived: nobody to answer."""


class HotPaths:
    """``work``: path → (function, whether it runs in the thread pool for this body)."""

    def __init__(self, rest: App, work: Mapping[str, tuple[Work, Callable[[Any], bool]]], *,
                 verifier: JwtVerifier | None, base_url: str, max_body: int,
                 wrap: Callable[[App], App] | None = None) -> None:
        self.rest = rest
        self.work = work
        self.verifier = verifier
        self.base_url = base_url
        self.max_body = max_body
        # CORS, when configured, wraps the hot answers as it wraps the Starlette routes.
        self.answer: App = wrap(self._answer) if wrap else self._answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.work:
            await self.rest(scope, receive, send)
            return
        try:
            await self.answer(scope, receive, send)
        except Disconnected:
            return
        except Exception:
            # As Starlette's outermost middleware does: a generic 500 (nothing of the failure
            # in it), then re-raised so that uvicorn logs the traceback and closes the
            # connection.
            if not scope.get("nkb.response_started"):
                await _send(send, internal_error(scope["path"].startswith("/cds-services")))
            raise

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        fhir = path.startswith("/cds-services")
        function, in_pool = self.work[path]
        try:
            headers = _headers(scope)
            if self.verifier is not None:
                self.verifier.verify(headers.get("authorization"), self.base_url + path)
            check_body_head(headers.get("content-type"), headers.get("content-length"),
                            self.max_body)
            raw = await self._body(receive)
            if len(raw) > INLINE_BYTES:
                reply = Reply(await run_in_threadpool(_parsed, function, raw))
            else:
                body = parse_json(raw)
                reply = Reply(await run_in_threadpool(function, body) if in_pool(body)
                              else function(body))
        except Exception as exc:
            known = failure(fhir, exc)
            if known is None:
                raise
            reply = known
        scope["nkb.response_started"] = True
        await _send(send, reply)

    async def _body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise too_large(self.max_body)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _parsed(function: Work, raw: bytes) -> str:
    return function(parse_json(raw))


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name, the first of a repeated name winning, as
    Starlette's ``request.headers.get`` reads them (latin-1, as HTTP/1.1 carries them)."""
    out: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1")
        if key not in out:
            out[key] = value.decode("latin-1")
    return out


async def _send(send: Send, reply: Reply) -> None:
    body = reply.text.encode("utf-8")
    # The headers Starlette's Response writes for the same reply, in its order.
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
               for k, v in reply.headers.items()]
    headers += [(b"content-length", str(len(body)).encode("latin-1")),
                (b"content-type", reply.media_type.encode("latin-1"))]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

