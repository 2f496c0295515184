"""Each answer of a real `nkb serve` in one write (serve/protocol.py): head and body arrive
together; a HEAD answer, a 100 Continue and an answer that closes the connection still go out."""

from __future__ import annotations

import json
import socket
from typing import Iterator

import pytest
from serve_http import Server, start, stop

from neutropenia_kb.serve.protocol import HeadWithBody


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start(tmp_path_factory.mktemp("one_write"))
    yield srv
    log = stop(srv)
    assert "Traceback" not in log, log


def _connect(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    return sock


def _read_answer(sock: socket.socket) -> bytes:
    """One whole answer: the head, then as many bytes as its content-length says."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return head + b"\r\n\r\n" + body


def _read_to_close(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def test_head_and_body_come_in_one_segment(server: Server) -> None:
    body = json.dumps({"anc": "800 cells/uL", "temperature": "38.4 C"}).encode()
    request = (b"POST /evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
    with _connect(server) as sock:
        for _ in range(3):  # keep-alive: each answer of the connection
            sock.sendall(request)
            first = sock.recv(1 << 20)  # what one write put on the wire, at most
            head, _, rest = first.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200") and rest, first[:200]
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            while len(rest) < length:
                rest += sock.recv(1 << 20)
            assert json.loads(rest)["urgency"] == "emergency"


def test_a_head_request_gets_its_head(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            assert chunk, data
            data += chunk
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\n")
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")  # the connection goes on
        assert json.loads(_read_answer(sock).partition(b"\r\n\r\n")[2]) == {"status": "ok"}


def test_100_continue_goes_out_before_the_body_is_sent(server: Server) -> None:
    body = json.dumps({"anc": 400}).encode()
    with _connect(server) as sock:
        sock.sendall(b"POST /evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        assert sock.recv(4096).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        assert _read_answer(sock).startswith(b"HTTP/1.1 200")


def test_an_answer_that_closes_the_connection_is_sent_whole(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = _read_to_close(sock)
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b'{"status":"ok"}')
        assert b"connection: close" in data.lower()


def test_bad_http_gets_a_400_before_the_close(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        data = _read_to_close(sock)
        assert data.startswith(b"HTTP/1.1 400")


class _Recorder:
    """What HeadWithBody hands on, write by write (the real transport is tested above)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_held_head_rules() -> None:
    rec = _Recorder()
    t = HeadWithBody(rec)
    t.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # at once
    t.write(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n")  # held
    assert rec.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    t.write(b"body")
    assert rec.writes[1:] == [b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"]
    t.write(b"more")  # a later chunk of the same body
    t.write(b"HTTP/1.1 204 No Content\r\n\r\n")  # a head whose body is empty ...
    t.write(b"")
    assert rec.writes[2:] == [b"more", b"HTTP/1.1 204 No Content\r\n\r\n"]
    t.write(b"HTTP/1.1 200 OK\r\n\r\n")  # ... or never written (HEAD): flushed at the end
    t.flush()
    t.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    t.close()
    assert rec.writes[4:] == [b"HTTP/1.1 200 OK\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n\r\n"]
    assert t.is_closing()

