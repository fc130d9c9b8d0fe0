"""The fake Cloud API's script (which requests misbehave, and how) and its accounting.

Neither class locks: the server owns one lock and holds it around every use.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, fields
from typing import Any

ACTIONS = ("error", "html", "hang", "drop_before_body", "drop_after_body")


@dataclass
class Rule:
    """One scripted misbehaviour. Selectors combine; with none, it applies until reset."""

    action: str
    code: int | None = None  # "error": Meta's error code
    status: int | None = None  # "error": override the code's usual status; "html": the 5xx
    times: int | None = None  # only the next N requests it selects
    fraction: float | None = None  # only this share of requests, drawn at random
    to: str | None = None  # only sends to this recipient ('+' optional)
    seconds: float = 60.0  # "hang": when the fake finally closes the connection
    message: str | None = None  # "error": Meta's message instead of the usual one

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
        if self.action == "error" and self.code is None:
            raise ValueError("an error rule needs a code")
        if self.action == "drop_before_body" and self.to is not None:
            raise ValueError("drop_before_body happens before `to` is read: no `to` selector")
        if self.fraction is not None and not 0 <= self.fraction <= 1:
            raise ValueError("fraction is between 0 and 1")
        if self.to is not None:
            self.to = self.to.lstrip("+")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rule:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown rule fields: {', '.join(sorted(unknown))}")
        return cls(**data)

    def selects(self, to: str | None, rng: random.Random) -> bool:
        if self.to is not None and to != self.to:
            return False
        return self.fraction is None or rng.random() < self.fraction


class Script:
    """Ordered rules: the first that selects a request decides what happens to it."""

    def __init__(self, seed: int | None = None) -> None:
        self.rules: list[Rule] = []
        self.rng = random.Random(seed)

    def add(self, rule: Rule) -> None:
        self.rules.append(rule)

    def clear(self) -> None:
        self.rules.clear()

    def take(self, to: str | None, *, before_body: bool) -> Rule | None:
        for rule in self.rules:
            if (rule.action == "drop_before_body") != before_body:
                continue
            if rule.selects(to, self.rng):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                return rule
        return None


class Counters:
    """What the fake received and answered; request bodies kept up to `keep_bodies`."""

    def __init__(self, keep_bodies: int | None = None) -> None:
        self.keep_bodies = keep_bodies  # None: all of them
        self.reset()

    def reset(self) -> None:
        self.requests = 0  # requests to the messages endpoint, whatever came of them
        self.bodies_read = 0  # of those, the ones whose body was read (not dropped before)
        self.accepted = 0  # answered 200 with a wamid
        self.received_by_to: Counter[str] = Counter()
        self.received_by_callback: Counter[str] = Counter()
        self.accepted_by_callback: Counter[str] = Counter()
        self.wamid_by_callback: dict[str, str] = {}  # the last wamid answered per callback
        self.outcomes: Counter[str] = Counter()  # "200", "429", "hang", "drop_after_body"...
        self.records: list[dict[str, Any]] = []
        # Arrivals per wall-clock second: how a rate limit is checked from outside.
        self.per_second: Counter[int] = Counter()

    def request(self) -> None:
        self.requests += 1
        self.per_second[int(time.time())] += 1

    def received(self, to: str | None, callback: str | None) -> None:
        self.bodies_read += 1
        if to is not None:
            self.received_by_to[to] += 1
        if callback is not None:
            self.received_by_callback[callback] += 1

    def outcome(
        self, outcome: str, body: Any, callback: str | None, wamid: str | None = None
    ) -> None:
        self.outcomes[outcome] += 1
        if wamid is not None:
            self.accepted += 1
            if callback is not None:
                self.accepted_by_callback[callback] += 1
                self.wamid_by_callback[callback] = wamid
        if self.keep_bodies is None or len(self.records) < self.keep_bodies:
            self.records.append({"body": body, "outcome": outcome, "wamid": wamid})

    def snapshot(self, detail: bool = True) -> dict[str, Any]:
        stats: dict[str, Any] = {
            "requests": self.requests,
            "bodies_read": self.bodies_read,
            "accepted": self.accepted,
            "outcomes": dict(self.outcomes),
            "distinct_callbacks": len(self.received_by_callback),
            "callbacks_accepted_more_than_once": sum(
                1 for n in self.accepted_by_callback.values() if n > 1
            ),
            "per_second": {str(k): v for k, v in sorted(self.per_second.items())},
        }
        if detail:
            stats["received_by_to"] = dict(self.received_by_to)
            stats["received_by_callback"] = dict(self.received_by_callback)
            stats["accepted_by_callback"] = dict(self.accepted_by_callback)
        return stats
