"""The per-number limiter: never more than `rate` sends start in one calendar second."""

from __future__ import annotations

import itertools
import os
import threading
from collections import Counter

import pytest
from redis import Redis

from app.whatsapp.rate_limit import RateLimiter


class FakeClock:
    def __init__(self, start: float = 1_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_local_limiter_paces_sends_at_the_rate():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    slots = [limiter.acquire("123", 100) for _ in range(250)]
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert all(abs(gap - 1 / 95) < 1e-9 for gap in gaps)  # evenly spaced, 5% under the limit
    seconds = Counter(int(slot) for slot in slots)
    assert max(seconds.values()) <= 96  # 95 per second, one more when a slot lands on 0.000
    assert sum(seconds.values()) == 250


def test_keys_are_independent_and_zero_means_no_limit():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    limiter.acquire("a", 10)
    limiter.acquire("b", 10)
    assert clock.now == 1_000.0  # the first send of each number goes at once
    for _ in range(1_000):
        limiter.acquire("sandbox", 0)
    assert clock.now == 1_000.0


@pytest.fixture
def redis_client():
    client = Redis.from_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    client.ping()
    return client


def sends_in_threads(limiters, key: str, rate: int, each: int, threads: int = 16) -> list:
    """`threads` threads spread over the limiters (workers), each taking `each` slots for
    `key` at `rate`; the slots taken."""
    starts: list[float] = []
    lock = threading.Lock()

    def send(limiter):
        for _ in range(each):
            slot = limiter.acquire(key, rate)
            with lock:
                starts.append(slot)

    running = [
        threading.Thread(target=send, args=(limiters[i % len(limiters)],)) for i in range(threads)
    ]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return starts


def test_limiters_in_many_threads_share_the_redis_counter(redis_client):
    """Two limiters (two workers) and 16 threads: at most `rate` per second between them."""
    prefix = f"test-rate-{os.getpid()}"
    limiters = [RateLimiter(redis_client, prefix=prefix) for _ in range(2)]
    starts = sends_in_threads(limiters, "555", 40, 15)
    per_second = Counter(int(t) for t in starts)
    assert sum(per_second.values()) == 240
    assert max(per_second.values()) <= 40
    starts.sort()
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 1 / (40 * 0.95) - 1e-5


def test_a_worker_leases_slots_a_few_at_a_time_and_workers_never_share_one(redis_client):
    """At 1,000/s each Redis round trip takes a lease of ~20 ms of slots; two workers
    alternating on one clock get disjoint slots, evenly spaced on the shared timeline."""
    prefix = f"test-lease-{os.getpid()}"
    clock = FakeClock()
    limiters = [RateLimiter(redis_client, clock=clock, sleep=clock.sleep, prefix=prefix)]
    limiters.append(RateLimiter(redis_client, clock=clock, sleep=lambda s: None, prefix=prefix))
    slots = [limiters[i % 2].acquire("777", 1000) for i in range(400)]
    assert len(set(slots)) == 400
    ordered = sorted(slots)
    assert min(b - a for a, b in itertools.pairwise(ordered)) >= 1 / 950 - 1e-5
    assert max(Counter(int(s) for s in slots).values()) <= 1000
    round_trips = sum(limiter.round_trips for limiter in limiters)
    assert round_trips <= 400 / 10  # one per send before leases


def test_a_lease_left_behind_is_dropped_not_burst():
    """A worker that fell behind its lease (a long pause) takes a fresh one from now instead of
    sending its old slots at once."""
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    first = limiter.acquire("888", 1000)
    clock.now += 1.0
    later = [limiter.acquire("888", 1000) for _ in range(5)]
    assert later[0] >= clock.now - 5 / 950 and later[0] > first + 0.99
    assert all(b - a >= 1 / 950 - 1e-9 for a, b in itertools.pairwise(later))
    assert limiter.round_trips == 2


def test_leased_sends_in_many_threads_stay_under_a_high_rate(redis_client):
    """Two workers of 8 threads each at 1,000/s for real: never over the rate in a second."""
    prefix = f"test-lease-threads-{os.getpid()}"
    limiters = [RateLimiter(redis_client, prefix=prefix) for _ in range(2)]
    starts = sends_in_threads(limiters, "999", 1000, 100)
    assert len(set(starts)) == 1600
    assert max(Counter(int(t) for t in starts).values()) <= 1000
    starts.sort()
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 1 / 950 - 1e-5
    assert sum(limiter.round_trips for limiter in limiters) < 1600 / 5


class LateClock(FakeClock):
    """A busy process: every `every`-th sleep wakes `late` seconds after it was due."""

    def __init__(self, late: float, every: int):
        super().__init__()
        self.late, self.every, self.sleeps = late, every, 0

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds + (self.late if self.sleeps % self.every == 0 else 0.0)


def test_a_thread_that_wakes_late_takes_a_later_slot_instead_of_bunching():
    """20/s: a thread woken 40 ms after its slot would start its send next to the following
    slot's, and a second could then hold 20 sends at 19 slots a second plus a late one. It
    lets the slot go and waits for a later one; every send starts at most LATE_SECONDS after
    its slot, so no calendar second holds more than the rate."""
    clock = LateClock(late=0.04, every=3)
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(200):
        slot = limiter.acquire("777", 20)
        starts.append(clock.now)
        assert clock.now - slot <= 0.03
    assert limiter.late_slots > 0
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 1 / 19 - 1e-9  # no two sends closer than the slots' spacing
    assert max(Counter(int(t) for t in starts).values()) <= 20
