"""Inbound message ids and status-event keys unique per organization

They were unique across all organizations: one organization, signing with its own secret,
could post a message id another organization's contact would later use, and that real message
(a STOP) was then dropped as a duplicate. The organization's id now leads each key.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 02:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_constraint('uq_inbound_messages_wa_message_id', type_='unique')
        batch_op.create_unique_constraint(
            op.f('uq_inbound_messages_organization_id_wa_message_id'),
            ['organization_id', 'wa_message_id'],
        )
    with op.batch_alter_table('whatsapp_status_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_whatsapp_status_events_wamid_status', type_='unique')
        batch_op.create_unique_constraint(
            op.f('uq_whatsapp_status_events_organization_id_wamid_status'),
            ['organization_id', 'wamid', 'status'],
        )


def downgrade():
    with op.batch_alter_table('whatsapp_status_events', schema=None) as batch_op:
        batch_op.drop_constraint(
            'uq_whatsapp_status_events_organization_id_wamid_status', type_='unique'
        )
        batch_op.create_unique_constraint(
            'uq_whatsapp_status_events_wamid_status', ['wamid', 'status']
        )
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_constraint(
            'uq_inbound_messages_organization_id_wa_message_id', type_='unique'
        )
        batch_op.create_unique_constraint(
            'uq_inbound_messages_wa_message_id', ['wa_message_id']
        )
