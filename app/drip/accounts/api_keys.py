"""API keys: created once (only their hash is kept), looked up by token, listed, revoked, and
the role each one acts with."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crypto import sha256_hex
from app.drip.accounts.users import ADMIN, MEMBER
from app.drip.errors import ValidationError
from app.drip.scope import get_scoped, scoped
from app.models import ApiKey, User, utcnow

API_KEY_PREFIX = "drip_"


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


def api_key_role(session: Session, key: ApiKey) -> str:
    """The role a key acts with: its creator's, read now (demoting a user demotes their keys).
    A key with no creator was made on the command line by the operator: it acts as an admin.
    A creator outside the key's organization leaves it a member's: a key never gains rights.
    (Deleting a user nulls created_by_user_id, so remove_user revokes their keys first.)"""
    if key.created_by_user_id is None:
        return ADMIN
    creator = session.get(User, key.created_by_user_id)
    if creator is None or creator.organization_id != key.organization_id:
        return MEMBER
    return creator.role
