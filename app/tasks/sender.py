"""The process-wide pieces of sending: the sending threads and the rate limiter.

Each phone number (a route) has its own queue, worked by lanes: a lane is a thread's turn at
sending the number's messages one after another, each at its slot on the number's timeline.
A number gets a share of the threads in proportion to its rate, so a slow number waiting for
its slots never holds the threads a fast one needs, and a lane gives its thread back after a
turn (TURN_SECONDS) so that a number whose messages arrive later is not queued behind a long
backlog of another's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from flask import current_app
from redis import Redis

from app.drip import sending
from app.whatsapp import ErrorKind, Provider, RateLimiter, SendError, SendResult

log = logging.getLogger(__name__)

# How long a lane keeps its thread before queueing again behind the other numbers' lanes.
TURN_SECONDS = 0.5
# A number without a rate (the sandbox) weighs as much as this many messages per second when
# the threads are shared out.
UNLIMITED_WEIGHT = 1000


@dataclass
class Route:
    """How one organization's messages go out."""

    provider: Provider
    key: str  # rate-limit key: the phone number
    rate: int  # messages per second; 0 = no limit (the sandbox)


Outcome = tuple[sending.Outgoing, SendResult | SendError]


class Sender:
    def __init__(self, concurrency: int, redis: Redis | None):
        self.concurrency = concurrency
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="drip-send")
        self.limiter = RateLimiter(redis)
        self._lock = threading.Condition()
        self._queues: dict[str, deque] = {}
        self._rates: dict[str, int] = {}
        self._lanes: Counter[str] = Counter()

    def submit(self, messages, routes: dict[int, Route]) -> list[Future]:
        """Queue the messages on their numbers; each future gives (message, SendResult or
        SendError), and never raises."""
        futures = []
        with self._lock:
            for message in messages:
                route = routes[message.organization_id]
                future: Future = Future()
                self._queues.setdefault(route.key, deque()).append((message, route, future))
                self._rates[route.key] = route.rate
                futures.append(future)
            self._start_lanes()
        return futures

    def drain(self, timeout: float) -> bool:
        """Wait until every queued message has been sent (for tests of interrupted passes)."""
        with self._lock:
            return self._lock.wait_for(lambda: not any(self._lanes.values()), timeout)

    def _start_lanes(self) -> None:
        waiting = {key: queue for key, queue in self._queues.items() if queue}
        weights = {key: self._rates[key] or UNLIMITED_WEIGHT for key in waiting}
        total = sum(weights.values())
        for key, queue in waiting.items():
            share = max(1, int(self.concurrency * weights[key] / total))
            while self._lanes[key] < min(share, len(queue)):
                self._lanes[key] += 1
                self.pool.submit(self._lane, key)

    def _lane(self, key: str) -> None:
        turn_ends = time.monotonic() + TURN_SECONDS
        while True:
            with self._lock:
                queue = self._queues[key]
                if not queue or time.monotonic() > turn_ends:
                    self._lanes[key] -= 1
                    if queue:
                        self._start_lanes()  # behind the lanes already queued
                    self._lock.notify_all()
                    return
                message, route, future = queue.popleft()
            future.set_result((message, self._send(message, route)))

    def _send(self, message: sending.Outgoing, route: Route) -> SendResult | SendError:
        try:
            self.limiter.acquire(route.key, route.rate)
        # Nothing has gone out yet: a retry is safe. Raised, it would fail the whole batch's
        # recording, leaving its sent messages unrecorded and its unsent ones parked for 24 h.
        except Exception as exc:
            log.exception("rate limiter failed before sending log %s", message.log_id)
            return SendError(
                ErrorKind.RETRY,
                "Could not take a sending slot (the message was not sent); retrying",
                title=type(exc).__name__,
            )
        try:
            if message.kind == "template":
                return route.provider.send_template(
                    message.to,
                    message.template_name,
                    message.template_language,
                    message.template_parameters,
                    message.callback_data,
                    components=message.template_components or None,
                    user_id=message.recipient_user_id,
                )
            return route.provider.send_text(
                message.to, message.body, message.callback_data, user_id=message.recipient_user_id
            )
        except SendError as error:
            return error
        # A bug must not lose track of a message that may have gone out.
        except Exception as exc:
            log.exception("unexpected error sending log %s", message.log_id)
            return SendError(ErrorKind.AMBIGUOUS, f"Unexpected error: {exc.__class__.__name__}")


_senders: dict[tuple, Sender] = {}


def sender_for_app() -> Sender:
    config = current_app.config
    key = (config.get("REDIS_URL"), config["SEND_CONCURRENCY"])
    if key not in _senders:
        # Timeouts: a Redis that stops answering must fail fast (the limiter then degrades),
        # not hold every send.
        redis = (
            Redis.from_url(key[0], socket_connect_timeout=2, socket_timeout=2) if key[0] else None
        )
        _senders[key] = Sender(key[1], redis)
    return _senders[key]
