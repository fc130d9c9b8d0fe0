"""An organization's WhatsApp account: its phone number id and secrets (encrypted at rest).

A phone number id is accepted only once Meta confirms the account's token can read it (else
any organization could claim another's number and lock the owner out), and the API base URL
only when it is an allowed host (else Drip posts the token wherever a user points it)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crypto import SecretBox, sha256_hex
from app.drip.errors import ValidationError
from app.drip.scope import scoped
from app.models import Organization, WhatsAppAccount, utcnow
from app.whatsapp import (
    META_API_BASE_URL,
    NOT_VERIFIED,
    UNKNOWN_LIMIT,
    AllowedHosts,
    CloudApiClient,
    PhoneNumber,
    VerificationError,
    messaging_limit_of,
)

MAX_MESSAGES_PER_SECOND = 1000  # Meta's highest throughput for a phone number
NOT_SAVED = "The WhatsApp account could not be saved."
# The version a new account starts on (the column's default).
_API_VERSION = WhatsAppAccount.__table__.c.api_version.default.arg
META_ID_MAX = 64  # phone number and business account ids: String(64) columns
# Meta's `throughput.level` of a phone number in messages per second (Cloud API "Throughput":
# 80 mps by default, 1,000 mps once Meta upgrades the number). Used when the operator gives no
# rate of their own; an unknown level leaves the rate as it is.
THROUGHPUT_MPS = {"STANDARD": 80, "HIGH": 1000}


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
    allowed_hosts: Iterable[str] = (),
    now: datetime | None = None,
) -> WhatsAppAccount:
    """Create or replace the organization's WhatsApp account, once Meta confirmed that the
    access token reads the phone number id; secrets are stored encrypted. `allowed_hosts` are
    the operator's hosts besides Meta's (WHATSAPP_API_ALLOWED_HOSTS). Saving it again resumes
    sending if the account was paused. Makes one request to the API base URL."""
    _check_fields(phone_number_id, access_token, app_secret, messages_per_second)
    business_account_id = _business_account_id(business_account_id)
    phone_number_id = phone_number_id.strip()
    account = session.scalar(scoped(WhatsAppAccount, org.id)) or WhatsAppAccount(
        organization_id=org.id, api_base_url=META_API_BASE_URL, api_version=_API_VERSION
    )
    # No URL given: the account keeps its address, checked again all the same.
    base_url = (api_base_url or account.api_base_url).rstrip("/")
    client = CloudApiClient(
        base_url,
        account.api_version,
        phone_number_id,
        access_token,
        allowed_hosts=AllowedHosts(allowed_hosts),
    )
    number = _verified(client)
    _refuse_if_held_elsewhere(session, org, phone_number_id)
    account.phone_number_id = phone_number_id
    _store_verification(account, number, now or utcnow())
    account.api_base_url = base_url
    account.business_account_id = business_account_id
    account.access_token_encrypted = box.encrypt(access_token)
    account.app_secret_encrypted = box.encrypt(app_secret)
    if verify_token:
        account.verify_token_hash = sha256_hex(verify_token)
    if messages_per_second is not None:
        account.rate_limit_per_second = messages_per_second
    elif number.throughput_level in THROUGHPUT_MPS:
        account.rate_limit_per_second = THROUGHPUT_MPS[number.throughput_level]
    # New credentials are the fix for a paused or failing account (expired token, payment,
    # address...): the next pass tries again, and the banner comes back if it fails again.
    account.sending_paused_at = None
    account.sending_paused_code = None
    account.sending_paused_reason = None
    account.failing_since = None
    account.failure_reason = None
    session.add(account)
    session.flush()
    return account


def _store_verification(account: WhatsAppAccount, number: PhoneNumber, now: datetime) -> None:
    """What Meta reported about the number, as the settings page shows it."""
    account.display_phone_number = number.display_phone_number
    account.verified_name = (number.verified_name or "")[:200] or None
    account.quality_rating = (number.quality_rating or "")[:16] or None
    account.verified_at = now
    limit = messaging_limit_of(number.messaging_limit_tier)
    if limit is not UNKNOWN_LIMIT:  # Meta's tier, as the number the processor counts against
        account.messaging_tier, account.messaging_limit = number.messaging_limit_tier, limit


def new_verify_token(account: WhatsAppAccount) -> str:
    """A fresh random webhook verify token for the account (only its hash is kept): the
    caller shows it once, to be pasted into Meta's dashboard."""
    token = secrets.token_urlsafe(24)
    account.verify_token_hash = sha256_hex(token)
    return token


def remove_whatsapp_account(session: Session, organization_id: int) -> WhatsAppAccount | None:
    """Delete the organization's account (its messages go to the sandbox again); the removed
    row, or None when there was none."""
    account = session.scalar(scoped(WhatsAppAccount, organization_id))
    if account is not None:
        session.delete(account)
        session.flush()
    return account


def whatsapp_account(session: Session, organization_id: int) -> WhatsAppAccount | None:
    return session.scalar(scoped(WhatsAppAccount, organization_id))


def _check_fields(phone_number_id, access_token, app_secret, per_second) -> None:
    """What can be refused without asking Meta; the client checks the address against the
    allowed hosts before any request."""
    errors = {}
    if not _meta_id((phone_number_id or "").strip()):
        errors["phone_number_id"] = (
            f"The phone number id is the number Meta shows: digits only, at most {META_ID_MAX}."
        )
    if not access_token:
        errors["access_token"] = "Required."
    if not app_secret:
        errors["app_secret"] = "Required."
    if per_second is not None and not 1 <= per_second <= MAX_MESSAGES_PER_SECOND:
        errors["messages_per_second"] = (
            f"From 1 to {MAX_MESSAGES_PER_SECOND:,}: Meta's default tier is 80, upgraded 1,000."
        )
    if errors:
        raise ValidationError(NOT_SAVED, errors)


def _meta_id(value: str) -> bool:
    # isascii: str.isdigit() is also true for "²"; the columns hold 64 characters.
    return value.isascii() and value.isdigit() and len(value) <= META_ID_MAX


def _business_account_id(value: str | None) -> str | None:
    """The WABA id (optional; template sync needs it), checked before anything is asked."""
    value = (value or "").strip()
    if value and not _meta_id(value):
        raise ValidationError(
            NOT_SAVED,
            {
                "business_account_id": "The WhatsApp Business Account id is the number Meta "
                f"shows: digits only, at most {META_ID_MAX}."
            },
        )
    return value or None


def _verified(client: CloudApiClient) -> PhoneNumber:
    try:
        return client.phone_number()
    except VerificationError as exc:
        if exc.field:
            raise ValidationError(NOT_SAVED, {exc.field: exc.reason}) from exc
        raise ValidationError(f"{NOT_SAVED} {exc.reason}") from exc


def _refuse_if_held_elsewhere(session: Session, org: Organization, phone_number_id: str) -> None:
    """Another organization's id is refused in the words of a failed verification: the
    refusal must not tell one organization about another's registration."""
    holder = session.scalar(
        select(WhatsAppAccount.organization_id).where(
            WhatsAppAccount.phone_number_id == phone_number_id
        )
    )
    if holder is not None and holder != org.id:
        raise ValidationError(NOT_SAVED, {"phone_number_id": NOT_VERIFIED})


def apply_limit_updates(
    session: Session,
    limits: dict[str, list],
    organization_id: int | None,
    routes: dict[str, list[int]] | None = None,
) -> int:
    """Meta's messaging limit of each business account (the newest report of the delivery),
    on the accounts of that WABA (of the routed organizations; of `organization_id` when the
    delivery was recorded for one). A label Meta does not give as a limit changes nothing. How
    many accounts changed."""
    changed = 0
    for waba_id, updates in limits.items():
        newest = max(updates, key=lambda update: update.occurred_at)
        limit = messaging_limit_of(newest.label)
        if limit is UNKNOWN_LIMIT:
            continue
        query = select(WhatsAppAccount).where(WhatsAppAccount.business_account_id == waba_id)
        if organization_id is not None:
            query = query.where(WhatsAppAccount.organization_id == organization_id)
        allowed = None if routes is None else set(routes.get(waba_id) or [])
        for account in session.scalars(query):
            if allowed is not None and account.organization_id not in allowed:
                continue
            if (account.messaging_limit, account.messaging_tier) != (limit, newest.label):
                account.messaging_limit, account.messaging_tier = limit, newest.label
                changed += 1
    return changed
