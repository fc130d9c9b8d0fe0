"""The 24-hour customer service window, the one rule the processor and the activation report
share (app.drip.engagement.window)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.drip.engagement import SERVICE_WINDOW, window_open

WROTE = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_open_for_24_hours_after_the_contacts_last_message_and_closed_from_then_on():
    assert SERVICE_WINDOW == timedelta(hours=24)
    assert window_open(WROTE, WROTE)
    assert window_open(WROTE, WROTE + timedelta(hours=23, minutes=59, seconds=59))
    assert not window_open(WROTE, WROTE + timedelta(hours=24))
    assert not window_open(WROTE, WROTE + timedelta(days=3))


def test_a_contact_who_never_wrote_has_no_window():
    assert not window_open(None, WROTE)


def test_a_naive_time_read_from_sqlite_counts_as_utc():
    assert window_open(WROTE.replace(tzinfo=None), WROTE + timedelta(hours=1))
