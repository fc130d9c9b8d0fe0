"""cost and limits: pricing on message logs, rate cards, the messaging limit, caps

- drip_message_logs: what Meta's status webhooks said of the price (billable, model, type,
  category), the recipient's market, the cost by the rate card and its currency; and
  outside_window, a person reached against the messaging limit (partial index by organization
  and send time: the limit counts them over a moving 24 hours);
- rate_card_entries: an organization's own prices by market, category and effective date;
- organizations: the frequency cap (messages per days) and the 131049 retry count;
- whatsapp_accounts: the messaging limit; drip_campaigns: frequency_cap_exempt;
- drip_enrollments: wait_reason, why a sending rule pushed next_send_at back.

Plain ADD COLUMNs only: SQLite cannot rebuild the tables the rollup triggers name.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 04:55:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
LOG_COLUMNS = (
    ('outside_window', sa.Boolean()),
    ('pricing_billable', sa.Boolean()),
    ('pricing_model', sa.String(length=16)),
    ('pricing_type', sa.String(length=32)),
    ('pricing_category', sa.String(length=32)),
    ('market', sa.String(length=64)),
    ('cost', sa.Numeric(precision=12, scale=6)),
    ('currency', sa.String(length=3)),
)


def upgrade():
    op.create_table('rate_card_entries',
    sa.Column('organization_id', ID, nullable=False),
    sa.Column('market', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=6), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('id', ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_rate_card_entries_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_card_entries')),
    sa.UniqueConstraint('organization_id', 'market', 'category', 'effective_from', name=op.f('uq_rate_card_entries_organization_id_market_category_effective_from'))
    )
    op.create_index(op.f('ix_rate_card_entries_organization_id'), 'rate_card_entries', ['organization_id'], unique=False)
    op.add_column('drip_campaigns', sa.Column('frequency_cap_exempt', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('drip_enrollments', sa.Column('wait_reason', sa.String(length=32), nullable=True))
    for name, type_ in LOG_COLUMNS:
        op.add_column('drip_message_logs', sa.Column(name, type_, nullable=True))
    op.create_index('ix_drip_message_logs_org_reached', 'drip_message_logs', ['organization_id', 'sent_at'], unique=False, postgresql_where=sa.text('outside_window'), sqlite_where=sa.text('outside_window'))
    op.add_column('organizations', sa.Column('frequency_cap_messages', sa.Integer(), nullable=True))
    op.add_column('organizations', sa.Column('frequency_cap_days', sa.Integer(), nullable=True))
    op.add_column('organizations', sa.Column('marketing_cap_retries', sa.Integer(), server_default='3', nullable=False))
    op.add_column('whatsapp_accounts', sa.Column('messaging_limit', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('whatsapp_accounts', 'messaging_limit')
    op.drop_column('organizations', 'marketing_cap_retries')
    op.drop_column('organizations', 'frequency_cap_days')
    op.drop_column('organizations', 'frequency_cap_messages')
    op.drop_index('ix_drip_message_logs_org_reached', table_name='drip_message_logs', postgresql_where=sa.text('outside_window'), sqlite_where=sa.text('outside_window'))
    for name, _ in reversed(LOG_COLUMNS):
        op.drop_column('drip_message_logs', name)
    op.drop_column('drip_enrollments', 'wait_reason')
    op.drop_column('drip_campaigns', 'frequency_cap_exempt')
    op.drop_index(op.f('ix_rate_card_entries_organization_id'), table_name='rate_card_entries')
    op.drop_table('rate_card_entries')
