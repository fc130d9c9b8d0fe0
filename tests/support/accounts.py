"""Connecting a test organization to the fake Cloud API."""

from __future__ import annotations

from app.drip import accounts
from app.models import Organization, WhatsAppAccount


def send_through_fake(app, session, org: Organization, fake, *, rate: int | None = None):
    """Give `org` a WhatsApp account whose API base URL is the fake server."""
    account: WhatsAppAccount = accounts.set_whatsapp_account(
        session,
        app.extensions["drip_secret_box"],
        org,
        phone_number_id=fake.phone_number_id,
        access_token=fake.access_token,
        app_secret="s",
        api_base_url=fake.base_url,
        messages_per_second=rate,
    )
    account.api_version = fake.api_version
    return account
