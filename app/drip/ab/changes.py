"""A/B test changes made by someone: the domain change and its audit event in one call, so the
pages and the JSON API record the same events for the same changes.

Each function raises what ab_lifecycle / ab_variants raise (nothing is recorded then) and
leaves the commit to the caller.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.drip import audit
from app.drip.ab import lifecycle as ab_lifecycle
from app.drip.ab import variants as ab_variants
from app.drip.audit import Actor
from app.models import DripAbTest, DripAbVariant, DripCampaign


def _campaign(session: Session, test: DripAbTest) -> DripCampaign:
    return session.get(DripCampaign, test.campaign_id)


def create_test(session: Session, actor: Actor, campaign: DripCampaign, fields: dict) -> DripAbTest:
    test = ab_lifecycle.create_test(session, campaign, fields)
    audit.record_ab_test(session, actor, campaign, "ab_test.created", test)
    return test


def add_variant(session: Session, actor: Actor, test: DripAbTest, fields: dict) -> DripAbVariant:
    variant = ab_variants.add_variant(session, test, fields)
    campaign = _campaign(session, test)
    audit.record_ab_test(session, actor, campaign, "ab_variant.added", test, variant=variant)
    return variant


def update_variant(
    session: Session, actor: Actor, test: DripAbTest, variant: DripAbVariant, fields: dict
) -> DripAbVariant:
    before = _variant_fields(variant)
    ab_variants.update_variant(session, test, variant, fields)
    after = _variant_fields(variant)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    campaign = _campaign(session, test)
    audit.record_ab_test(
        session, actor, campaign, "ab_variant.updated", test, variant=variant, changes=changes
    )
    return variant


def delete_variant(
    session: Session, actor: Actor, test: DripAbTest, variant: DripAbVariant
) -> None:
    ab_variants.delete_variant(session, test, variant)
    campaign = _campaign(session, test)
    audit.record_ab_test(session, actor, campaign, "ab_variant.deleted", test, variant=variant)


def apply_action(
    session: Session, actor: Actor, test: DripAbTest, body: dict, now: datetime
) -> DripAbTest:
    """ab_lifecycle.apply_action, recorded as what it did (a reallocation that changes
    nothing starts no phase and records nothing)."""
    status, phase = test.status, test.phase
    if body.get("action") is None and any(k in body for k in ab_lifecycle.OPTIONAL):
        changes = ab_lifecycle.update_settings(session, test, body)
        if changes:
            campaign = _campaign(session, test)
            audit.record_ab_test(session, actor, campaign, "ab_test.updated", test, changes=changes)
        return test
    ab_lifecycle.apply_action(session, test, body, now)
    campaign = _campaign(session, test)
    action = body.get("action")
    if action == "start":
        verb = "ab_test.resumed" if status == "paused" else "ab_test.started"
        audit.record_ab_test(session, actor, campaign, verb, test)
    elif action == "pause":
        audit.record_ab_test(session, actor, campaign, "ab_test.paused", test)
    elif action == "declare_winner":
        winner = session.get(DripAbVariant, test.winner_variant_id)
        audit.record_ab_test(
            session, actor, campaign, "ab_test.winner_declared", test, variant=winner
        )
    elif action == "reallocate" and test.phase != phase:
        shares = {v.name: str(v.traffic_allocation) for v in ab_variants.variants_of(session, test)}
        audit.record_ab_test(
            session, actor, campaign, "ab_test.reallocated", test, allocations=shares
        )
    return test


def delete_test(session: Session, actor: Actor, test: DripAbTest) -> None:
    campaign = _campaign(session, test)
    ab_lifecycle.delete_test(session, test)
    audit.record_ab_test(session, actor, campaign, "ab_test.deleted", test)


def _variant_fields(variant: DripAbVariant) -> dict:
    return {
        "name": variant.name,
        "message_content": variant.message_content,
        "traffic_allocation": str(variant.traffic_allocation),
    }
