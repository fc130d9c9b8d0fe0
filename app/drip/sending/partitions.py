"""Monthly partitions of the history tables on PostgreSQL (migration 0018): created ahead of
time, and dropped whole once their month has passed the retention cutoff, so retention never
deletes rows one by one. On SQLite, and on a table that is not partitioned, every function
here does nothing (SQLite keeps its row DELETEs).

Set-based statements over a Session; the caller (app.tasks.partitions) commits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

# table: the column it is partitioned by (0018). Status events go by their log's created_at,
# so a month's events are dropped with that month's logs (which the batched DELETE removes).
PARTITIONED = {
    "whatsapp_status_events": "message_created_at",
    "inbound_messages": "occurred_at",
    "webhook_events": "received_at",
}
AHEAD = 3
_MONTH = re.compile(r"_p(\d{4})(\d{2})$")

_PARTITIONS = text(
    """
    SELECT n.nspname, c.relname, c.relpartbound IS NOT NULL
           AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE i.inhparent = to_regclass(:parent)
    """
)


@dataclass(frozen=True)
class Partition:
    schema: str
    name: str
    month: date | None  # None: the default partition

    @property
    def qualified(self) -> str:
        return f'"{self.schema}"."{self.name}"'


def partitions(session: Session, table: str) -> list[Partition]:
    """The table's partitions, months in order, the default last; [] when not partitioned."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    found = []
    for schema, name, is_default in session.execute(_PARTITIONS, {"parent": table}):
        match = _MONTH.search(name)
        if is_default or match is None:
            found.append(Partition(schema, name, None))
        else:
            found.append(Partition(schema, name, date(int(match[1]), int(match[2]), 1)))
    return sorted(found, key=lambda p: (p.month is None, p.month or date.min))


def create_ahead(session: Session, now: datetime, *, months: int = AHEAD) -> list[str]:
    """Create the partitions of the current month and the next `months` that are missing, for
    every partitioned table; the names created (none on a second call)."""
    created = []
    this_month = _month_of(now)
    for table, key in PARTITIONED.items():
        existing = partitions(session, table)
        if not existing:
            continue
        have = {p.month for p in existing}
        default = next((p for p in existing if p.month is None), None)
        schema = (default or existing[0]).schema
        for n in range(months + 1):
            month = add_months(this_month, n)
            if month not in have:
                created.append(_create(session, table, key, schema, month, default))
    return created


def drop_expired(session: Session, now: datetime, *, days: int) -> dict[str, list[str]]:
    """Drop every monthly partition whose month ended before now - days (never the current
    month's: its end is in the future), detached first so that readers of the table are held
    only for the moment the catalog changes; the dropped names by table. Rows of those months
    that fell into the default partition are deleted (few: only a month without a partition)."""
    cutoff = _start(now) - timedelta(days=days)
    current = _month_of(now)
    # Rows of a month that ended before the cutoff: those in the default partition go too.
    bound = _start(min(_month_of(cutoff), current))
    dropped: dict[str, list[str]] = {}
    for table, key in PARTITIONED.items():
        for part in partitions(session, table):
            if part.month is None:
                session.execute(
                    text(f"DELETE FROM {part.qualified} WHERE {key} < :cutoff"),
                    {"cutoff": bound},
                )
                continue
            end = _start(add_months(part.month, 1))
            if end <= cutoff and part.month < current:
                session.execute(text(f"ALTER TABLE {table} DETACH PARTITION {part.qualified}"))
                session.execute(text(f"DROP TABLE {part.qualified}"))
                dropped.setdefault(table, []).append(part.name)
    return dropped


def logs_cutoff(session: Session, now: datetime, *, days: int) -> datetime:
    """Before when message logs may be deleted. With status events partitioned by their log's
    month (PostgreSQL), the start of the month now - days falls in: a month's logs go only
    once drop_expired can drop that month's events whole, and after it has, so the cascade
    from the logs finds no event left to delete row by row. Elsewhere now - days."""
    cutoff = _start(now) - timedelta(days=days)
    if not partitions(session, "whatsapp_status_events"):
        return cutoff
    return _start(min(_month_of(cutoff), _month_of(now)))


def _create(session, table, key, schema, month, default) -> str:
    name = f"{table}_p{month:%Y%m}"
    bounds = f"FROM ('{month} 00:00+00') TO ('{add_months(month, 1)} 00:00+00')"
    if default is None:
        session.execute(
            text(f'CREATE TABLE "{schema}".{name} PARTITION OF {table} FOR VALUES {bounds}')
        )
        return name
    # PostgreSQL refuses a partition whose rows already sit in the default one: the default is
    # detached while that month's rows move over, then attached again.
    where = f"{key} >= '{month} 00:00+00' AND {key} < '{add_months(month, 1)} 00:00+00'"
    session.execute(text(f"ALTER TABLE {table} DETACH PARTITION {default.qualified}"))
    session.execute(
        text(f'CREATE TABLE "{schema}".{name} PARTITION OF {table} FOR VALUES {bounds}')
    )
    session.execute(text(f"INSERT INTO {table} SELECT * FROM {default.qualified} WHERE {where}"))
    session.execute(text(f"DELETE FROM {default.qualified} WHERE {where}"))
    session.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {default.qualified} DEFAULT"))
    return name


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _month_of(at: datetime) -> date:
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.date().replace(day=1)


def _start(month: date | datetime) -> datetime:
    if isinstance(month, datetime):
        return month if month.tzinfo else month.replace(tzinfo=UTC)
    return datetime(month.year, month.month, 1, tzinfo=UTC)
