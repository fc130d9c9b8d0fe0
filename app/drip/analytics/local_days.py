"""Local calendar days of 15-minute UTC buckets, as integer arithmetic both databases do in a
GROUP BY: (bucket + the zone's offset in buckets) // 96 is the number of the local day since
1970-01-01, the offset changing at the zone's transitions inside the range. SQLite knows no
time zones, and folding tens of thousands of buckets into days in Python costs more than
the query; this way the database returns one row per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, bindparam, case

from app.drip.sql import BUCKET_SECONDS

BUCKETS_PER_DAY = 86_400 // BUCKET_SECONDS
EPOCH_DAY = date(1970, 1, 1)
HOUR = timedelta(hours=1)


def _offset_buckets(zone: ZoneInfo, instant: datetime) -> int:
    return int(instant.astimezone(zone).utcoffset().total_seconds()) // BUCKET_SECONDS


@dataclass(frozen=True)
class LocalDays:
    """The zone's offset (in buckets) from each bucket on, for buckets in a range."""

    zone: ZoneInfo
    changes: tuple[tuple[int, int], ...]  # (first bucket, offset), the first from -infinity

    @classmethod
    def between(cls, zone: ZoneInfo, start: datetime, end: datetime) -> LocalDays:
        """The offsets in force from start to end (hourly scan, refined to the bucket)."""
        # A dashboard asks for the same range four times, and again on each view that day:
        # the scan is thousands of conversions, its answer immutable.
        return _between(cls, zone, start, end)

    @classmethod
    def _scan(cls, zone: ZoneInfo, start: datetime, end: datetime) -> LocalDays:
        at = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        changes = [(0, _offset_buckets(zone, at))]
        while at < end:
            following = at + HOUR
            if _offset_buckets(zone, following) != changes[-1][1]:
                changes.append(cls._first_change(zone, at, changes[-1][1]))
            at = following
        return cls(zone, tuple(changes))

    @staticmethod
    def _first_change(zone: ZoneInfo, hour: datetime, current: int) -> tuple[int, int]:
        for step in range(1, BUCKETS_PER_DAY // 24 + 1):
            instant = hour + timedelta(seconds=step * BUCKET_SECONDS)
            offset = _offset_buckets(zone, instant)
            if offset != current:
                return int(instant.timestamp()) // BUCKET_SECONDS, offset
        raise AssertionError("an offset change inside the hour was not found")

    @property
    def shape(self) -> int:
        """What a statement of `day_sql` depends on: every zone and range of the same number
        of offsets runs the same statement, so a page builds it once."""
        return len(self.changes)

    @staticmethod
    def day_sql(bucket_column, shape: int):
        """SQL: the local day number of a bucket column for any LocalDays of this shape, its
        offsets and changes bound parameters (`params`)."""
        offsets = [bindparam(f"zone_offset_{i}", type_=Integer) for i in range(shape)]
        if shape == 1:
            offset = offsets[0]
        else:
            whens = [
                (bucket_column < bindparam(f"zone_change_{i}"), offsets[i])
                for i in range(shape - 1)
            ]
            offset = case(*whens, else_=offsets[-1])
        return (bucket_column + offset) // BUCKETS_PER_DAY

    def params(self) -> dict[str, int]:
        """The bound values of a `day_sql` statement for these offsets."""
        values = {f"zone_offset_{i}": offset for i, (_, offset) in enumerate(self.changes)}
        for i, (first, _) in enumerate(self.changes[1:]):
            values[f"zone_change_{i}"] = first
        return values

    @staticmethod
    def date(number: int) -> date:
        return EPOCH_DAY + timedelta(days=int(number))


@lru_cache(maxsize=256)
def _between(cls: type[LocalDays], zone: ZoneInfo, start: datetime, end: datetime) -> LocalDays:
    return cls._scan(zone, start, end)
