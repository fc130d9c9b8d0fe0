"""The shared keep-alive httpx pool of the Cloud API client's other requests (verifying a
phone number, listing templates) and of an injected client; the sends themselves go out on
app.whatsapp.wire.

httpcore's own pool rescans every connection (twice, quadratically) on each request under one
lock: with 128 sending threads it fell to ~350 requests/s. This pool hands each request one
single-connection transport from a stack, so a request costs the same with 1 or 200 connections.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator

import certifi
import httpx

MAX_CONNECTIONS = 200
# Below the usual server idle timeouts: reusing a connection the server is closing fails after
# the send, which is ambiguous and costs a message.
KEEPALIVE_EXPIRY = 20.0

Origin = tuple[str, str, int | None]


class _ReleasingStream(httpx.SyncByteStream):
    """The response body; closing it (httpx always does) gives the connection back."""

    def __init__(self, stream: httpx.SyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class ConnectionStack(httpx.BaseTransport):
    """At most `max_connections` keep-alive connections, reused most-recent first."""

    def __init__(
        self,
        max_connections: int = MAX_CONNECTIONS,
        keepalive_expiry: float = KEEPALIVE_EXPIRY,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._max = max_connections
        self._limits = httpx.Limits(
            max_connections=1, max_keepalive_connections=1, keepalive_expiry=keepalive_expiry
        )
        # One context for all connections: building one loads the CA bundle (slow, memory).
        self._ssl = ssl_context or ssl.create_default_context(cafile=certifi.where())
        self._idle: dict[Origin, list[httpx.HTTPTransport]] = {}
        self._size = 0
        self._changed = threading.Condition()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        origin = (request.url.scheme, request.url.host, request.url.port)
        timeout = request.extensions.get("timeout", {}).get("pool")
        transport = self._checkout(origin, timeout)
        try:
            response = transport.handle_request(request)
        except BaseException:
            self._checkin(origin, transport)
            raise
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_ReleasingStream(response.stream, lambda: self._checkin(origin, transport)),
            extensions=response.extensions,
        )

    def close(self) -> None:
        with self._changed:
            self._closed = True
            idle = [t for transports in self._idle.values() for t in transports]
            self._idle.clear()
        for transport in idle:
            transport.close()

    def _checkout(self, origin: Origin, timeout: float | None) -> httpx.HTTPTransport:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                if self._closed:
                    raise RuntimeError("the connection pool is closed")
                if self._idle.get(origin):
                    return self._idle[origin].pop()
                if self._size < self._max:
                    self._size += 1
                    return httpx.HTTPTransport(verify=self._ssl, limits=self._limits)
                # Full: take an idle connection to another host (its pool closes it on use).
                for transports in self._idle.values():
                    if transports:
                        return transports.pop()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise httpx.PoolTimeout("no connection free in the pool")
                self._changed.wait(remaining)

    def _checkin(self, origin: Origin, transport: httpx.HTTPTransport) -> None:
        with self._changed:
            if not self._closed:
                self._idle.setdefault(origin, []).append(transport)
                self._changed.notify()
                return
        transport.close()


def new_http_client(max_connections: int = MAX_CONNECTIONS) -> httpx.Client:
    """A thread-safe httpx.Client on a ConnectionStack. It never follows a redirect: the
    request carries an access token, and a 3xx could send it to any address."""
    return httpx.Client(transport=ConnectionStack(max_connections), follow_redirects=False)


class _SharedClient:
    """One process-wide client, created on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    def get(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = new_http_client()
            return self._client

    def forget(self) -> None:
        # In a forked child (RQ's work horse) the parent's sockets must be neither used nor
        # closed (closing would shut them for the parent too): start a fresh pool.
        self._lock = threading.Lock()
        self._client = None

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


_SHARED = _SharedClient()
os.register_at_fork(after_in_child=_SHARED.forget)


def shared_http_client() -> httpx.Client:
    """The pooled client of every CloudApiClient without an injected one (sends aside)."""
    return _SHARED.get()


def close_shared_http_client() -> None:
    _SHARED.close()
