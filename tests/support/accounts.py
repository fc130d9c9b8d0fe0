"""Connecting a test organization to the fake Cloud API."""

from __future__ import annotations

from app.drip import accounts
from app.models import Organization, WhatsAppAccount
from tests.fakes.cloud_api import FakeCloudApi


def send_through_fake(app, session, org: Organization, fake, *, rate: int | None = None):
    """Give `org` a WhatsApp account whose API base URL is the fake server (which verifies
    the phone number id, as Meta does, when the account is saved)."""
    account: WhatsAppAccount = accounts.set_whatsapp_account(
        session,
        app.extensions["drip_secret_box"],
        org,
        phone_number_id=fake.phone_number_id,
        access_token=fake.access_token,
        app_secret="s",
        api_base_url=fake.base_url,
        messages_per_second=rate,
        allowed_hosts=app.config["WHATSAPP_API_ALLOWED_HOSTS"],
    )
    account.api_version = fake.api_version
    return account


def set_verified_account(
    app,
    session,
    org: Organization,
    phone_number_id: str,
    app_secret: str,
    *,
    access_token: str = "token",
    verify_token: str | None = None,
) -> WhatsAppAccount:
    """Give `org` an account for `phone_number_id`, verified by a fake Cloud API that is
    stopped again (for tests of webhooks, which send nothing)."""
    with FakeCloudApi(access_token=access_token, phone_number_id=phone_number_id) as fake:
        return accounts.set_whatsapp_account(
            session,
            app.extensions["drip_secret_box"],
            org,
            phone_number_id=phone_number_id,
            access_token=access_token,
            app_secret=app_secret,
            verify_token=verify_token,
            api_base_url=fake.base_url,
            allowed_hosts=[fake.host],
        )
