"""Messages per second per phone number, shared by every worker.

Sends are paced, not burst: each one gets the next free slot on a per-number timeline, one
slot every 1/rate seconds (GCRA), and waits for it. So at most `rate` slots fall in any
second, and a request delayed a little on its way (a busy worker) does not pile up with the
next second's. With Redis the timeline is shared by all workers (one small Lua script);
without Redis (embedded mode, one process) a local timeline does the same.

A worker takes its slots from the shared timeline a few at a time (a lease of LEASE_SECONDS
worth) and hands them to its sending threads itself: one Redis round trip per lease instead of
one per send (measured: 0.11 ms of CPU per round trip, and every sending thread queued on one
Redis connection pool), with the same spacing of slots on the timeline. At rates under about 100
per second a lease is a single slot, as before.

When Redis cannot be reached, the limiter paces on the local timeline and asks Redis again
REDIS_RETRY_SECONDS later: sending slows to one process's pace per process instead of
stopping (several workers may then exceed the rate together; Meta answers 130429, which is
retried).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Keep 5% spare: a request can start tens of milliseconds after its slot on a busy worker
# (measured: up to ~3% of a second's sends slip into the next), and Meta counts arrivals.
HEADROOM = 0.95
# While Redis is unreachable, the local timeline is used and Redis asked again this often.
REDIS_RETRY_SECONDS = 2.0

# A lease: this many seconds of slots taken from the shared timeline in one round trip.
LEASE_SECONDS = 0.02
# A leased slot further than this in the past is not used (the worker fell behind its lease):
# the rest is dropped and a fresh lease taken from now, so a late worker never bursts old slots
# on top of other workers' current ones. At most this many seconds' worth of sends start late.
STALE_SECONDS = 0.005

# A send may start this long after its slot: less than the headroom's share of a second, so
# that even with every send this late no second holds more than `rate` of them (the slots of
# 1 + LATE_SECONDS seconds, (1 + LATE_SECONDS) * HEADROOM * rate, stay under rate).
LATE_SECONDS = 0.03

# KEYS[1] timeline; ARGV: now, interval (seconds), count. Takes `count` consecutive slots and
# returns the first as a string.
_TAKE_SLOTS = """
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local slot = math.max(tat, now)
local after = slot + tonumber(ARGV[2]) * tonumber(ARGV[3])
redis.call('SET', KEYS[1], string.format('%.6f', after), 'PX', 60000)
return string.format('%.6f', slot)
"""


@dataclass
class _Lease:
    next: float  # the next unused slot
    left: int  # slots left
    interval: float


class RateLimiter:
    """acquire(key, rate) returns when a send for `key` may start under `rate` per second."""

    def __init__(
        self,
        redis: Redis | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        prefix: str = "drip:rate",
    ):
        self.redis = redis
        self.clock = clock
        self.sleep = sleep
        self.prefix = prefix
        self._lock = threading.Lock()
        self._timelines: dict[str, float] = {}
        self._leases: dict[str, _Lease] = {}
        self._script = redis.register_script(_TAKE_SLOTS) if redis is not None else None
        self.round_trips = 0  # leases taken (from Redis or the local timeline)
        self.late_slots = 0  # slots let go because the thread woke too late for them
        self._redis_down_until = 0.0  # clock time before which Redis is not asked again

    def acquire(self, key: str, rate: int) -> float:
        """Wait for this send's slot and return it (seconds since the epoch). A thread that
        wakes more than LATE_SECONDS after its slot (a busy process) lets the slot go and
        takes a later one, so that a late send never bunches with the ones after it."""
        if rate <= 0:
            return self.clock()
        interval = 1.0 / max(rate * HEADROOM, 1e-9)
        while True:
            slot = self._wait_for_slot(key, interval)
            if self.clock() - slot <= LATE_SECONDS:
                return slot
            self.late_slots += 1

    def _wait_for_slot(self, key: str, interval: float) -> float:
        # The lock is held through a lease's round trip: the threads that would otherwise each
        # take a lease of their own wait for this one and share it.
        with self._lock:
            now = self.clock()
            lease = self._leases.get(key)
            if (
                lease is None
                or lease.left == 0
                or lease.interval != interval
                or lease.next < now - STALE_SECONDS
            ):
                count = max(1, int(LEASE_SECONDS / interval))
                lease = _Lease(self._take(key, now, interval, count), count, interval)
                self._leases[key] = lease
            slot = lease.next
            lease.next += interval
            lease.left -= 1
        if slot > now:
            self.sleep(slot - now)
        return slot

    def _take(self, key: str, now: float, interval: float, count: int) -> float:
        """The first of `count` consecutive slots on the key's timeline."""
        self.round_trips += 1
        if self._script is not None and now >= self._redis_down_until:
            try:
                return float(
                    self._script(
                        keys=[f"{self.prefix}:{key}"], args=[repr(now), repr(interval), count]
                    )
                )
            except RedisError as exc:
                # Raised, it would fail the send before it starts and, through the pass, lose
                # the outcomes of the sends around it: degrade to this process's pace instead.
                self._redis_down_until = now + REDIS_RETRY_SECONDS
                log.warning("rate limiter: Redis unavailable (%s); pacing in this process", exc)
        slot = max(self._timelines.get(key, 0.0), now)
        self._timelines[key] = slot + interval * count
        return slot
