"""An organization's WhatsApp account: its phone number id and secrets (encrypted at rest)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crypto import SecretBox, sha256_hex
from app.drip.errors import Conflict, ValidationError
from app.drip.scope import scoped
from app.models import Organization, WhatsAppAccount

MAX_MESSAGES_PER_SECOND = 1000  # Meta's highest throughput for a phone number


def set_whatsapp_account(
    session: Session,
    box: SecretBox,
    org: Organization,
    *,
    phone_number_id: str,
    access_token: str,
    app_secret: str,
    verify_token: str | None = None,
    api_base_url: str | None = None,
    business_account_id: str | None = None,
    messages_per_second: int | None = None,
) -> WhatsAppAccount:
    """Create or replace the organization's WhatsApp account; secrets are stored encrypted.
    Saving it again resumes sending if the account was paused."""
    errors = {}
    if not (phone_number_id or "").strip().isdigit():
        errors["phone_number_id"] = "The phone number id is the number Meta shows, digits only."
    if not access_token:
        errors["access_token"] = "Required."
    if not app_secret:
        errors["app_secret"] = "Required."
    if api_base_url and not api_base_url.startswith(("http://", "https://")):
        errors["api_base_url"] = "Use an http:// or https:// URL."
    if messages_per_second is not None and not 1 <= messages_per_second <= MAX_MESSAGES_PER_SECOND:
        errors["messages_per_second"] = (
            f"From 1 to {MAX_MESSAGES_PER_SECOND:,}: Meta's default tier is 80, upgraded 1,000."
        )
    if errors:
        raise ValidationError("The WhatsApp account could not be saved.", errors)
    phone_number_id = phone_number_id.strip()
    taken = session.scalar(
        select(WhatsAppAccount.organization_id).where(
            WhatsAppAccount.phone_number_id == phone_number_id
        )
    )
    if taken is not None and taken != org.id:
        raise Conflict("This phone number id belongs to another organization.")
    account = session.scalar(scoped(WhatsAppAccount, org.id)) or WhatsAppAccount(
        organization_id=org.id
    )
    account.phone_number_id = phone_number_id
    account.business_account_id = business_account_id
    account.access_token_encrypted = box.encrypt(access_token)
    account.app_secret_encrypted = box.encrypt(app_secret)
    if verify_token:
        account.verify_token_hash = sha256_hex(verify_token)
    if api_base_url:
        account.api_base_url = api_base_url.rstrip("/")
    if messages_per_second is not None:
        account.rate_limit_per_second = messages_per_second
    # New credentials are the fix for a paused account (expired token, payment...).
    account.sending_paused_at = None
    account.sending_paused_code = None
    account.sending_paused_reason = None
    session.add(account)
    session.flush()
    return account
