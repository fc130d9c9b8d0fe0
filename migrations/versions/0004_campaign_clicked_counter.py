"""campaign clicked counter

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 00:56:07.671058

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401 - autogenerate writes JSONB(astext_type=Text())


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('drip_campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clicked_count', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('drip_campaigns', schema=None) as batch_op:
        batch_op.drop_column('clicked_count')

