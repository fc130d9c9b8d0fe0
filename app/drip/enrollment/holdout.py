"""The holdout: a share of a campaign's new enrollments, chosen by a sticky salted hash of the
contact, joins the measurement without being messaged (drip_holdouts), so that the goal's
conversions of the messaged can be compared with those of people left alone (issue 19).

Sticky: the hash of (the campaign's salt, the contact id) puts the same contact on the same
side every time they are enrolled, so re-enrolling never moves someone into the messaged
group. The salt is the campaign's own, so two campaigns' holdouts are independent.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from app.drip.sql import insert_many_once
from app.models import DripCampaign, DripHoldout

HOLDOUT_MAX_PERCENT = 50
# Buckets of the hash: percentages with two decimals would fit, whole ones are what is set.
_BUCKETS = 10_000


def ensure_salt(campaign: DripCampaign) -> str:
    if not campaign.holdout_salt:
        campaign.holdout_salt = secrets.token_hex(8)
    return campaign.holdout_salt


def in_holdout(salt: str, contact_id: int, percent: int) -> bool:
    """Whether the contact falls in a holdout of `percent` (0-50) under `salt`."""
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"{salt}:{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % _BUCKETS < percent * (_BUCKETS // 100)


def split_holdout(
    session: Session, campaign: DripCampaign, eligible: dict[int, str | None], now: datetime
) -> tuple[dict[int, str | None], int]:
    """The eligible contacts to message, and how many fell in the holdout (recorded once per
    contact and campaign in drip_holdouts)."""
    percent = campaign.holdout_percent or 0
    if percent <= 0 or not eligible:
        return eligible, 0
    salt = ensure_salt(campaign)
    held = [contact_id for contact_id in eligible if in_holdout(salt, contact_id, percent)]
    insert_many_once(
        session,
        DripHoldout,
        [
            {
                "organization_id": campaign.organization_id,
                "campaign_id": campaign.id,
                "contact_id": contact_id,
                "assigned_at": now,
            }
            for contact_id in held
        ],
        ("campaign_id", "contact_id"),
    )
    held_set = set(held)
    return {c: zone for c, zone in eligible.items() if c not in held_set}, len(held)
