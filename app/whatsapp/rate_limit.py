"""Messages per second per phone number, shared by every worker.

Fixed one-second windows: at most `rate` sends start in any calendar second, whichever worker
sends them. With Redis the counter is shared (INCR on a key per number and second); without
Redis (embedded mode, one process) a local counter does the same.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from redis import Redis


# A request started late in one second can reach Meta early in the next: keep 2% spare so
# that Meta never sees more than `rate` in any second.
HEADROOM = 0.98


class RateLimiter:
    """acquire(key, rate) blocks until a send for `key` fits under `rate` per second."""

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
        self._local: dict[tuple[str, int], int] = {}

    def acquire(self, key: str, rate: int) -> None:
        if rate <= 0:
            return
        allowed = max(1, int(rate * HEADROOM))
        while True:
            now = self.clock()
            window = int(now)
            if self._take(key, window) <= allowed:
                return
            # This second is full: wait for the next one (plus a little spread).
            self.sleep(max(window + 1 - now, 0) + 0.001)

    def _take(self, key: str, window: int) -> int:
        if self.redis is not None:
            name = f"{self.prefix}:{key}:{window}"
            pipe = self.redis.pipeline(transaction=False)
            pipe.incr(name)
            pipe.expire(name, 5)
            return pipe.execute()[0]
        with self._lock:
            count = self._local.get((key, window), 0) + 1
            self._local[(key, window)] = count
            if len(self._local) > 1000:
                self._local = {k: v for k, v in self._local.items() if k[1] >= window - 1}
            return count
