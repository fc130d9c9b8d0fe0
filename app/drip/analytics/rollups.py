"""Merging the analytics rollups: the triggers (migration 0006) append signed rows per changed
key and statement; compaction folds the rows of every key touched since the last run into
one, so the analytics sum few rows. Safe beside the triggers (it deletes only rows it summed)
and safe to run twice."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import desc, select, text
from sqlalchemy.orm import Session

from app.models import JobRun

JOB_NAME = "compact_rollups"


@dataclass(frozen=True)
class RollupTable:
    name: str
    key: tuple[str, ...]

    @property
    def columns(self) -> str:
        return ", ".join(("organization_id", *self.key))

    def touched(self) -> str:
        keys = ", ".join(self.key)
        return f"SELECT DISTINCT {keys} FROM {self.name} WHERE id > :low AND id <= :high"

    def merge_postgresql(self) -> str:
        """One statement, one snapshot: the rows deleted are exactly the rows summed, while
        triggers of other transactions keep appending."""
        match = " AND ".join(f"r.{k} = t.{k}" for k in self.key)
        return f"""
        WITH touched AS ({self.touched()}),
        gone AS (
            DELETE FROM {self.name} r USING touched t WHERE r.id <= :high AND {match}
            RETURNING r.*
        )
        INSERT INTO {self.name} ({self.columns}, count)
        SELECT {self.columns}, sum(count) FROM gone GROUP BY {self.columns}
        HAVING sum(count) <> 0
        RETURNING id"""

    def merge_sqlite(self) -> tuple[str, str]:
        """SQLite has one writer at a time: the sum and the delete cannot be interleaved."""
        keys = ", ".join(self.key)
        return (
            f"""INSERT INTO {self.name} ({self.columns}, count)
            SELECT {self.columns}, sum(count) FROM {self.name}
            WHERE id <= :high AND ({keys}) IN ({self.touched()})
            GROUP BY {self.columns} HAVING sum(count) <> 0 RETURNING id""",
            f"DELETE FROM {self.name} WHERE id <= :high AND ({keys}) IN ({self.touched()})",
        )


TABLES = (
    RollupTable("drip_activity_rollups", ("campaign_id", "axis", "bucket", "step_id", "metric")),
    RollupTable(
        "drip_enrollment_rollups",
        ("campaign_id", "enrolled_bucket", "completed_bucket", "last_step_id", "status", "replied"),
    ),
)


def last_watermarks(session: Session) -> dict[str, int]:
    """Per table, the highest rollup id the last successful compaction merged (0 before)."""
    stats = session.scalar(
        select(JobRun.stats)
        .where(JobRun.name == JOB_NAME, JobRun.ok.is_(True))
        .order_by(desc(JobRun.started_at), desc(JobRun.id))
        .limit(1)
    )
    return {t.name: int((stats or {}).get(t.name, {}).get("watermark", 0)) for t in TABLES}


def compact_all(session: Session, watermarks: dict[str, int]) -> dict[str, dict]:
    """compact() every rollup table from its watermark; the new watermarks and merged keys."""
    return {t.name: compact(session, t, watermarks.get(t.name, 0)) for t in TABLES}


def compact(session: Session, table: RollupTable, low: int) -> dict:
    """Merge the rows of every key that gained rows after id `low`; the new watermark and how
    many keys were merged. A row another transaction commits while this runs, with an id
    below the new watermark, stays a row of its own: every sum still counts it."""
    high = session.scalar(text(f"SELECT max(id) FROM {table.name}")) or 0
    if high <= low:
        return {"watermark": low, "merged_keys": 0}
    params = {"low": low, "high": high}
    keys = session.scalar(text(f"SELECT count(*) FROM ({table.touched()}) k"), params)
    if session.get_bind().dialect.name == "postgresql":
        merged = session.scalars(text(table.merge_postgresql()), params).all()
    else:
        insert, delete = table.merge_sqlite()
        merged = session.scalars(text(insert), params).all()
        session.execute(text(delete), params)
    # The merged rows are new rows: past them, so the next run does not fold them again.
    return {"watermark": max([high, *merged]), "merged_keys": keys}
