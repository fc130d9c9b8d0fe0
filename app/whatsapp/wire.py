"""The sends' HTTP: keep-alive connections of the standard library's http.client.

A send through httpx cost 0.36 ms of CPU in the sending thread (bench: a local server, one
request at a time), through http.client 0.09 ms: a quarter of the worker's CPU per message.
The sends need little of what httpx adds (no redirects, no cookies, no proxies, one JSON POST),
so the hot path speaks HTTP/1.1 itself; verification and template lists keep httpx
(app.whatsapp.pool).

What a failure means for the message, as the client classifies it:
- NotSent: the connection could not be made, or the request could not be written whole:
  Meta cannot have acted on it (retried);
- Unsure: the request went out and no complete answer came back (a read timeout, a dropped
  connection): Meta may have acted on it (never resent automatically);
- Malformed: the request could not be formed (a header value with a newline: a pasted token),
  before anything was sent.
Each carries the name httpx gives the same failure (ConnectError, ReadTimeout...), which is
what the account page and the message log show.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi

# Below the usual server idle timeouts: reusing a connection the server is closing fails after
# the send, which is ambiguous and costs a message.
KEEPALIVE_EXPIRY = 20.0
# Idle connections kept per origin; more are closed when given back.
MAX_IDLE = 256


class WireError(Exception):
    def __init__(self, title: str, cause: BaseException | None = None) -> None:
        super().__init__(title)
        self.title = title
        self.__cause__ = cause


class NotSent(WireError):
    pass


class Unsure(WireError):
    pass


class Malformed(WireError):
    pass


@dataclass(frozen=True)
class Target:
    """Where a client posts: its origin and path, parsed once."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def of(cls, url: str) -> Target:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return cls(scheme, parts.hostname or "", port, path or "/")

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


class Wire:
    """Thread-safe: each request takes an idle connection to its origin (the most recently
    used) or opens one, and gives it back when the answer was read whole."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[tuple, list[tuple[http.client.HTTPConnection, float]]] = {}
        self._ssl: ssl.SSLContext | None = None

    def post(
        self,
        target: Target,
        body: bytes,
        headers: dict[str, str],
        connect_timeout: float,
        read_timeout: float,
    ) -> tuple[int, bytes]:
        """(HTTP status, body) of Meta's answer; raises NotSent, Unsure or Malformed."""
        connection = self._checkout(target, connect_timeout)
        try:
            connection.sock.settimeout(read_timeout)
            connection.request("POST", target.path, body=body, headers=headers)
        except ValueError as exc:  # a header value http.client refuses, before any byte went
            connection.close()
            raise Malformed("LocalProtocolError", exc) from exc
        except TimeoutError as exc:
            connection.close()
            raise NotSent("WriteTimeout", exc) from exc
        except OSError as exc:
            connection.close()
            raise NotSent("WriteError", exc) from exc
        try:
            response = connection.getresponse()
            content = response.read()
        except TimeoutError as exc:
            connection.close()
            raise Unsure("ReadTimeout", exc) from exc
        except http.client.HTTPException as exc:  # no status line, a cut body...
            connection.close()
            raise Unsure("RemoteProtocolError", exc) from exc
        except OSError as exc:
            connection.close()
            raise Unsure("ReadError", exc) from exc
        if response.will_close:
            connection.close()
        else:
            self._checkin(target, connection)
        return response.status, content

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection, _ in connections:
                connection.close()

    def _checkout(self, target: Target, connect_timeout: float) -> http.client.HTTPConnection:
        now = time.monotonic()
        while True:
            with self._lock:
                stack = self._idle.get(target.origin)
                entry = stack.pop() if stack else None
            if entry is None:
                return self._connect(target, connect_timeout)
            connection, since = entry
            # A connection idle too long, or one the server closed (or wrote to) meanwhile, is
            # not reused: a request on it could fail after it went out.
            if now - since > KEEPALIVE_EXPIRY or _readable(connection.sock):
                connection.close()
                continue
            return connection

    def _connect(self, target: Target, timeout: float) -> http.client.HTTPConnection:
        if target.scheme == "https":
            connection = http.client.HTTPSConnection(
                target.host, target.port, timeout=timeout, context=self._context()
            )
        else:
            connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
        try:
            connection.connect()
        except TimeoutError as exc:
            connection.close()
            raise NotSent("ConnectTimeout", exc) from exc
        except (OSError, ValueError) as exc:  # refused, unreachable, no such host, TLS
            connection.close()
            raise NotSent("ConnectError", exc) from exc
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _checkin(self, target: Target, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            stack = self._idle.setdefault(target.origin, [])
            if len(stack) < MAX_IDLE:
                stack.append((connection, time.monotonic()))
                return
        connection.close()

    def _context(self) -> ssl.SSLContext:
        # One context for all connections: building one loads the CA bundle (slow, memory).
        with self._lock:
            if self._ssl is None:
                self._ssl = ssl.create_default_context(cafile=certifi.where())
            return self._ssl


def _readable(sock: socket.socket | None) -> bool:
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


class _Shared:
    """The process's wire, replaced in a forked child (RQ's work horse): the parent's sockets
    must be neither used nor closed there (closing would shut them for the parent too)."""

    wire = Wire()

    @classmethod
    def forget(cls) -> None:
        cls.wire = Wire()


def shared_wire() -> Wire:
    return _Shared.wire


os.register_at_fork(after_in_child=_Shared.forget)
