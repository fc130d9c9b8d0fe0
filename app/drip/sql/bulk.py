"""Set-based writes that work on SQLite and PostgreSQL: the dialect's INSERT ... ON CONFLICT."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# Rows per multi-row INSERT: well under SQLite's 32,766 and PostgreSQL's 65,535 bind
# parameters for the widest table written this way (contacts, 8 columns).
CHUNK_ROWS = 2000


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def upsert_insert(session: Session, table: Table):
    """The INSERT of the session's dialect, the one with on_conflict_do_nothing / _do_update."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def chunked(items: list, size: int = CHUNK_ROWS):
    for start in range(0, len(items), size):
        yield items[start : start + size]
