"""The messages a pass has out: how many per organization, and their outcomes as they finish.

A pass records outcomes as they come in instead of waiting for a whole batch, and claims
again as soon as there is room; an organization that already has AHEAD_SECONDS of its number's
rate out is left out of the next claim. So a slow number's backlog neither holds a fast number
to its pace nor fills the pass.
"""

from __future__ import annotations

import queue
import time
from collections import Counter
from concurrent.futures import Future

from app.tasks.sender import Outcome, Route

# An organization with this many seconds of its rate out is not claimed for until half of
# them are done.
AHEAD_SECONDS = 2.0


class InFlight:
    def __init__(self) -> None:
        self._done: queue.SimpleQueue[Future] = queue.SimpleQueue()
        self.by_org: Counter[int] = Counter()  # sent or waiting to be, not finished
        self.rates: dict[int, int] = {}
        self.finished: list[Outcome] = []  # done, not recorded yet

    @property
    def out(self) -> int:
        return self.by_org.total()

    def add(self, futures: list[Future], outgoing, routes: dict[int, Route]) -> None:
        self.by_org.update(message.organization_id for message in outgoing)
        for organization_id, route in routes.items():
            self.rates[organization_id] = route.rate
        for future in futures:
            future.add_done_callback(self._done.put)

    def full(self) -> set[int]:
        """Organizations with their share out: not to be claimed for now."""
        return {
            org
            for org, count in self.by_org.items()
            if self.rates.get(org) and count >= max(1, self.rates[org] * AHEAD_SECONDS)
        }

    def collect(self, wait: float = 0.0) -> None:
        """Move finished outcomes to `finished`; wait up to `wait` seconds for the first."""
        try:
            self._finish(self._done.get(timeout=wait) if wait > 0 else self._done.get_nowait())
            while True:
                self._finish(self._done.get_nowait())
        except queue.Empty:
            pass

    def wait_for_room(self, full: set[int], deadline: float) -> None:
        """Collect until one of the `full` organizations is down to half its share, nothing is
        out, or the deadline."""
        while self.out and time.monotonic() < deadline:
            self.collect(wait=min(0.5, max(0.0, deadline - time.monotonic())))
            if any(self.by_org[org] <= self.rates[org] * AHEAD_SECONDS / 2 for org in full):
                return

    def wait_all(self) -> None:
        while self.out:
            self.collect(wait=1.0)

    def take(self) -> tuple[list[Outcome], dict[int, int]]:
        """The finished outcomes to record, with their attempt numbers."""
        outcomes, self.finished = self.finished, []
        return outcomes, {message.log_id: message.attempts for message, _ in outcomes}

    def _finish(self, future: Future) -> None:
        message, result = future.result()
        self.by_org[message.organization_id] -= 1
        if not self.by_org[message.organization_id]:
            del self.by_org[message.organization_id]
        self.finished.append((message, result))
