"""A small asyncio HTTP/1.1 server protocol for fakes: keep-alive, Content-Length bodies, one
request at a time per connection, and the misbehaviours a fake needs (delay, hang, drop).

asyncio rather than http.server: no thread per connection and a fraction of the CPU per request,
which matters when the fake shares two cores with the process being benchmarked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024


@dataclass(slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0  # seconds before the answer is written


@dataclass(slots=True)
class Hang:
    """Read the request, never answer; close after `seconds` (or when the client gives up)."""

    seconds: float = 60.0


@dataclass(slots=True)
class Drop:
    """Close the connection without answering."""

    abort: bool = field(default=False)  # RST-like close instead of an orderly FIN


Outcome = Reply | Hang | Drop
Handler = Callable[[Request], Outcome]
# Called once the head is read, before the body: a Drop here closes without reading the body.
HeadHook = Callable[[Request], Drop | None]


def _head_bytes(reply: Reply, keep_alive: bool) -> bytes:
    try:
        phrase = HTTPStatus(reply.status).phrase
    except ValueError:
        phrase = "Unknown"
    lines = [
        f"HTTP/1.1 {reply.status} {phrase}",
        f"Content-Type: {reply.content_type}",
        f"Content-Length: {len(reply.body)}",
    ]
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _parse_head(raw: bytes) -> tuple[Request, bool] | None:
    """The request (without body) and whether the connection stays open after it."""
    try:
        text = raw.decode("latin-1")
        request_line, *header_lines = text.split("\r\n")
        method, path, version = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    except ValueError:
        return None
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return Request(method, path, headers), keep_alive


class Http11Protocol(asyncio.Protocol):
    def __init__(self, handler: Handler, on_head: HeadHook, live: set[Http11Protocol]) -> None:
        self._handler = handler
        self._on_head = on_head
        self._live = live
        self._buffer = bytearray()
        self._pending: tuple[Request, bool, int] | None = None  # head read, body awaited
        self._busy = False  # an answer is being delayed: later requests wait their turn
        self._timer: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self._live.add(self)

    def connection_lost(self, exc) -> None:
        self._live.discard(self)
        if self._timer is not None:
            self._timer.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._process()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _process(self) -> None:
        while not self._busy and self.transport is not None:
            if self._pending is None and not self._read_head():
                return
            request, keep_alive, length = self._pending
            if len(self._buffer) < length:
                return
            request.body = bytes(self._buffer[:length])
            del self._buffer[:length]
            self._pending = None
            self._dispatch(request, keep_alive)

    def _read_head(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD:
                self.transport.close()
            return False
        parsed = _parse_head(bytes(self._buffer[:end]))
        del self._buffer[: end + 4]
        if parsed is None:
            self._write(Reply(400, b"bad request", "text/plain"), keep_alive=False)
            return False
        request, keep_alive = parsed
        if "chunked" in request.headers.get("transfer-encoding", "").lower():
            self._write(Reply(411, b"send a Content-Length", "text/plain"), keep_alive=False)
            return False
        dropped = self._on_head(request)
        if dropped is not None:
            self._drop(dropped)
            return False
        length_header = request.headers.get("content-length") or "0"
        if not length_header.isdigit() or int(length_header) > MAX_BODY:
            self._write(Reply(400, b"bad Content-Length", "text/plain"), keep_alive=False)
            return False
        length = int(length_header)
        if request.headers.get("expect", "").lower() == "100-continue":
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._pending = (request, keep_alive, length)
        return True

    def _dispatch(self, request: Request, keep_alive: bool) -> None:
        outcome = self._handler(request)
        if isinstance(outcome, Drop):
            self._drop(outcome)
        elif isinstance(outcome, Hang):
            self._busy = True
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(outcome.seconds, self.close)
        elif outcome.delay > 0:
            self._busy = True
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(outcome.delay, self._answer_late, outcome, keep_alive)
        else:
            self._write(outcome, keep_alive)

    def _answer_late(self, reply: Reply, keep_alive: bool) -> None:
        self._timer = None
        self._busy = False
        self._write(reply, keep_alive)
        if keep_alive and self._buffer:
            self._process()

    def _write(self, reply: Reply, keep_alive: bool) -> None:
        if self.transport is None:
            return
        self.transport.write(_head_bytes(reply, keep_alive) + reply.body)
        if not keep_alive:
            self.transport.close()

    def _drop(self, drop: Drop) -> None:
        self._busy = True  # nothing more is read from this connection
        if drop.abort:
            self.transport.abort()
        else:
            self.transport.close()


async def serve(
    handler: Handler, on_head: HeadHook, host: str, port: int, live: set[Http11Protocol]
) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: Http11Protocol(handler, on_head, live),
        host,
        port,
        backlog=2048,
        reuse_address=True,
    )
