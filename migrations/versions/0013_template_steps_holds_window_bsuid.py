"""template steps, holds, the 24-hour window, verified accounts, business-scoped user ids

- drip_campaign_steps: the template's header and URL-button parameters, and a text step's
  fallback template for contacts outside their 24-hour window;
- drip_enrollments: held_at / held_template_id, an enrollment waiting on a template that
  cannot be sent (indexed: an approval releases them by template; no foreign key, see below);
- drip_message_logs: the pricing category and the template that went out;
- whatsapp_accounts: what Meta reported on verification, and a failing-since for the banner;
  business_account_id indexed (template webhooks are routed by it), as on whatsapp_templates;
- contacts: whatsapp_user_id (BSUID), unique per organization; phone may be absent when the
  BSUID is there, never both.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 04:20:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('whatsapp_user_id', sa.String(length=160), nullable=True))
        batch_op.alter_column('phone', existing_type=sa.VARCHAR(length=20), nullable=True)
        batch_op.create_unique_constraint(
            batch_op.f('uq_contacts_organization_id_whatsapp_user_id'),
            ['organization_id', 'whatsapp_user_id'],
        )
        batch_op.create_check_constraint(
            'reachable', 'phone IS NOT NULL OR whatsapp_user_id IS NOT NULL'
        )
    with op.batch_alter_table('drip_campaign_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_header', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('template_buttons', JSON, nullable=True))
        batch_op.add_column(sa.Column('fallback_template_name', sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('fallback_template_language', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('fallback_template_parameters', JSON, nullable=True))
    # No foreign key on held_template_id: SQLite cannot add one without rebuilding
    # drip_enrollments, and the rollup triggers on drip_message_logs forbid the rebuild.
    op.add_column('drip_enrollments', sa.Column('held_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('drip_enrollments', sa.Column('held_template_id', ID, nullable=True))
    op.create_index('ix_drip_enrollments_held_template', 'drip_enrollments', ['held_template_id'])
    with op.batch_alter_table('drip_message_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('template_name', sa.String(length=512), nullable=True))
    with op.batch_alter_table('whatsapp_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('quality_rating', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failure_reason', sa.Text(), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_whatsapp_accounts_business_account_id'), ['business_account_id'],
            unique=False,
        )
    with op.batch_alter_table('whatsapp_templates', schema=None) as batch_op:
        batch_op.create_index(
            'ix_whatsapp_templates_business_account', ['business_account_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('whatsapp_templates', schema=None) as batch_op:
        batch_op.drop_index('ix_whatsapp_templates_business_account')
    with op.batch_alter_table('whatsapp_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_whatsapp_accounts_business_account_id'))
        for column in ('failure_reason', 'failing_since', 'verified_at', 'quality_rating',
                       'verified_name'):
            batch_op.drop_column(column)
    with op.batch_alter_table('drip_message_logs', schema=None) as batch_op:
        batch_op.drop_column('template_name')
        batch_op.drop_column('category')
    op.drop_index('ix_drip_enrollments_held_template', table_name='drip_enrollments')
    op.drop_column('drip_enrollments', 'held_template_id')
    op.drop_column('drip_enrollments', 'held_at')
    with op.batch_alter_table('drip_campaign_steps', schema=None) as batch_op:
        for column in ('fallback_template_parameters', 'fallback_template_language',
                       'fallback_template_name', 'template_buttons', 'template_header'):
            batch_op.drop_column(column)
    # Contacts known only by a business-scoped user id cannot be kept without a phone.
    op.execute('DELETE FROM contacts WHERE phone IS NULL')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_constraint('reachable', type_='check')
        batch_op.drop_constraint(
            batch_op.f('uq_contacts_organization_id_whatsapp_user_id'), type_='unique'
        )
        batch_op.alter_column('phone', existing_type=sa.VARCHAR(length=20), nullable=False)
        batch_op.drop_column('whatsapp_user_id')
