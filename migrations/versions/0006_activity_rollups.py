"""activity and enrollment rollups kept by triggers

The analytics count a campaign's messages from drip_activity_rollups: signed deltas written by
the triggers below in the same transaction as the log change (so they are exact, and a crash
loses nothing), merged by the compact job. PostgreSQL uses statement-level triggers with
transition tables (one grouped INSERT per statement); SQLite uses row triggers. Both run the
same set-based INSERT ... SELECT, written once here with each dialect's time arithmetic.
Nothing subtracts on DELETE: counts outlive the logs' retention.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 02:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BUCKET_SECONDS = 900
# Log columns the facts read; a change to any other column (attempts, wamid...) is ignored.
COLUMNS = (
    "organization_id", "enrollment_id", "campaign_id", "step_id", "status", "created_at",
    "sent_at", "delivered_at", "read_at", "replied_at", "clicked_at", "failed_at", "error_code",
)
# Metric numbers follow app.drip.activity.METRICS; each metric's time, NULL when it did not happen.
METRIC_TIME = """CASE m.metric
    WHEN 0 THEN c.created_at WHEN 1 THEN c.sent_at WHEN 2 THEN coalesce(c.delivered_at, c.read_at)
    WHEN 3 THEN c.read_at WHEN 4 THEN c.replied_at WHEN 5 THEN c.clicked_at
    WHEN 6 THEN CASE WHEN c.status = 'failed' THEN coalesce(c.failed_at, c.created_at) END END"""
DIALECT_TIME = {
    "postgresql": {
        "epoch": "CAST(floor(extract(epoch FROM {0})) AS BIGINT)",
        "delay": "greatest(CAST(round(extract(epoch FROM ({0} - c.sent_at))) AS BIGINT), 0)",
        "numeric": "c.error_code ~ '^[0-9]{1,15}$'",
    },
    "sqlite": {
        "epoch": "CAST(strftime('%s', {0}) AS INTEGER)",
        "delay": "max(CAST(round((julianday({0}) - julianday(c.sent_at)) * 86400) AS INTEGER), 0)",
        "numeric": "(c.error_code <> '' AND c.error_code NOT GLOB '*[^0-9]*')",
    },
}


def facts_insert(dialect: str, changed: str) -> str:
    """INSERT the signed counts of `changed` (a SELECT of sign + COLUMNS) on the four axes:
    event time, enrollment time, send-to-read / send-to-reply delay in seconds, and the error
    code of a failure (its number; -1 for the stale rule's "stale", 0 for none)."""
    time = DIALECT_TIME[dialect]
    at = f"({METRIC_TIME})"
    bucket = f"""CASE a.axis
        WHEN 0 THEN {time['epoch'].format(at)} / {BUCKET_SECONDS}
        WHEN 1 THEN {time['epoch'].format('c.enrolled_at')} / {BUCKET_SECONDS}
        WHEN 2 THEN CASE WHEN m.metric IN (3, 4) AND c.sent_at IS NOT NULL
                    THEN {time['delay'].format(at)} END
        WHEN 3 THEN CASE WHEN m.metric = 6 THEN CASE
                    WHEN {time['numeric']} THEN CAST(c.error_code AS BIGINT)
                    WHEN c.error_code = 'stale' THEN -1 ELSE 0 END END END"""
    return f"""
    INSERT INTO drip_activity_rollups
        (organization_id, campaign_id, step_id, axis, metric, bucket, count)
    SELECT c.organization_id, c.campaign_id, c.step_id, a.axis, m.metric, {bucket}, sum(c.sign)
    FROM ({changed}) c
    CROSS JOIN (SELECT 0 AS metric UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
                UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6) m
    CROSS JOIN (SELECT 0 AS axis UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) a
    WHERE {at} IS NOT NULL AND ({bucket}) IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(c.sign) <> 0"""


def selected(sign: int, alias: str, columns=COLUMNS) -> str:
    """SELECT of a changed row's columns with its sign; a log also brings its enrollment's
    time, looked up by primary key (a join would let the generic plan a trigger caches,
    made for transition tables of unknown size, scan drip_enrollments)."""
    values = ", ".join(f"{alias}.{c} AS {c}" for c in columns)
    if columns is COLUMNS:
        values += (
            ", (SELECT e.enrolled_at FROM drip_enrollments e"
            f" WHERE e.id = {alias}.enrollment_id) AS enrolled_at"
        )
    return f"SELECT {sign} AS sign, {values}"


ENROLLMENT_COLUMNS = (
    "organization_id", "campaign_id", "enrolled_at", "completed_at", "last_step_id", "status",
    "stop_reason",
)


def enrollment_facts_insert(dialect: str, changed: str) -> str:
    """INSERT the signed counts of `changed` enrollments by campaign, enrollment bucket,
    completion bucket (-1: not completed), furthest step (0: none yet), status and whether it
    stopped on a reply. No NULL in a key, so that keys compare with = when merged."""
    epoch = DIALECT_TIME[dialect]["epoch"]
    return f"""
    INSERT INTO drip_enrollment_rollups (organization_id, campaign_id, enrolled_bucket,
        completed_bucket, last_step_id, status, replied, count)
    SELECT c.organization_id, c.campaign_id, {epoch.format('c.enrolled_at')} / {BUCKET_SECONDS},
        coalesce({epoch.format('c.completed_at')} / {BUCKET_SECONDS}, -1),
        coalesce(c.last_step_id, 0), c.status,
        CASE WHEN c.stop_reason = 'replied' THEN 1 ELSE 0 END, sum(c.sign)
    FROM ({changed}) c
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(c.sign) <> 0"""


# (source table, trigger name, columns read, the INSERT of the facts)
ROLLUPS = (
    ("drip_message_logs", "drip_log_rollup", COLUMNS, facts_insert),
    ("drip_enrollments", "drip_enrollment_rollup", ENROLLMENT_COLUMNS, enrollment_facts_insert),
)


def postgresql_triggers(table, prefix, columns, facts) -> list[str]:
    moved = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in columns)
    update_changed = (
        f"{selected(-1, 'o', columns)} FROM old_rows o JOIN new_rows n ON n.id = o.id"
        f" WHERE {moved} UNION ALL {selected(1, 'n', columns)} FROM new_rows n"
        f" JOIN old_rows o ON o.id = n.id WHERE {moved}"
    )
    inserted = f"{selected(1, 'n', columns)} FROM new_rows n"
    statements = []
    for name, changed, referencing, event in (
        ("insert", inserted, "NEW TABLE AS new_rows", "INSERT"),
        ("update", update_changed, "OLD TABLE AS old_rows NEW TABLE AS new_rows", "UPDATE"),
    ):
        statements += [
            # jit off: the plan a trigger caches on its first (maybe large) statement would
            # otherwise be JIT-compiled again on every later one-row statement (~1 s each).
            f"""CREATE FUNCTION {prefix}_{name}() RETURNS trigger LANGUAGE plpgsql
            SET jit = off AS $fn$
            BEGIN {facts('postgresql', changed)}; RETURN NULL; END $fn$""",
            f"""CREATE TRIGGER {prefix}_{name} AFTER {event} ON {table}
            REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {prefix}_{name}()""",
        ]
    return statements


def sqlite_triggers(table, prefix, columns, facts) -> list[str]:
    moved = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    new, old = selected(1, "NEW", columns), selected(-1, "OLD", columns)
    return [
        f"""CREATE TRIGGER {prefix}_insert AFTER INSERT ON {table}
        BEGIN {facts('sqlite', new)}; END""",
        f"""CREATE TRIGGER {prefix}_update AFTER UPDATE ON {table} WHEN {moved}
        BEGIN {facts('sqlite', old)}; {facts('sqlite', new)}; END""",
    ]


def upgrade():
    op.create_table('drip_activity_rollups',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('axis', sa.SmallInteger(), nullable=False),
    sa.Column('metric', sa.SmallInteger(), nullable=False),
    sa.Column('bucket', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['drip_campaigns.id'], name=op.f('fk_drip_activity_rollups_campaign_id_drip_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_drip_activity_rollups_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_activity_rollups'))
    )
    with op.batch_alter_table('drip_activity_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_drip_activity_rollups_key', ['campaign_id', 'axis', 'bucket', 'step_id', 'metric'], unique=False)
        batch_op.create_index(batch_op.f('ix_drip_activity_rollups_organization_id'), ['organization_id'], unique=False)

    op.create_table('drip_enrollment_rollups',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('enrolled_bucket', sa.BigInteger(), nullable=False),
    sa.Column('completed_bucket', sa.BigInteger(), nullable=False),
    sa.Column('last_step_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('replied', sa.SmallInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['drip_campaigns.id'], name=op.f('fk_drip_enrollment_rollups_campaign_id_drip_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_drip_enrollment_rollups_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_enrollment_rollups'))
    )
    with op.batch_alter_table('drip_enrollment_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_drip_enrollment_rollups_key', ['campaign_id', 'enrolled_bucket', 'completed_bucket', 'last_step_id', 'status', 'replied'], unique=False)
        batch_op.create_index(batch_op.f('ix_drip_enrollment_rollups_organization_id'), ['organization_id'], unique=False)

    dialect = op.get_bind().dialect.name
    for table, prefix, columns, facts in ROLLUPS:
        # The rows so far, counted once, before the triggers count what comes next.
        op.execute(facts(dialect, f"{selected(1, 'l', columns)} FROM {table} l"))
        make = postgresql_triggers if dialect == "postgresql" else sqlite_triggers
        for statement in make(table, prefix, columns, facts):
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for table, prefix, _, _ in ROLLUPS:
        for name in ("insert", "update"):
            on = f" ON {table}" if dialect == "postgresql" else ""
            op.execute(f"DROP TRIGGER IF EXISTS {prefix}_{name}{on}")
            if dialect == "postgresql":
                op.execute(f"DROP FUNCTION IF EXISTS {prefix}_{name}()")
    with op.batch_alter_table('drip_enrollment_rollups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drip_enrollment_rollups_organization_id'))
        batch_op.drop_index('ix_drip_enrollment_rollups_key')

    op.drop_table('drip_enrollment_rollups')
    with op.batch_alter_table('drip_activity_rollups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drip_activity_rollups_organization_id'))
        batch_op.drop_index('ix_drip_activity_rollups_key')

    op.drop_table('drip_activity_rollups')
