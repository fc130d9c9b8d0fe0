"""goals, conversions and holdouts; A/B test tuning and maximum duration

- drip_events: what contacts did, posted through POST /api/events, idempotent per organization
  by the sender's id (external_id);
- drip_holdouts: contacts in a campaign's holdout, never messaged (apart from drip_enrollments,
  so the funnel and its rollups stay those of the messaged);
- drip_conversions: an enrollment or a holdout that reached its campaign's goal (at most one
  each), with the event's value and the message it is attributed to (the last sent before it;
  no foreign key to the logs, which retention purges);
- drip_campaigns: the goal (event name, days), exit on goal, the holdout share and its salt;
- drip_ab_tests: the planned sample size the test is tuned for, and its maximum duration.

Plain ADD COLUMNs only: SQLite cannot rebuild the tables the rollup triggers name.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 07:48:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _fk(table, column, target):
    return sa.ForeignKeyConstraint(
        [column], [f'{target}.id'], name=op.f(f'fk_{table}_{column}_{target}'), ondelete='CASCADE'
    )


def upgrade():
    op.create_table('drip_events',
    sa.Column('organization_id', ID, nullable=False),
    sa.Column('contact_id', ID, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', ID, nullable=False),
    _fk('drip_events', 'contact_id', 'contacts'),
    _fk('drip_events', 'organization_id', 'organizations'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_events')),
    sa.UniqueConstraint('organization_id', 'external_id', name=op.f('uq_drip_events_organization_id_external_id'))
    )
    op.create_index('ix_drip_events_contact_occurred', 'drip_events', ['contact_id', 'occurred_at'])
    op.create_index('ix_drip_events_org_name_occurred', 'drip_events', ['organization_id', 'name', 'occurred_at'])
    op.create_index(op.f('ix_drip_events_organization_id'), 'drip_events', ['organization_id'])

    op.create_table('drip_holdouts',
    sa.Column('organization_id', ID, nullable=False),
    sa.Column('campaign_id', ID, nullable=False),
    sa.Column('contact_id', ID, nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', ID, nullable=False),
    _fk('drip_holdouts', 'campaign_id', 'drip_campaigns'),
    _fk('drip_holdouts', 'contact_id', 'contacts'),
    _fk('drip_holdouts', 'organization_id', 'organizations'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_holdouts')),
    sa.UniqueConstraint('campaign_id', 'contact_id', name=op.f('uq_drip_holdouts_campaign_id_contact_id'))
    )
    op.create_index(op.f('ix_drip_holdouts_contact_id'), 'drip_holdouts', ['contact_id'])
    op.create_index(op.f('ix_drip_holdouts_organization_id'), 'drip_holdouts', ['organization_id'])

    op.create_table('drip_conversions',
    sa.Column('organization_id', ID, nullable=False),
    sa.Column('campaign_id', ID, nullable=False),
    sa.Column('enrollment_id', ID, nullable=True),
    sa.Column('holdout_id', ID, nullable=True),
    sa.Column('contact_id', ID, nullable=False),
    sa.Column('event_id', ID, nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('attributed_log_id', ID, nullable=True),
    sa.Column('attributed_step_id', ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', ID, nullable=False),
    _fk('drip_conversions', 'campaign_id', 'drip_campaigns'),
    _fk('drip_conversions', 'contact_id', 'contacts'),
    _fk('drip_conversions', 'enrollment_id', 'drip_enrollments'),
    _fk('drip_conversions', 'event_id', 'drip_events'),
    _fk('drip_conversions', 'holdout_id', 'drip_holdouts'),
    sa.CheckConstraint('(enrollment_id IS NULL) <> (holdout_id IS NULL)', name=op.f('ck_drip_conversions_enrollment_or_holdout')),
    _fk('drip_conversions', 'organization_id', 'organizations'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_conversions')),
    sa.UniqueConstraint('enrollment_id', name=op.f('uq_drip_conversions_enrollment_id')),
    sa.UniqueConstraint('holdout_id', name=op.f('uq_drip_conversions_holdout_id'))
    )
    op.create_index('ix_drip_conversions_campaign_occurred', 'drip_conversions', ['campaign_id', 'occurred_at'])
    op.create_index(op.f('ix_drip_conversions_contact_id'), 'drip_conversions', ['contact_id'])
    op.create_index(op.f('ix_drip_conversions_event_id'), 'drip_conversions', ['event_id'])
    op.create_index(op.f('ix_drip_conversions_organization_id'), 'drip_conversions', ['organization_id'])

    op.add_column('drip_ab_tests', sa.Column('planned_sample_size', sa.Integer(), nullable=True))
    op.add_column('drip_ab_tests', sa.Column('max_duration_days', sa.Integer(), nullable=True))
    op.add_column('drip_campaigns', sa.Column('goal_event', sa.String(length=100), nullable=True))
    op.add_column('drip_campaigns', sa.Column('goal_within_days', sa.Integer(), nullable=True))
    op.add_column('drip_campaigns', sa.Column('exit_on_goal', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('drip_campaigns', sa.Column('holdout_percent', sa.Integer(), server_default='0', nullable=False))
    op.add_column('drip_campaigns', sa.Column('holdout_salt', sa.String(length=32), nullable=True))


def downgrade():
    for column in ('holdout_salt', 'holdout_percent', 'exit_on_goal', 'goal_within_days', 'goal_event'):
        op.drop_column('drip_campaigns', column)
    op.drop_column('drip_ab_tests', 'max_duration_days')
    op.drop_column('drip_ab_tests', 'planned_sample_size')
    for index in ('ix_drip_conversions_organization_id', 'ix_drip_conversions_event_id', 'ix_drip_conversions_contact_id', 'ix_drip_conversions_campaign_occurred'):
        op.drop_index(index, table_name='drip_conversions')
    op.drop_table('drip_conversions')
    op.drop_index('ix_drip_holdouts_organization_id', table_name='drip_holdouts')
    op.drop_index('ix_drip_holdouts_contact_id', table_name='drip_holdouts')
    op.drop_table('drip_holdouts')
    for index in ('ix_drip_events_organization_id', 'ix_drip_events_org_name_occurred', 'ix_drip_events_contact_occurred'):
        op.drop_index(index, table_name='drip_events')
    op.drop_table('drip_events')
