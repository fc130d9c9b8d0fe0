"""The pure budget rules (app/drip/sending/budget.py): the messaging limit's slots and the
frequency cap, including a hypothesis property over random send histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.drip.sending.budget import (
    LIMIT_WINDOW,
    allocate_slots,
    cap_allows,
    reach_window,
)

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_new_contacts_use_slots_and_the_rest_wait_for_the_next_free_one():
    history = [(T0 - timedelta(hours=20), "a"), (T0 - timedelta(hours=10), "b")]
    window = reach_window(history, T0, {"a", "c", "d", "e"})
    result = allocate_slots(window, [(1, "a"), (2, "c"), (3, "d"), (4, "e"), (5, "d")], T0, 3)
    assert result.allowed == [1, 2]  # a is already counted: no slot; c takes the last one
    assert result.deferred == {
        3: T0 + timedelta(hours=14),  # b's reach leaves the 24 hours first (a was reached again)
        4: T0 + timedelta(hours=24),  # then a's and c's
        5: T0 + timedelta(hours=14),  # the same contact waits for the same slot
    }
    assert result.used == 3


def test_a_reach_exactly_24_hours_ago_no_longer_counts():
    window = reach_window([(T0 - LIMIT_WINDOW, "a")], T0, {"b"})
    assert window.used == 0
    assert allocate_slots(window, [(1, "b")], T0, 1).allowed == [1]


def test_no_limit_allows_everything():
    window = reach_window([(T0, "a")], T0, set())
    assert allocate_slots(window, [(1, "b"), (2, "c")], T0, None).allowed == [1, 2]


def test_frequency_cap():
    day = timedelta(days=1)
    history = [T0 - 6 * day, T0 - 3 * day, T0 - day]
    assert cap_allows(history, T0, 3, 7) == (False, T0 + day)
    assert cap_allows(history, T0, 2, 7) == (False, T0 + 4 * day)
    assert cap_allows(history, T0, 4, 7) == (True, None)
    assert cap_allows(history, T0, 3, 5) == (True, None)  # the oldest is out of 5 days


passes = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=600),  # minutes since the previous pass
        st.lists(st.integers(min_value=0, max_value=30), max_size=12),  # contacts due
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(passes, st.integers(min_value=1, max_value=8))
def test_never_over_the_limit_and_no_slot_left_unused(schedule, limit):
    """Passes at random times with random due contacts, deferred sends retried when their
    slot frees: at every send, the unique contacts reached in the 24 hours up to it are at
    most `limit`; and a pass that defers anything leaves no slot free."""
    history: list[tuple[datetime, int]] = []
    waiting: dict[int, tuple[datetime, int]] = {}  # key -> (due again at, contact)
    now, key = T0, 0
    for minutes, contacts in schedule:
        now += timedelta(minutes=minutes)
        due = [(k, c) for k, (at, c) in sorted(waiting.items()) if at <= now]
        for contact in contacts:
            key += 1
            due.append((key, contact))
        window = reach_window(history, now, {c for _, c in due})
        result = allocate_slots(window, due, now, limit)
        by_key = dict(due)
        for k in result.allowed:
            history.append((now, by_key[k]))
            waiting.pop(k, None)
        for k, at in result.deferred.items():
            assert at > now
            waiting[k] = (at, by_key[k])
        reached = {c for at, c in history if at > now - LIMIT_WINDOW}
        assert len(reached) <= limit
        if result.deferred:
            assert len(reached) == limit  # no slot left unused while something is due
        # a deferred send's time is when a slot really frees: one counted contact leaves
        for at in result.deferred.values():
            latest = {}
            for t, c in history:
                latest[c] = max(latest.get(c, t), t)
            assert any(t + LIMIT_WINDOW == at for t in latest.values())
    # every 24-hour window ending at a send holds at most `limit` unique contacts
    for end, _ in history:
        assert len({c for at, c in history if end - LIMIT_WINDOW < at <= end}) <= limit
