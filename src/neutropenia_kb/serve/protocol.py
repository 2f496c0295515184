"""uvicorn's HTTP/1.1 protocol (httptools), writing each response's head and body in one write.

uvicorn writes the status line and headers as soon as the application starts its response,
then the body: two writes, so two system calls and two TCP segments per answer. On loopback a
write costs the receiving side's work too (the server's CPU profile under load put about a
fifth of it in these writes), so `nkb serve` holds the head and sends it with the body's first
write. Nothing else changes: a "100 Continue" goes out at once (the client waits for it before
sending its body), and a head with no body write (a HEAD request, an empty body) goes out when
the response completes or the connection is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HEAD = b"HTTP/1.1 "
_CONTINUE = b"HTTP/1.1 100 "


class HeadWithBody:
    """A transport that holds a response's head until the next write (or the response's end)."""

    __slots__ = ("transport", "held")

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.held = b""

    def write(self, data: bytes) -> None:
        if self.held:
            data, self.held = self.held + data, b""
        elif data.startswith(_HEAD) and not data.startswith(_CONTINUE):
            self.held = data
            return
        if data:
            self.transport.write(data)

    def flush(self) -> None:
        if self.held:
            data, self.held = self.held, b""
            self.transport.write(data)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:  # is_closing, pause_reading, get_extra_info, …
        return getattr(self.transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = HeadWithBody(self.transport)  # type: ignore[assignment]

    def on_response_complete(self) -> None:
        self.transport.flush()  # type: ignore[attr-defined]
        super().on_response_complete()
