"""The daily partition job's body: the history tables' partitions for the months ahead are
created, and the months past LOG_RETENTION_DAYS dropped whole (app.drip.sending.partitions).
Nothing to do on SQLite, where purge_old_logs deletes rows."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from app.drip import sending

JOB_NAME = "manage_partitions"


def manage_partitions(session: Session, now: datetime) -> dict:
    """Create ahead first: a month's partition must exist before its first row comes in."""
    created = sending.create_partitions_ahead(session, now)
    session.commit()
    days = current_app.config["LOG_RETENTION_DAYS"]
    dropped = sending.drop_expired_partitions(session, now, days=days)
    return {"created": created, "dropped": dropped}
