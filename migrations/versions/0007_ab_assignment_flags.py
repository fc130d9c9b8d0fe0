"""A/B assignment flags kept by triggers on drip_message_logs; variant counters dropped

An assignment (test, contact) copies the engagement flags of the contact's message log of the
test's step: sent_at, delivered_at, read_at, replied_at, clicked_at, and message_log_id. The
triggers below keep that copy in the same transaction as every change of a log that carries a
variant (processor, webhook statuses, replies, clicks, the stale rule), so it is exact and a
crash loses nothing. PostgreSQL uses statement-level triggers with transition tables (one
UPDATE per statement), SQLite row triggers, as in 0006.

An assignment follows one log: the first that names it (message_log_id), so a contact's
second enrollment, sent the same variant, does not overwrite the first send's outcome.

Variant counts are the assignments aggregated per analysis phase (app.drip.ab_results), so
the counter columns of drip_ab_variants, never written, are dropped.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 04:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COUNTERS = ("assigned", "sent", "delivered", "read", "replied", "clicked")
FLAGS = ("sent_at", "delivered_at", "read_at", "replied_at", "clicked_at")
# Log columns whose change moves an assignment.
WATCHED = ("variant_id", "contact_id", *FLAGS)


def copy_flags(changed: str) -> str:
    """UPDATE the assignments of `changed` (a SELECT of id, contact_id, test_id and FLAGS)."""
    flags = ", ".join(f"{f} = c.{f}" for f in FLAGS)
    return f"""
    UPDATE drip_variant_assignments AS a
    SET message_log_id = c.id, {flags}
    FROM ({changed}) AS c
    WHERE a.test_id = c.test_id AND a.contact_id = c.contact_id
      AND (a.message_log_id IS NULL OR a.message_log_id = c.id)"""


def with_test(alias: str) -> str:
    """The log columns copy_flags() reads, with the test of the log's variant."""
    columns = ", ".join(f"{alias}.{f}" for f in FLAGS)
    return (
        f"SELECT {alias}.id, {alias}.contact_id, v.test_id, {columns}"
        f" FROM {{source}} JOIN drip_ab_variants v ON v.id = {alias}.variant_id"
    )


def postgresql_triggers() -> list[str]:
    moved = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in WATCHED)
    sources = {
        "insert": (
            with_test("n").format(source="new_rows n"),
            "NEW TABLE AS new_rows",
            "INSERT",
        ),
        "update": (
            with_test("n").format(source="new_rows n JOIN old_rows o ON o.id = n.id")
            + f" WHERE {moved}",
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "UPDATE",
        ),
    }
    statements = []
    for name, (changed, referencing, event) in sources.items():
        statements += [
            f"""CREATE FUNCTION drip_log_ab_{name}() RETURNS trigger LANGUAGE plpgsql
            SET jit = off AS $fn$
            BEGIN {copy_flags(changed)}; RETURN NULL; END $fn$""",
            f"""CREATE TRIGGER drip_log_ab_{name} AFTER {event} ON drip_message_logs
            REFERENCING {referencing} FOR EACH STATEMENT
            EXECUTE FUNCTION drip_log_ab_{name}()""",
        ]
    return statements


def sqlite_triggers() -> list[str]:
    flags = ", ".join(f"{f} = NEW.{f}" for f in FLAGS)
    body = f"""UPDATE drip_variant_assignments SET message_log_id = NEW.id, {flags}
        WHERE test_id = (SELECT test_id FROM drip_ab_variants WHERE id = NEW.variant_id)
          AND contact_id = NEW.contact_id
          AND (message_log_id IS NULL OR message_log_id = NEW.id)"""
    moved = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)
    return [
        f"""CREATE TRIGGER drip_log_ab_insert AFTER INSERT ON drip_message_logs
        WHEN NEW.variant_id IS NOT NULL
        BEGIN {body}; END""",
        f"""CREATE TRIGGER drip_log_ab_update AFTER UPDATE ON drip_message_logs
        WHEN NEW.variant_id IS NOT NULL AND ({moved})
        BEGIN {body}; END""",
    ]


def backfill() -> str:
    """The flags of assignments made before the triggers, from each one's first log."""
    first = (
        "SELECT min(l2.id) FROM drip_message_logs l2"
        " JOIN drip_ab_variants v2 ON v2.id = l2.variant_id GROUP BY v2.test_id, l2.contact_id"
    )
    changed = with_test("l").format(source="drip_message_logs l") + f" WHERE l.id IN ({first})"
    return copy_flags(changed)


def upgrade():
    for counter in COUNTERS:
        op.execute(f"ALTER TABLE drip_ab_variants DROP COLUMN {counter}_count")
    dialect = op.get_bind().dialect.name
    op.execute(backfill())
    for statement in postgresql_triggers() if dialect == "postgresql" else sqlite_triggers():
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for name in ("insert", "update"):
        op.execute(
            f"DROP TRIGGER IF EXISTS drip_log_ab_{name}"
            + (" ON drip_message_logs" if dialect == "postgresql" else "")
        )
        if dialect == "postgresql":
            op.execute(f"DROP FUNCTION IF EXISTS drip_log_ab_{name}()")
    for counter in COUNTERS:
        op.add_column(
            "drip_ab_variants",
            sa.Column(f"{counter}_count", sa.Integer(), server_default="0", nullable=False),
        )
        column = "id" if counter == "assigned" else f"{counter}_at"
        op.execute(
            f"UPDATE drip_ab_variants SET {counter}_count = (SELECT count(a.{column})"
            " FROM drip_variant_assignments a WHERE a.variant_id = drip_ab_variants.id)"
        )
