"""Organizations, users, API keys and WhatsApp accounts."""

from __future__ import annotations

import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.crypto import SecretBox, sha256_hex
from app.drip.errors import Conflict, NotFound, ValidationError
from app.drip.scope import get_scoped, scoped
from app.models import ApiKey, Organization, User, WhatsAppAccount, utcnow

API_KEY_PREFIX = "drip_"
MIN_PASSWORD_LENGTH = 8
MAX_MESSAGES_PER_SECOND = 1000  # Meta's highest throughput for a phone number
# A real hash to check against when the email is unknown, so timing does not tell.
_DUMMY_HASH = generate_password_hash("drip-timing-equaliser")


def create_organization(session: Session, name: str, *, timezone: str = "UTC") -> Organization:
    name = (name or "").strip()
    if not name:
        raise ValidationError("An organization needs a name.", {"name": "Required."})
    if session.scalar(select(Organization.id).where(Organization.name == name)):
        raise Conflict(f"An organization named {name!r} already exists.")
    validate_timezone(timezone, "timezone")
    org = Organization(name=name, timezone=timezone, opt_out_keywords=[])
    session.add(org)
    session.flush()
    return org


def update_organization(
    session: Session, org: Organization, *, default_region: str, timezone: str
) -> Organization:
    """Change the region used to read local phone numbers, and the organization's time zone."""
    region = (default_region or "").strip().upper()
    errors = {}
    if region not in phonenumbers.SUPPORTED_REGIONS:
        errors["default_region"] = "A two-letter country code such as US or GB."
    try:
        validate_timezone(timezone, "timezone")
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError("The organization settings need attention.", errors)
    org.default_region, org.timezone = region, timezone
    session.flush()
    return org


def organization_by_name(session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        raise NotFound(f"No organization named {name!r}.")
    return org


def validate_timezone(value: str, field: str) -> None:
    try:
        ZoneInfo(value)
    # OSError: "America" is a directory of the tz database, a long name too long for a path.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(
            f"Unknown time zone {value!r}.", {field: "Use an IANA name such as Europe/Paris."}
        ) from None


def create_user(
    session: Session, org: Organization, email: str, password: str, *, role: str = "member"
) -> User:
    email = (email or "").strip().lower()
    errors = {}
    if "@" not in email or len(email) > 254:
        errors["email"] = "Enter a valid email address."
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if role not in ("admin", "member"):
        errors["role"] = "Role is admin or member."
    if errors:
        raise ValidationError("The user could not be created.", errors)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"A user with email {email} already exists.")
    user = User(
        organization_id=org.id,
        email=email,
        password_hash=generate_password_hash(password),
        role=role,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user with this email and password, or None (same work either way)."""
    user = session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    user.last_login_at = utcnow()
    return user


def create_api_key(
    session: Session, organization_id: int, name: str, *, user_id: int | None = None
) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is shown once and never stored."""
    name = (name or "").strip() or "API key"
    if len(name) > 120:
        raise ValidationError("The key name is too long.", {"name": "At most 120 characters."})
    token = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        organization_id=organization_id,
        name=name,
        prefix=token[: len(API_KEY_PREFIX) + 6],
        key_hash=sha256_hex(token),
        created_by_user_id=user_id,
    )
    session.add(key)
    session.flush()
    return key, token


def api_key_for_token(session: Session, token: str) -> ApiKey | None:
    """The live key this token belongs to. Lookup by SHA-256: the token never meets a compare."""
    if not token or not token.startswith(API_KEY_PREFIX):
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == sha256_hex(token)))
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    # A write per request would be heavy; a minute's precision is enough for "last used".
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        key.last_used_at = now
    return key


def list_api_keys(session: Session, organization_id: int) -> list[ApiKey]:
    return list(session.scalars(scoped(ApiKey, organization_id).order_by(ApiKey.created_at.desc())))


def revoke_api_key(session: Session, organization_id: int, key_id: int) -> ApiKey:
    key = get_scoped(session, ApiKey, organization_id, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


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
