"""The sync: the organization's catalog made to match what Meta lists (or, for a sandbox
organization, the built-in catalog). Upserts by (name, language); a template no longer listed
keeps its row, marked deleted_at, since steps may still name it.

Every page is read before anything is written, so a sync that fails half way changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.drip.errors import Conflict, DripError, ValidationError
from app.drip.scope import scoped
from app.drip.templates.holds import release_holds
from app.drip.templates.lookup import is_sendable
from app.drip.templates.parsing import parse_template
from app.drip.templates.sandbox import sandbox_pages
from app.models import WhatsAppAccount, WhatsAppTemplate
from app.whatsapp import AllowedHosts, CloudApiClient, SendError

log = logging.getLogger(__name__)

NO_BUSINESS_ACCOUNT = (
    "Set the WhatsApp Business Account id first: templates belong to the business account,"
    " not to the phone number (Settings > WhatsApp, or set-whatsapp --business-account-id)."
)
CONCURRENT_SYNC = "Another sync of the templates ran at the same time; try again in a moment."
# The columns a sync overwrites; status is compared apart (its change time is kept).
_SYNCED = (
    "meta_id",
    "category",
    "quality_score",
    "parameter_format",
    "parameters",
    "body_text",
    "header",
    "footer_text",
    "buttons",
)


class SyncFailed(DripError):
    """Meta did not list the templates; nothing was changed."""

    code = "sync_failed"
    status = 502


@dataclass
class SyncCounts:
    added: int = 0
    updated: int = 0
    removed: int = 0
    total: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def sync_templates(
    session: Session,
    organization_id: int,
    fetch_pages: Iterable[list],
    now: datetime,
    *,
    business_account_id: str | None = None,
) -> SyncCounts:
    """Make the organization's catalog match the templates of `fetch_pages` (pages of Meta's
    template objects). Objects without a usable name or language are skipped."""
    listed = _read_all(fetch_pages)
    rows = {
        (row.name, row.language): row
        for row in session.scalars(scoped(WhatsAppTemplate, organization_id))
    }
    counts = SyncCounts(total=len(listed))
    usable_now = []  # rows that become sendable: their held enrollments are released
    for key, values in listed.items():
        row = rows.get(key)
        was_sendable = row is not None and is_sendable(row)
        if row is None:
            row = WhatsAppTemplate(organization_id=organization_id, status_changed_at=now)
            session.add(row)
            counts.added += 1
        elif row.deleted_at is not None:
            counts.added += 1  # back in the catalog
        elif _changed(row, values):
            counts.updated += 1
        _apply(row, values, business_account_id, now)
        if not was_sendable and is_sendable(row):
            usable_now.append(row)
    for key, row in rows.items():
        if key not in listed and row.deleted_at is None:
            row.deleted_at = now
            counts.removed += 1
    try:
        session.flush()
    except IntegrityError as exc:
        # Another sync of this organization (the hourly job, a second click) added the same
        # template first: this one is refused whole; the caller rolls back.
        raise Conflict(CONCURRENT_SYNC) from exc
    release_holds(session, [row.id for row in usable_now])
    return counts


def _read_all(fetch_pages: Iterable[list]) -> dict[tuple[str, str], dict]:
    listed: dict[tuple[str, str], dict] = {}
    for page in fetch_pages:
        for item in page:
            try:
                values = parse_template(item)
            except ValidationError:
                log.info("template skipped: no usable name or language")
                continue
            listed.setdefault((values["name"], values["language"]), values)
    return listed


def _changed(row: WhatsAppTemplate, values: dict) -> bool:
    return row.status != values["status"] or any(
        getattr(row, name) != values[name] for name in _SYNCED
    )


def _apply(row: WhatsAppTemplate, values: dict, business_account_id: str | None, now) -> None:
    if row.status is not None and row.status != values["status"]:
        row.status_changed_at = now
    for name, value in values.items():
        setattr(row, name, value)
    row.business_account_id = business_account_id
    row.synced_at = now
    row.deleted_at = None


def sync_organization(
    session: Session,
    organization_id: int,
    now: datetime,
    *,
    decrypt: Callable[[str], str],
    allowed_hosts: Iterable[str] = (),
    page_size: int = 100,
) -> SyncCounts:
    """Sync from the organization's WhatsApp Business Account, or the built-in catalog when it
    has no WhatsApp account (sandbox). ValidationError without a business account id;
    SyncFailed (nothing changed) when Meta does not list the templates."""
    account = session.scalar(scoped(WhatsAppAccount, organization_id))
    if account is None:
        return sync_templates(session, organization_id, sandbox_pages(), now)
    waba_id = (account.business_account_id or "").strip()
    if not waba_id:
        raise ValidationError(NO_BUSINESS_ACCOUNT, {"business_account_id": NO_BUSINESS_ACCOUNT})
    client = CloudApiClient(
        account.api_base_url,
        account.api_version,
        account.phone_number_id,
        decrypt(account.access_token_encrypted),
        allowed_hosts=AllowedHosts.of(allowed_hosts),
    )
    try:
        pages = client.list_templates(waba_id, page_size=page_size)
        return sync_templates(session, organization_id, pages, now, business_account_id=waba_id)
    except SendError as error:
        raise SyncFailed(f"The templates were not synced: {error.reason}") from error


def ensure_sandbox_catalog(
    session: Session, organization_id: int, now: datetime
) -> SyncCounts | None:
    """A sandbox organization (no WhatsApp account) whose catalog was never synced gets the
    built-in one, so its template steps can be built before anyone presses "Sync templates"."""
    if session.scalar(scoped(WhatsAppAccount, organization_id)) is not None:
        return None
    if session.scalar(scoped(WhatsAppTemplate, organization_id).limit(1)) is not None:
        return None
    return sync_templates(session, organization_id, sandbox_pages(), now)


def organizations_to_sync(session: Session) -> list[int]:
    """Organizations with a WhatsApp account (the hourly job; sandboxes sync on demand)."""
    return list(session.scalars(select(WhatsAppAccount.organization_id)))
