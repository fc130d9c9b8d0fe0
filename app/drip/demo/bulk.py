"""Bulk INSERTs for the demo history that fire the tables' triggers (migrations 0006, 0007)
few times, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import JSON, text
from sqlalchemy.orm import Session

from app.drip.sql import chunked, dialect_name

UNNEST_ROWS = 5000  # rows per INSERT ... SELECT FROM unnest() on PostgreSQL


def insert_rows(session: Session, model, rows: list[dict]) -> None:
    """Bulk INSERTs that fire the tables' triggers few times. SQLite: an executemany (its
    triggers run per row anyway). PostgreSQL: one INSERT ... SELECT FROM unnest() per chunk,
    a handful of array parameters, so that the statement-level triggers see thousands of
    rows at once and the client does not render a multi-row VALUES statement."""
    if not rows:
        return
    table = model.__table__
    if dialect_name(session) != "postgresql":
        for part in chunked(rows):
            session.execute(table.insert(), part)
        return
    dialect = session.get_bind().dialect
    names = list(rows[0])
    types = [table.c[name].type for name in names]
    arrays = ", ".join(
        f"CAST(:c{i} AS {kind.compile(dialect=dialect)}[])" for i, kind in enumerate(types)
    )
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    statement = text(f"INSERT INTO {quote(table.name)} ({columns}) SELECT * FROM unnest({arrays})")
    json_columns = {name for name, kind in zip(names, types, strict=True) if _is_json(kind)}
    for part in chunked(rows, UNNEST_ROWS):
        session.execute(
            statement,
            {
                f"c{i}": [_array_item(row[name], name in json_columns) for row in part]
                for i, name in enumerate(names)
            },
        )


def _is_json(kind) -> bool:
    return isinstance(kind, JSON) or isinstance(getattr(kind, "impl", None), JSON)


def _array_item(value, is_json: bool):
    """A value as an array element: JSON as its text (cast to jsonb by the statement)."""
    return json.dumps(value) if is_json and value is not None else value
