"""The zone offsets LocalDays hands to SQL: found at the bucket they change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.drip.analytics.local_days import LocalDays


def bucket(instant: datetime) -> int:
    return int(instant.timestamp()) // 900


def test_new_york_falls_back_at_six_utc():
    start = datetime(2026, 10, 31, tzinfo=UTC)
    days = LocalDays.between(ZoneInfo("America/New_York"), start, start + timedelta(days=3))
    assert days.changes == ((0, -16), (bucket(datetime(2026, 11, 1, 6, tzinfo=UTC)), -20))


def test_lord_howe_moves_half_an_hour():
    start = datetime(2026, 4, 3, tzinfo=UTC)
    days = LocalDays.between(ZoneInfo("Australia/Lord_Howe"), start, start + timedelta(days=3))
    # 02:00 local (+11:00) becomes 01:30 (+10:30) on 5 April 2026: 15:00 UTC on the 4th.
    assert days.changes == ((0, 44), (bucket(datetime(2026, 4, 4, 15, tzinfo=UTC)), 42))


def test_a_zone_without_changes_has_one_offset_and_dates_count_from_1970():
    start = datetime(2026, 6, 1, tzinfo=UTC)
    days = LocalDays.between(ZoneInfo("Asia/Kathmandu"), start, start + timedelta(days=400))
    assert days.changes == ((0, 23),)  # +05:45
    assert days.date(20_605).isoformat() == "2026-06-01"
