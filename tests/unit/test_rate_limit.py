"""The per-number limiter: never more than `rate` sends start in one calendar second."""

from __future__ import annotations

import os
import threading
import time
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


def test_local_limiter_holds_the_rate_per_second():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    seconds = Counter()
    for _ in range(250):
        limiter.acquire("123", 100)
        seconds[int(clock.now)] += 1
    assert max(seconds.values()) == 98  # 2% headroom for requests crossing a second
    assert sum(seconds.values()) == 250
    assert len(seconds) == 3  # 98 + 98 + 54


def test_keys_are_independent_and_zero_means_no_limit():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(9):
        limiter.acquire("a", 10)
        limiter.acquire("b", 10)
    assert clock.now == 1_000.0  # neither had to wait
    for _ in range(1_000):
        limiter.acquire("sandbox", 0)
    assert clock.now == 1_000.0


@pytest.fixture
def redis_client():
    client = Redis.from_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    client.ping()
    return client


def test_limiters_in_many_threads_share_the_redis_counter(redis_client):
    """Two limiters (two workers) and 16 threads: at most `rate` per second between them."""
    prefix = f"test-rate-{os.getpid()}"
    seen = threading.local()

    def clock() -> float:  # the instant the limiter decided on, per thread
        seen.now = time.time()
        return seen.now

    limiters = [RateLimiter(redis_client, prefix=prefix, clock=clock) for _ in range(2)]
    starts: list[float] = []
    lock = threading.Lock()

    def send(limiter):
        for _ in range(15):
            limiter.acquire("555", 40)
            with lock:
                starts.append(seen.now)

    threads = [threading.Thread(target=send, args=(limiters[i % 2],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    per_second = Counter(int(t) for t in starts)
    assert sum(per_second.values()) == 240
    assert max(per_second.values()) <= 39  # 40 less the headroom
