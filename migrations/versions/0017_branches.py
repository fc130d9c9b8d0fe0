"""journeys that branch: a step's branch, and the path each enrollment and message took

- drip_campaign_steps.branch: what the step waits for after it is sent (read, replied,
  clicked, the campaign's goal) and for how long, where each event leads and where the wait
  running out leads (JSON; app.drip.enrollment.branching reads and checks it);
- drip_enrollments.via_step_id, via: how the enrollment reached its current step (the step
  it came from, and "next", "timeout" or the event of that step's branch);
- drip_message_logs.via_step_id, via: the same, copied when the message is claimed, so the
  funnel counts each step's arrivals by the path that led there.

No foreign keys on the via columns: SQLite cannot add one to the tables the rollup triggers
name without rebuilding them, and steps are only ever soft-deleted. Plain ADD COLUMNs.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 10:15:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade():
    op.add_column('drip_campaign_steps', sa.Column('branch', JSON, nullable=True))
    for table in ('drip_enrollments', 'drip_message_logs'):
        op.add_column(table, sa.Column('via_step_id', ID, nullable=True))
        op.add_column(table, sa.Column('via', sa.String(length=16), nullable=True))


def downgrade():
    for table in ('drip_message_logs', 'drip_enrollments'):
        op.drop_column(table, 'via')
        op.drop_column(table, 'via_step_id')
    op.drop_column('drip_campaign_steps', 'branch')
