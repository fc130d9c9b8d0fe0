"""The template sync with the app's secrets and allowed hosts: shared by the API, the page and
the hourly job (one transaction per organization there)."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from app.drip import templates
from app.drip.errors import DripError

log = logging.getLogger(__name__)


def sync_catalog(session: Session, organization_id: int, now: datetime) -> templates.SyncCounts:
    """Sync one organization's catalog now (not committed); DripError in words on failure."""
    return templates.sync_organization(
        session,
        organization_id,
        now,
        decrypt=current_app.extensions["drip_secret_box"].decrypt,
        allowed_hosts=current_app.config["WHATSAPP_API_ALLOWED_HOSTS"],
    )


def sync_all(session: Session, now: datetime) -> dict:
    """Every organization with a WhatsApp account, each committed on its own: one account's
    failure (no business account id, an expired token) neither stops nor undoes the others."""
    stats = {"organizations": 0, "failed": 0, "added": 0, "updated": 0, "removed": 0}
    for organization_id in templates.organizations_to_sync(session):
        try:
            counts = sync_catalog(session, organization_id, now)
            session.commit()
        except DripError as error:
            session.rollback()
            stats["failed"] += 1
            log.info("templates of organization %s not synced: %s", organization_id, error)
            continue
        stats["organizations"] += 1
        for name in ("added", "updated", "removed"):
            stats[name] += getattr(counts, name)
    return stats
