"""How the domain's bulk statements meet the database: savepoints, fresh query plans, id
lists."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import BigInteger, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def savepoint_on_postgresql(session: Session):
    """A savepoint on PostgreSQL, which aborts the whole transaction on a failed statement;
    nothing on SQLite, which rolls back only the statement (and where pysqlite's savepoints
    would commit early)."""
    if session.get_bind().dialect.name == "postgresql":
        return session.begin_nested()
    return nullcontext()


@contextmanager
def fresh_plans(session: Session) -> Iterator[None]:
    """Plan every statement for the data it meets. psycopg prepares a statement run five
    times, and PostgreSQL may then reuse one generic plan made while a table was small (a
    per-row scan of drip_enrollments) after the batches of this very work have grown it to
    100,000 rows: minutes instead of seconds."""
    dbapi_connection = session.connection().connection.dbapi_connection
    if not hasattr(dbapi_connection, "prepare_threshold"):
        yield
        return
    saved = dbapi_connection.prepare_threshold
    dbapi_connection.prepare_threshold = None
    try:
        yield
    finally:
        dbapi_connection.prepare_threshold = saved


def id_in(session: Session, column, ids: list[int]):
    """`column IN ids` as one array parameter on PostgreSQL (constant statement text, cheap
    to send for a batch of hundreds), as an expanding IN elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))
    return column.in_(list(ids))
