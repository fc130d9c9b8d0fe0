"""enrollment last step (funnel drop-offs) and completed_at index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 01:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('drip_enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_step_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_drip_enrollments_last_step_id_drip_campaign_steps'), 'drip_campaign_steps', ['last_step_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_drip_enrollments_campaign_completed_at', ['campaign_id', 'completed_at'], unique=False)
    # The furthest step (by position) each enrollment has a message log for.
    op.execute(
        """
        UPDATE drip_enrollments SET last_step_id = (
            SELECT l.step_id FROM drip_message_logs l
            JOIN drip_campaign_steps s ON s.id = l.step_id
            WHERE l.enrollment_id = drip_enrollments.id
            ORDER BY s.position DESC, l.id DESC LIMIT 1
        )
        """
    )


def downgrade():
    with op.batch_alter_table('drip_enrollments', schema=None) as batch_op:
        batch_op.drop_index('ix_drip_enrollments_campaign_completed_at')
        batch_op.drop_constraint(batch_op.f('fk_drip_enrollments_last_step_id_drip_campaign_steps'), type_='foreignkey')
        batch_op.drop_column('last_step_id')
