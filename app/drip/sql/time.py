"""Time arithmetic that reads the same on PostgreSQL and SQLite: seconds since the epoch in
SQL, and the 15-minute UTC buckets the analytics rollups count in (every zone in use today is
offset from UTC by a multiple of 15 minutes; app.drip.analytics.local_days turns buckets
into days)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import BigInteger, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

BUCKET_SECONDS = 900


def as_utc(at: datetime) -> datetime:
    """A time as aware UTC, a naive one read as UTC: what SQLite hands back (it stores UTC)
    and Meta's timestamps are."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


class epoch_seconds(FunctionElement):
    """Whole seconds since 1970-01-01 UTC of a timestamp column (floored)."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element, compiler, **kw):
    return f"CAST(floor(extract(epoch FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


def bucket_number(instant: datetime) -> int:
    return int(instant.timestamp()) // BUCKET_SECONDS


def bucket_range(column, bounded_start: bool, bounded_end: bool) -> list:
    """Conditions: a bucket column in [:low, :high), either bound left out; a statement built
    once with them runs with bucket_bounds' values."""
    where = []
    if bounded_start:
        where.append(column >= bindparam("low"))
    if bounded_end:
        where.append(column < bindparam("high"))
    return where


def bucket_bounds(start: datetime | None, end: datetime | None) -> dict[str, int]:
    """The values of bucket_range's bounds (times on 15-minute boundaries)."""
    bounds = {"low": start, "high": end}
    return {name: bucket_number(at) for name, at in bounds.items() if at is not None}


def day_range_utc(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC covering the local days first..last inclusive."""
    start = datetime.combine(first, time.min, zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, zone).astimezone(UTC)
    return start, end
