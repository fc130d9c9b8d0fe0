"""Rollup and A/B trigger functions plan their statement for large changes (PostgreSQL)

The statement-level trigger functions of 0006 and 0007 ran their statement as static
PL/pgSQL SQL, whose plan is cached per connection on first use. A statement without
parameters keeps that first plan, built for the first statement's transition tables: after a
one-row UPDATE, a bulk UPDATE on the same pooled connection joined its old and new rows with a
nested loop (20,000 rows: 17.6 s instead of 0.1 s; seen by bench/load.py). Planning on every
run (EXECUTE) costs about a millisecond per trigger, six times the whole one-row UPDATE that
a webhook status makes: so statements of up to SMALL rows keep the cached plan (made for a
few rows, which is what they are), and larger ones run through EXECUTE, planned for the rows
at hand. SQLite's row triggers have no such cache: nothing changes there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 06:00:00

"""

import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FUNCTIONS = tuple(
    f"{prefix}_{event}"
    for prefix in ("drip_log_rollup", "drip_enrollment_rollup", "drip_log_ab")
    for event in ("insert", "update")
)
SMALL = 64
STATIC = re.compile(r"\s*BEGIN (?P<sql>.*); RETURN NULL; END\s*", re.S)
HYBRID = re.compile(
    r"\s*BEGIN IF \(SELECT count\(\*\) FROM new_rows\) <= \d+ THEN (?P<sql>.*);"
    r" ELSE EXECUTE \$q\$.*\$q\$; END IF; RETURN NULL; END\s*",
    re.S,
)


def _rewrite(pattern: re.Pattern, body) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for name in FUNCTIONS:
        source = bind.scalar(
            sa.text(
                "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace"
                " WHERE p.proname = :name AND s.nspname = current_schema()"
            ),
            {"name": name},
        )
        sql = pattern.fullmatch(source).group("sql")
        # jit off as in 0006: a cached plan must not be JIT-compiled again on every statement.
        op.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql"
            f" SET jit = off AS $fn${body(sql)}$fn$"
        )


def hybrid(sql: str) -> str:
    return (
        f"BEGIN IF (SELECT count(*) FROM new_rows) <= {SMALL} THEN {sql};"
        f" ELSE EXECUTE $q${sql}$q$; END IF; RETURN NULL; END"
    )


def upgrade():
    _rewrite(STATIC, hybrid)


def downgrade():
    _rewrite(HYBRID, lambda sql: f"BEGIN {sql}; RETURN NULL; END")
