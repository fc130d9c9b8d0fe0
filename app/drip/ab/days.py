"""Local calendar days of a timestamp column, in SQL both databases run: (epoch seconds + the
zone's UTC offset) // 86,400, the offset changing at the zone's transitions inside the range.
(app.drip.analytics.local_days does the same for its 15-minute buckets; A/B tests sit below
analytics, so they cannot use it.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise

from sqlalchemy import BigInteger, case, literal

DAY_SECONDS = 86_400
EPOCH_DAY = date(1970, 1, 1)
QUARTER = timedelta(minutes=15)  # every zone in use changes its offset on a quarter hour


def _offset(zone: tzinfo, at: datetime) -> int:
    return int(at.astimezone(zone).utcoffset().total_seconds())


def offset_changes(zone: tzinfo, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """[(first epoch second, offset seconds)], the first from -infinity, for start..end."""
    at = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    changes = [(0, _offset(zone, at))]
    while at < end:
        following = at + timedelta(hours=1)
        if _offset(zone, following) != changes[-1][1]:
            instant = at + QUARTER
            while _offset(zone, instant) == changes[-1][1]:
                instant += QUARTER
            changes.append((int(instant.timestamp()), _offset(zone, instant)))
        at = following
    return changes


def day_number(epoch_column, changes: list[tuple[int, int]]):
    """SQL: the local day number (days since 1970-01-01) of an epoch-seconds column."""
    if len(changes) == 1:
        offset = literal(changes[0][1], BigInteger())
    else:
        whens = [
            (epoch_column < first, previous) for (_, previous), (first, _) in pairwise(changes)
        ]
        offset = case(*whens, else_=changes[-1][1])
    return (epoch_column + offset) // literal(DAY_SECONDS, BigInteger())


def day_of(number: int) -> date:
    return EPOCH_DAY + timedelta(days=int(number))
