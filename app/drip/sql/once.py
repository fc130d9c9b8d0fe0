"""INSERT ... ON CONFLICT DO NOTHING, on PostgreSQL and SQLite: the way engagement records an
event once. A repeat inserts nothing and raises nothing, so it never aborts the caller's
transaction (PostgreSQL would, after a failed INSERT, without a savepoint)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_once(session: Session, model: type, values: dict, unique: Sequence[str]) -> int | None:
    """Insert one row unless a row with the same `unique` columns exists; the new row's id,
    or None when it was already there."""
    table = model.__table__
    dialect = session.get_bind().dialect.name
    builder = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        builder(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(table.c.id)
    )
    return session.execute(statement).scalar()


def insert_many_once(
    session: Session, model: type, rows: list[dict], unique: Sequence[str]
) -> set[tuple]:
    """Insert the rows whose `unique` columns are not taken yet, in one statement; the
    `unique` values of the rows that went in."""
    if not rows:
        return set()
    table = model.__table__
    dialect = session.get_bind().dialect.name
    builder = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # executemany of one cached statement: SQLAlchemy batches it into multi-row INSERTs
    # ("insertmanyvalues") without compiling a new statement for every batch.
    statement = (
        builder(table)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(*(table.c[name] for name in unique))
    )
    return {tuple(row) for row in session.execute(statement, rows)}
