"""Initial schema: every table of DESIGN.md "Data".

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 22:30:48.864532

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

# drip_ab_tests and drip_ab_variants point at each other.
WINNER_FK = 'fk_drip_ab_tests_winner_variant_id_drip_ab_variants'


def _sqlite():
    return op.get_bind().dialect.name == 'sqlite'


def _winner_fk():
    return sa.ForeignKeyConstraint(
        ['winner_variant_id'], ['drip_ab_variants.id'], name=WINNER_FK, ondelete='SET NULL'
    )


def upgrade():
    op.create_table('organizations',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('default_region', sa.String(length=2), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('opt_out_keywords', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('name', name=op.f('uq_organizations_name'))
    )
    op.create_table('contacts',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('first_name', sa.String(length=120), nullable=True),
    sa.Column('last_name', sa.String(length=120), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opt_out_reason', sa.String(length=64), nullable=True),
    sa.Column('undeliverable_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_inbound_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_contacts_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('organization_id', 'phone', name=op.f('uq_contacts_organization_id_phone'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index('ix_contacts_org_created', ['organization_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_organization_id'), ['organization_id'], unique=False)

    op.create_table('tags',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_tags_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
    sa.UniqueConstraint('organization_id', 'name', name=op.f('uq_tags_organization_id_name'))
    )
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tags_organization_id'), ['organization_id'], unique=False)

    op.create_table('users',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'member')", name=op.f('ck_users_role')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_users_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_organization_id'), ['organization_id'], unique=False)

    op.create_table('webhook_events',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_webhook_events_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_events')),
    sa.UniqueConstraint('body_sha256', name=op.f('uq_webhook_events_body_sha256'))
    )
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_events_applied_received', ['applied_at', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_events_organization_id'), ['organization_id'], unique=False)

    op.create_table('whatsapp_accounts',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('phone_number_id', sa.String(length=64), nullable=False),
    sa.Column('business_account_id', sa.String(length=64), nullable=True),
    sa.Column('display_phone_number', sa.String(length=32), nullable=True),
    sa.Column('access_token_encrypted', sa.Text(), nullable=False),
    sa.Column('app_secret_encrypted', sa.Text(), nullable=False),
    sa.Column('verify_token_hash', sa.String(length=64), nullable=True),
    sa.Column('api_base_url', sa.String(length=255), nullable=False),
    sa.Column('api_version', sa.String(length=16), nullable=False),
    sa.Column('messaging_tier', sa.String(length=32), nullable=True),
    sa.Column('rate_limit_per_second', sa.Integer(), nullable=False),
    sa.Column('sending_paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sending_paused_code', sa.String(length=16), nullable=True),
    sa.Column('sending_paused_reason', sa.Text(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_whatsapp_accounts_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_whatsapp_accounts')),
    sa.UniqueConstraint('organization_id', name=op.f('uq_whatsapp_accounts_organization_id')),
    sa.UniqueConstraint('phone_number_id', name=op.f('uq_whatsapp_accounts_phone_number_id'))
    )
    with op.batch_alter_table('whatsapp_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_whatsapp_accounts_verify_token_hash'), ['verify_token_hash'], unique=False)

    op.create_table('api_keys',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_api_keys_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_api_keys_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_created_by_user_id'), ['created_by_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_keys_organization_id'), ['organization_id'], unique=False)

    op.create_table('contact_tags',
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tag_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_tags_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_contact_tags_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_contact_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', 'tag_id', name=op.f('pk_contact_tags'))
    )
    with op.batch_alter_table('contact_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_tags_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_tags_tag_id'), ['tag_id'], unique=False)

    op.create_table('drip_campaigns',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('trigger_type', sa.String(length=32), nullable=False),
    sa.Column('trigger_value', sa.String(length=200), nullable=True),
    sa.Column('stop_on_reply', sa.Boolean(), nullable=False),
    sa.Column('allow_reenrollment', sa.Boolean(), nullable=False),
    sa.Column('track_links', sa.Boolean(), nullable=False),
    sa.Column('window_start', sa.Time(), nullable=True),
    sa.Column('window_end', sa.Time(), nullable=True),
    sa.Column('window_weekdays', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('window_timezone', sa.String(length=64), nullable=False),
    sa.Column('total_enrolled', sa.Integer(), nullable=False),
    sa.Column('active_count', sa.Integer(), nullable=False),
    sa.Column('completed_count', sa.Integer(), nullable=False),
    sa.Column('sent_count', sa.Integer(), nullable=False),
    sa.Column('delivered_count', sa.Integer(), nullable=False),
    sa.Column('read_count', sa.Integer(), nullable=False),
    sa.Column('replied_count', sa.Integer(), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.Column('stats_refreshed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'active', 'paused', 'archived')", name=op.f('ck_drip_campaigns_status')),
    sa.CheckConstraint("trigger_type IN ('manual', 'tag_added', 'contact_created', 'keyword')", name=op.f('ck_drip_campaigns_trigger_type')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_drip_campaigns_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_drip_campaigns_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_campaigns'))
    )
    with op.batch_alter_table('drip_campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drip_campaigns_created_by_user_id'), ['created_by_user_id'], unique=False)
        batch_op.create_index('ix_drip_campaigns_org_status', ['organization_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_drip_campaigns_organization_id'), ['organization_id'], unique=False)

    op.create_table('inbound_messages',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('wa_message_id', sa.String(length=128), nullable=False),
    sa.Column('message_type', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('context_wamid', sa.String(length=128), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_inbound_messages_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_inbound_messages_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('wa_message_id', name=op.f('uq_inbound_messages_wa_message_id'))
    )
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_messages_contact_received', ['contact_id', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_messages_organization_id'), ['organization_id'], unique=False)

    op.create_table('drip_campaign_steps',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('delay_amount', sa.Integer(), nullable=False),
    sa.Column('delay_unit', sa.String(length=16), nullable=False),
    sa.Column('message_type', sa.String(length=16), nullable=False),
    sa.Column('message_content', sa.Text(), nullable=True),
    sa.Column('template_name', sa.String(length=512), nullable=True),
    sa.Column('template_language', sa.String(length=16), nullable=True),
    sa.Column('template_parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("delay_unit IN ('minutes', 'hours', 'days')", name=op.f('ck_drip_campaign_steps_delay_unit')),
    sa.CheckConstraint("message_type IN ('text', 'template')", name=op.f('ck_drip_campaign_steps_message_type')),
    sa.CheckConstraint('delay_amount >= 0', name=op.f('ck_drip_campaign_steps_delay_amount_non_negative')),
    sa.ForeignKeyConstraint(['campaign_id'], ['drip_campaigns.id'], name=op.f('fk_drip_campaign_steps_campaign_id_drip_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_drip_campaign_steps_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_campaign_steps'))
    )
    with op.batch_alter_table('drip_campaign_steps', schema=None) as batch_op:
        batch_op.create_index('ix_drip_campaign_steps_campaign_position', ['campaign_id', 'position'], unique=False)
        batch_op.create_index(batch_op.f('ix_drip_campaign_steps_organization_id'), ['organization_id'], unique=False)

    op.create_table('drip_ab_tests',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('winning_metric', sa.String(length=32), nullable=False),
    sa.Column('confidence_threshold', sa.Float(), nullable=False),
    sa.Column('min_sample_size', sa.Integer(), nullable=False),
    sa.Column('outcome_window_hours', sa.Integer(), nullable=False),
    sa.Column('phase', sa.Integer(), nullable=False),
    sa.Column('phase_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('winner_variant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_by', sa.String(length=16), nullable=True),
    sa.Column('decision_snapshot', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'running', 'paused', 'completed')", name=op.f('ck_drip_ab_tests_status')),
    sa.CheckConstraint("winning_metric IN ('read_rate', 'reply_rate', 'delivery_rate', 'click_rate')", name=op.f('ck_drip_ab_tests_winning_metric')),
    sa.CheckConstraint('confidence_threshold > 0 AND confidence_threshold < 1', name=op.f('ck_drip_ab_tests_confidence_range')),
    sa.ForeignKeyConstraint(['campaign_id'], ['drip_campaigns.id'], name=op.f('fk_drip_ab_tests_campaign_id_drip_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_drip_ab_tests_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['drip_campaign_steps.id'], name=op.f('fk_drip_ab_tests_step_id_drip_campaign_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_ab_tests')),
    # SQLite cannot add a foreign key later but accepts one to a table not yet created.
    *([_winner_fk()] if _sqlite() else []),
    )
    with op.batch_alter_table('drip_ab_tests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drip_ab_tests_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drip_ab_tests_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drip_ab_tests_step_id'), ['step_id'], unique=False)
        batch_op.create_index('uq_drip_ab_tests_running_step', ['step_id'], unique=True, sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))

    op.create_table('drip_enrollments',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('current_step_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('next_send_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retry_count', sa.Integer(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stop_reason', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.CheckConstraint("status IN ('active', 'paused', 'completed', 'stopped', 'unsubscribed', 'failed')", name=op.f('ck_drip_enrollments_status')),
    sa.ForeignKeyConstraint(['campaign_id'], ['drip_campaigns.id'], name=op.f('fk_drip_enrollments_campaign_id_drip_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_drip_enrollments_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['current_step_id'], ['drip_campaign_steps.id'], name=op.f('fk_drip_enrollments_current_step_id_drip_campaign_steps'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_drip_enrollments_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_enrollments'))
    )
    with op.batch_alter_table('drip_enrollments', schema=None) as batch_op:
        batch_op.create_index('ix_drip_enrollments_campaign_enrolled_at', ['campaign_id', 'enrolled_at'], unique=False)
        batch_op.create_index('ix_drip_enrollments_campaign_status', ['campaign_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_drip_enrollments_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drip_enrollments_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_drip_enrollments_status_next_send_at', ['status', 'next_send_at'], unique=False)
        batch_op.create_index('uq_drip_enrollments_live_campaign_contact', ['campaign_id', 'contact_id'], unique=True, sqlite_where=sa.text("status IN ('active', 'paused')"), postgresql_where=sa.text("status IN ('active', 'paused')"))

    op.create_table('drip_ab_variants',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('test_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('message_content', sa.Text(), nullable=True),
    sa.Column('traffic_allocation', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('is_control', sa.Boolean(), nullable=False),
    sa.Column('assigned_count', sa.Integer(), nullable=False),
    sa.Column('sent_count', sa.Integer(), nullable=False),
    sa.Column('delivered_count', sa.Integer(), nullable=False),
    sa.Column('read_count', sa.Integer(), nullable=False),
    sa.Column('replied_count', sa.Integer(), nullable=False),
    sa.Column('clicked_count', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('traffic_allocation >= 0 AND traffic_allocation <= 100', name=op.f('ck_drip_ab_variants_allocation_range')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_drip_ab_variants_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['test_id'], ['drip_ab_tests.id'], name=op.f('fk_drip_ab_variants_test_id_drip_ab_tests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_ab_variants'))
    )
    with op.batch_alter_table('drip_ab_variants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drip_ab_variants_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drip_ab_variants_test_id'), ['test_id'], unique=False)
    if not _sqlite():
        op.create_foreign_key(
            WINNER_FK, 'drip_ab_tests', 'drip_ab_variants', ['winner_variant_id'], ['id'],
            ondelete='SET NULL',
        )

    op.create_table('drip_message_logs',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('enrollment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('variant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('wamid', sa.String(length=128), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error_code', sa.String(length=16), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clicked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'sent', 'delivered', 'read', 'failed')", name=op.f('ck_drip_message_logs_status')),
    sa.ForeignKeyConstraint(['campaign_id'], ['drip_campaigns.id'], name=op.f('fk_drip_message_logs_campaign_id_drip_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_drip_message_logs_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['enrollment_id'], ['drip_enrollments.id'], name=op.f('fk_drip_message_logs_enrollment_id_drip_enrollments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_drip_message_logs_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['drip_campaign_steps.id'], name=op.f('fk_drip_message_logs_step_id_drip_campaign_steps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['drip_ab_variants.id'], name=op.f('fk_drip_message_logs_variant_id_drip_ab_variants'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_message_logs')),
    sa.UniqueConstraint('enrollment_id', 'step_id', name=op.f('uq_drip_message_logs_enrollment_id_step_id')),
    sa.UniqueConstraint('wamid', name=op.f('uq_drip_message_logs_wamid'))
    )
    with op.batch_alter_table('drip_message_logs', schema=None) as batch_op:
        batch_op.create_index('ix_drip_message_logs_campaign_step', ['campaign_id', 'step_id'], unique=False)
        batch_op.create_index('ix_drip_message_logs_contact_created_at', ['contact_id', 'created_at'], unique=False)
        batch_op.create_index('ix_drip_message_logs_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_drip_message_logs_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_drip_message_logs_status_created_at', ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_drip_message_logs_variant_id'), ['variant_id'], unique=False)

    op.create_table('drip_variant_assignments',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('test_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('variant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_log_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('phase', sa.Integer(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clicked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_drip_variant_assignments_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_log_id'], ['drip_message_logs.id'], name=op.f('fk_drip_variant_assignments_message_log_id_drip_message_logs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_drip_variant_assignments_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['test_id'], ['drip_ab_tests.id'], name=op.f('fk_drip_variant_assignments_test_id_drip_ab_tests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['variant_id'], ['drip_ab_variants.id'], name=op.f('fk_drip_variant_assignments_variant_id_drip_ab_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drip_variant_assignments')),
    sa.UniqueConstraint('test_id', 'contact_id', name=op.f('uq_drip_variant_assignments_test_id_contact_id'))
    )
    with op.batch_alter_table('drip_variant_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drip_variant_assignments_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drip_variant_assignments_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_drip_variant_assignments_test_variant', ['test_id', 'variant_id'], unique=False)

    op.create_table('links',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_log_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('click_count', sa.Integer(), nullable=False),
    sa.Column('first_clicked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['message_log_id'], ['drip_message_logs.id'], name=op.f('fk_links_message_log_id_drip_message_logs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_links_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_links')),
    sa.UniqueConstraint('code', name=op.f('uq_links_code'))
    )
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_links_message_log_id'), ['message_log_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_links_organization_id'), ['organization_id'], unique=False)

    op.create_table('whatsapp_status_events',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_log_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('wamid', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('error_code', sa.String(length=16), nullable=True),
    sa.Column('error_title', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['message_log_id'], ['drip_message_logs.id'], name=op.f('fk_whatsapp_status_events_message_log_id_drip_message_logs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_whatsapp_status_events_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_whatsapp_status_events')),
    sa.UniqueConstraint('wamid', 'status', name=op.f('uq_whatsapp_status_events_wamid_status'))
    )
    with op.batch_alter_table('whatsapp_status_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_whatsapp_status_events_message_log_id'), ['message_log_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_whatsapp_status_events_organization_id'), ['organization_id'], unique=False)

    op.create_table('link_clicks',
    sa.Column('organization_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('link_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('clicked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['links.id'], name=op.f('fk_link_clicks_link_id_links'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_link_clicks_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_clicks'))
    )
    with op.batch_alter_table('link_clicks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_clicks_link_id'), ['link_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_clicks_organization_id'), ['organization_id'], unique=False)



def downgrade():
    if not _sqlite():
        op.drop_constraint(WINNER_FK, 'drip_ab_tests', type_='foreignkey')
    with op.batch_alter_table('link_clicks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_clicks_organization_id'))
        batch_op.drop_index(batch_op.f('ix_link_clicks_link_id'))

    op.drop_table('link_clicks')
    with op.batch_alter_table('whatsapp_status_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_whatsapp_status_events_organization_id'))
        batch_op.drop_index(batch_op.f('ix_whatsapp_status_events_message_log_id'))

    op.drop_table('whatsapp_status_events')
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_links_organization_id'))
        batch_op.drop_index(batch_op.f('ix_links_message_log_id'))

    op.drop_table('links')
    with op.batch_alter_table('drip_variant_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_drip_variant_assignments_test_variant')
        batch_op.drop_index(batch_op.f('ix_drip_variant_assignments_organization_id'))
        batch_op.drop_index(batch_op.f('ix_drip_variant_assignments_contact_id'))

    op.drop_table('drip_variant_assignments')
    with op.batch_alter_table('drip_message_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drip_message_logs_variant_id'))
        batch_op.drop_index('ix_drip_message_logs_status_created_at')
        batch_op.drop_index(batch_op.f('ix_drip_message_logs_organization_id'))
        batch_op.drop_index('ix_drip_message_logs_created_at')
        batch_op.drop_index('ix_drip_message_logs_contact_created_at')
        batch_op.drop_index('ix_drip_message_logs_campaign_step')

    op.drop_table('drip_message_logs')
    with op.batch_alter_table('drip_ab_variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drip_ab_variants_test_id'))
        batch_op.drop_index(batch_op.f('ix_drip_ab_variants_organization_id'))

    op.drop_table('drip_ab_variants')
    with op.batch_alter_table('drip_enrollments', schema=None) as batch_op:
        batch_op.drop_index('uq_drip_enrollments_live_campaign_contact', sqlite_where=sa.text("status IN ('active', 'paused')"), postgresql_where=sa.text("status IN ('active', 'paused')"))
        batch_op.drop_index('ix_drip_enrollments_status_next_send_at')
        batch_op.drop_index(batch_op.f('ix_drip_enrollments_organization_id'))
        batch_op.drop_index(batch_op.f('ix_drip_enrollments_contact_id'))
        batch_op.drop_index('ix_drip_enrollments_campaign_status')
        batch_op.drop_index('ix_drip_enrollments_campaign_enrolled_at')

    op.drop_table('drip_enrollments')
    with op.batch_alter_table('drip_ab_tests', schema=None) as batch_op:
        batch_op.drop_index('uq_drip_ab_tests_running_step', sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))
        batch_op.drop_index(batch_op.f('ix_drip_ab_tests_step_id'))
        batch_op.drop_index(batch_op.f('ix_drip_ab_tests_organization_id'))
        batch_op.drop_index(batch_op.f('ix_drip_ab_tests_campaign_id'))

    op.drop_table('drip_ab_tests')
    with op.batch_alter_table('drip_campaign_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drip_campaign_steps_organization_id'))
        batch_op.drop_index('ix_drip_campaign_steps_campaign_position')

    op.drop_table('drip_campaign_steps')
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_messages_organization_id'))
        batch_op.drop_index('ix_inbound_messages_contact_received')

    op.drop_table('inbound_messages')
    with op.batch_alter_table('drip_campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drip_campaigns_organization_id'))
        batch_op.drop_index('ix_drip_campaigns_org_status')
        batch_op.drop_index(batch_op.f('ix_drip_campaigns_created_by_user_id'))

    op.drop_table('drip_campaigns')
    with op.batch_alter_table('contact_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_tags_tag_id'))
        batch_op.drop_index(batch_op.f('ix_contact_tags_organization_id'))

    op.drop_table('contact_tags')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_organization_id'))
        batch_op.drop_index(batch_op.f('ix_api_keys_created_by_user_id'))

    op.drop_table('api_keys')
    with op.batch_alter_table('whatsapp_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_whatsapp_accounts_verify_token_hash'))

    op.drop_table('whatsapp_accounts')
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_events_organization_id'))
        batch_op.drop_index('ix_webhook_events_applied_received')

    op.drop_table('webhook_events')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_organization_id'))

    op.drop_table('users')
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tags_organization_id'))

    op.drop_table('tags')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_organization_id'))
        batch_op.drop_index('ix_contacts_org_created')

    op.drop_table('contacts')
    op.drop_table('organizations')
