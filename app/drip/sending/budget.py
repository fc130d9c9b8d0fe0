"""Pure rules of the sending budgets, tested without a database:

- the messaging limit: at most `limit` unique people reached outside their 24-hour window in
  any moving 24 hours (Meta gives no "remaining" figure: the sender counts);
- the frequency cap: at most N marketing messages per contact in any D days.

A send the rule does not allow is deferred (never failed) to the time it would be allowed.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

LIMIT_WINDOW = timedelta(hours=24)


@dataclass
class ReachWindow:
    """Who is counted against the limit now: `used` unique contacts whose latest reach lies in
    (now - 24 h, now]; `reached`, those of them the due sends go to, with their latest reach;
    `latest`, the latest reach
    times of the counted contacts, oldest first (at least as many as there are new contacts
    due, when the limit is short: the times the next slots free)."""

    used: int
    reached: dict = field(default_factory=dict)  # contact -> its latest reach
    latest: list[datetime] = field(default_factory=list)


@dataclass
class Allocation:
    allowed: list = field(default_factory=list)  # keys of the sends that may go now
    deferred: dict = field(default_factory=dict)  # key -> when to try again
    used: int = 0  # unique contacts counted after these sends


def reach_window(
    history: Iterable[tuple[datetime, Hashable]], now: datetime, contacts: Iterable[Hashable]
) -> ReachWindow:
    """The ReachWindow of a full history of (reached at, contact) outside-window sends."""
    cutoff = now - LIMIT_WINDOW
    latest: dict = {}
    for at, contact in history:
        if cutoff < at <= now and at > latest.get(contact, cutoff):
            latest[contact] = at
    wanted = set(contacts)
    return ReachWindow(
        used=len(latest),
        reached={c: at for c, at in latest.items() if c in wanted},
        latest=sorted(latest.values()),
    )


def allocate_slots(
    window: ReachWindow, due: Sequence[tuple[Hashable, Hashable]], now: datetime, limit: int | None
) -> Allocation:
    """Which of the due outside-window sends (key, contact), in priority order, may go now.

    A send to a contact already counted uses no slot; one to a new contact uses one while
    slots are left. The others are deferred to the time the next slot frees: the k-th new
    contact left over gets the k-th earliest time a counted contact's latest reach leaves the
    24 hours (the contacts sent to now leave at now + 24 h); two sends to one contact wait
    for the same time."""
    if limit is None:
        return Allocation(allowed=[key for key, _ in due], used=window.used)
    result = Allocation(used=window.used)
    reached = dict(window.reached)
    waiting: dict = {}  # new contact left over -> the deferred keys
    for key, contact in due:
        if contact in reached:
            reached[contact] = now  # reached again: counted until now + 24 h
            result.allowed.append(key)
        elif contact not in waiting and result.used < limit:
            reached[contact] = now
            result.used += 1
            result.allowed.append(key)
        else:
            waiting.setdefault(contact, []).append(key)
    frees = list(window.latest)
    for contact, before in window.reached.items():
        if reached[contact] != before and before in frees:
            frees.remove(before)
    for contact, at in reached.items():
        if at == now and window.reached.get(contact) != now:
            insort(frees, now)
    for position, keys in enumerate(waiting.values()):
        at = frees[min(position, len(frees) - 1)] + LIMIT_WINDOW if frees else now + LIMIT_WINDOW
        for key in keys:
            result.deferred[key] = max(at, now + timedelta(seconds=1))
    return result


def cap_allows(
    history: Sequence[datetime], now: datetime, messages: int, days: int
) -> tuple[bool, datetime | None]:
    """Whether one more marketing message may go to a contact who got the ones at `history`
    (sorted, oldest first), at most `messages` in any `days` days; else the first time it may."""
    window = timedelta(days=days)
    counted = [at for at in history if at > now - window]
    if len(counted) < messages:
        return True, None
    return False, counted[len(counted) - messages] + window
