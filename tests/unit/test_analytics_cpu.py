"""What keeps the dashboard page's CPU down (issue 21): work a page repeats is done once."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from app.drip.analytics.local_days import LocalDays
from tests.support.delays import delay_summary, quantile


def test_the_offsets_of_a_range_are_scanned_once():
    zone = ZoneInfo("America/New_York")
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)
    first = LocalDays.between(zone, start, end)
    assert LocalDays.between(zone, start, end) is first
    # The same instants written in another zone are the same range.
    assert LocalDays.between(zone, start.astimezone(zone), end) is first
    assert len(first.changes) == 2  # the change to daylight time on 9 March


def test_delay_summary_matches_the_quantiles_of_the_expanded_multiset():
    pairs = [(5, 3), (7, 0), (9, 1), (30, 6), (31, 2)]
    expanded = sorted(v for v, n in pairs for _ in range(n))
    summary = delay_summary(pairs)
    assert summary["count"] == len(expanded) == 12
    # rank 0.5 * 11 = 5.5: between the 6th and 7th values (30 and 30)
    assert summary["medianSeconds"] == quantile(pairs, 0.5) == 30
    # rank 0.9 * 11 = 9.9: 30 + 0.9 * (31 - 30)
    assert abs(summary["p90Seconds"] - 30.9) < 1e-9
    assert quantile(pairs, 0.0) == 5 and quantile(pairs, 1.0) == 31
    assert delay_summary([]) == {"count": 0, "medianSeconds": None, "p90Seconds": None}
