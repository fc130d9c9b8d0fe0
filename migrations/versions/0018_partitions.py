"""history partitioned by month on PostgreSQL: status events, webhook deliveries, inbound

Which tables, and why:

- whatsapp_status_events, by message_created_at, a new column: the created_at of the message
  log the event belongs to (every event is recorded for a known log);
- inbound_messages, by occurred_at (Meta's timestamp of the message);
- webhook_events, by received_at (when the delivery came in; the body carries no one time).

They are append-only and only ever looked up by key, so retention can drop a whole month
(app.drip.sending.partitions) instead of deleting rows, which is what bloated the tables.
PostgreSQL requires a partitioned table's unique keys to include the partition key, so:

- status events: unique (organization_id, wamid, status, message_created_at). A wamid belongs
  to one log, so message_created_at is the same for every status of a wamid: a repeat of a
  status (a redelivery, a replayed webhook, even one carrying another timestamp from Meta)
  has the same key, lands in the same partition and hits that partition's unique index: it
  is recorded and applied once, as before. Meta's timestamp (occurred_at) could not be the
  key: a repeat with another one would be a second row. Existing rows take their log's
  created_at, or their occurred_at where the log is gone (message_log_id null), filled in
  the copy itself (one pass over the rows, not an UPDATE of every row and then a copy).
- inbound messages: unique (organization_id, wa_message_id, occurred_at), the same argument
  (a message's timestamp is when the contact sent it; every redelivery repeats it).
- webhook deliveries: unique (body_sha256, received_at) only, since a repeat of the same body
  comes in at another time. The dedup stays exact in the code: app.drip.engagement.webhooks.
  record_delivery takes a transaction advisory lock on the body's hash, then looks the hash up
  (ix_webhook_events_body_sha256, every partition) before inserting, so two copies of one body
  serialize and the second finds the first.

The primary keys become (id, partition key); ids still come from the one sequence, owned by
the new table. The message log is NOT partitioned: its unique (enrollment_id, step_id) is the
exactly-once guard and its unique wamid is what statuses are matched on; both would have to
include created_at (no longer exact) or move to a guard table as large as the log, status
events and links reference it by foreign key (a partitioned table can be referenced only by
its whole key), and the rollup triggers of 0006/0007/0009 hang on it. It keeps its batched
DELETE; the status events of a month's logs are dropped with their month's partition, so
the cascade from those logs finds nothing left to delete.

Partitions live in the schema "<schema>_history" (one per month, named <table>_pYYYYMM, plus
<table>_pdefault so an insert never fails), beside the application's tables and out of the
way of anything that lists them. Existing rows are copied (INSERT ... SELECT) into partitions
covering their months plus the next 2; the app's recurring job keeps 3 months ahead.

SQLite keeps plain tables: the status events get message_created_at (filled the same way)
and the unique keys change there too, so the same ON CONFLICT targets work on both databases.

Revision ID: 0018
Revises: 0017
Create Date: 2027-01-10 09:00:00

"""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

AHEAD = 2

# table: (partition key, old unique columns, new unique columns, indexes, foreign keys)
TABLES = {
    "whatsapp_status_events": (
        "message_created_at",
        ("organization_id", "wamid", "status"),
        ("organization_id", "wamid", "status", "message_created_at"),
        {
            "ix_whatsapp_status_events_message_log_id": ("message_log_id",),
            "ix_whatsapp_status_events_organization_id": ("organization_id",),
        },
        {"message_log_id": "drip_message_logs", "organization_id": "organizations"},
    ),
    "inbound_messages": (
        "occurred_at",
        ("organization_id", "wa_message_id"),
        ("organization_id", "wa_message_id", "occurred_at"),
        {
            "ix_inbound_messages_contact_received": ("contact_id", "received_at"),
            "ix_inbound_messages_organization_id": ("organization_id",),
        },
        {"contact_id": "contacts", "organization_id": "organizations"},
    ),
    "webhook_events": (
        "received_at",
        ("body_sha256",),
        ("body_sha256", "received_at"),
        {
            "ix_webhook_events_applied_received": ("applied_at", "received_at"),
            "ix_webhook_events_organization_id": ("organization_id",),
        },
        {"organization_id": "organizations"},
    ),
}
BODY_INDEX = ("ix_webhook_events_body_sha256", ("body_sha256",))
EVENTS = "whatsapp_status_events"
# An event's log's created_at; Meta's time where the log is gone (message_log_id null).
LOG_TIME = "coalesce(l.created_at, e.occurred_at)"
LOG_JOIN = "LEFT JOIN drip_message_logs l ON l.id = e.message_log_id"


def _uq(table, columns):
    if len(columns) == 4:  # the convention's name would pass PostgreSQL's 63 characters
        return f"uq_{table}_key"
    return f"uq_{table}_{'_'.join(columns)}"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        _sqlite_keys(new=True)
        return
    history = _history_schema()
    op.execute(f'CREATE SCHEMA IF NOT EXISTS "{history}"')
    # Without a default, adding the column only changes the catalog; the copy fills it.
    op.add_column(EVENTS, sa.Column("message_created_at", sa.DateTime(timezone=True)))
    for table, (key, _old, new, indexes, fks) in TABLES.items():
        _rebuild(table, f"PARTITION BY RANGE ({key})")
        if table == EVENTS:
            # The logs' months and Meta's: every value the copy gives lies between them.
            _partitions(table, history, ("created_at", "drip_message_logs"), ("occurred_at", None))
        else:
            _partitions(table, history, (key, None))
        _copy(table)
        _constraints(table, (f"id, {key}"), new, indexes, fks)
        if table == "webhook_events":
            op.create_index(BODY_INDEX[0], table, list(BODY_INDEX[1]))


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        _sqlite_keys(new=False)
        return
    for table, (_key, old, _new, indexes, fks) in TABLES.items():
        _rebuild(table, "")
        _copy(table)
        if table == EVENTS:
            op.drop_column(EVENTS, "message_created_at")
        _constraints(table, "id", old, indexes, fks)
    op.execute(f'DROP SCHEMA IF EXISTS "{_history_schema()}"')


def _history_schema():
    return op.get_bind().execute(sa.text("SELECT current_schema()")).scalar() + "_history"


def _rebuild(table, partitioning):
    """<table>_new with the same columns and defaults (the id sequence's nextval), then the old
    table renamed out of the way; its sequence is handed to the new one before it goes."""
    op.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
    op.execute(
        f"CREATE TABLE {table} (LIKE {table}_old INCLUDING DEFAULTS INCLUDING STORAGE)"
        f" {partitioning}"
    )


def _copy(table):
    if table == EVENTS and _partitioned(table):
        columns = sa.inspect(op.get_bind()).get_columns(f"{table}_old")
        columns = [c for c in columns if c["name"] != "message_created_at"]
        names = ", ".join(c["name"] for c in columns)
        picked = ", ".join(f"e.{c['name']}" for c in columns)
        op.execute(
            f"INSERT INTO {table} ({names}, message_created_at)"
            f" SELECT {picked}, {LOG_TIME} FROM {table}_old e {LOG_JOIN}"
        )
    else:
        op.execute(f"INSERT INTO {table} SELECT * FROM {table}_old")
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    op.execute(f"DROP TABLE {table}_old")


def _constraints(table, primary_key, unique, indexes, fks):
    # Built after the copy: one index build over the rows is faster than maintaining it
    # row by row. On a partitioned table each is created on every partition too.
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({primary_key})")
    op.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT {_uq(table, unique)} UNIQUE ({', '.join(unique)})"
    )
    for name, columns in indexes.items():
        op.create_index(name, table, list(columns))
    for column, target in fks.items():
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT fk_{table}_{column}_{target}"
            f" FOREIGN KEY ({column}) REFERENCES {target}(id) ON DELETE CASCADE"
        )


def _partitioned(table):
    found = op.get_bind().execute(
        sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
    )
    return found.scalar() == "p"


def _partitions(table, history, *sources):
    """A partition for every month the old rows cover (the span of the (column, table) sources;
    table None: the old rows), the next AHEAD months, and a default."""
    bind = op.get_bind()
    today = datetime.now(UTC).date().replace(day=1)
    month, last = today, _add_months(today, AHEAD)
    for column, source in sources:
        span = f"SELECT min({column}), max({column}) FROM {source or f'{table}_old'}"
        first, newest = bind.execute(sa.text(span)).one()
        if first is not None:
            month, last = min(month, _month(first)), max(last, _month(newest))
    while month <= last:
        following = _add_months(month, 1)
        op.execute(
            f'CREATE TABLE "{history}".{table}_p{month:%Y%m} PARTITION OF {table}'
            f" FOR VALUES FROM ('{month} 00:00+00') TO ('{following} 00:00+00')"
        )
        month = following
    op.execute(f'CREATE TABLE "{history}".{table}_pdefault PARTITION OF {table} DEFAULT')


def _month(at):
    return at.astimezone(UTC).date().replace(day=1)


def _add_months(month, n):
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _sqlite_keys(*, new):
    if new:
        op.add_column(EVENTS, sa.Column("message_created_at", sa.DateTime(timezone=True)))
        op.execute(
            f"UPDATE {EVENTS} SET message_created_at = coalesce((SELECT l.created_at FROM"
            f" drip_message_logs l WHERE l.id = {EVENTS}.message_log_id), occurred_at)"
        )
    for table, (_key, old, extended, _indexes, _fks) in TABLES.items():
        drop, add = (old, extended) if new else (extended, old)
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_uq(table, drop), type_="unique")
            batch.create_unique_constraint(_uq(table, add), list(add))
            if table == EVENTS:
                # The table is rebuilt for the key anyway: the column can be NOT NULL as on
                # PostgreSQL (where it is part of the primary key).
                if new:
                    batch.alter_column("message_created_at", nullable=False)
                else:
                    batch.drop_column("message_created_at")
            if table == "webhook_events":
                if new:
                    batch.create_index(BODY_INDEX[0], list(BODY_INDEX[1]))
                else:
                    batch.drop_index(BODY_INDEX[0])
