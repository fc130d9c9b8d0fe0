"""Portable statement helpers: insert-once, bulk upserts, batched updates, id lists, plan control,
time in SQL."""

from app.drip.sql.bulk import CHUNK_ROWS, chunked, dialect_name, upsert_insert
from app.drip.sql.once import insert_many_once, insert_once
from app.drip.sql.rows import Rows
from app.drip.sql.statements import fresh_plans, id_in, savepoint_on_postgresql
from app.drip.sql.time import (
    BUCKET_SECONDS,
    as_utc,
    bucket_bounds,
    bucket_number,
    bucket_range,
    day_range_utc,
    epoch_seconds,
)

__all__ = [
    "BUCKET_SECONDS",
    "CHUNK_ROWS",
    "Rows",
    "as_utc",
    "bucket_bounds",
    "bucket_number",
    "bucket_range",
    "chunked",
    "day_range_utc",
    "dialect_name",
    "epoch_seconds",
    "fresh_plans",
    "id_in",
    "insert_many_once",
    "insert_once",
    "savepoint_on_postgresql",
    "upsert_insert",
]
