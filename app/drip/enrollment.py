"""Enrollment: enroll / pause / resume / stop, re-enrollment rules, triggers.

The functions below are the interface other modules call; their bodies are being written
(issue 3, enrollment part). Until then they do nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.models import DripCampaign, DripCampaignStep


def on_contacts_created(session: Session, organization_id: int, contact_ids: list[int]) -> None:
    """Enroll newly created contacts in the active campaigns triggered by contact creation."""


def on_tags_added(
    session: Session, organization_id: int, tag_id: int, contact_ids: list[int]
) -> None:
    """Enroll contacts that just got a tag in the active campaigns triggered by that tag."""


def on_step_deleted(session: Session, step: DripCampaignStep) -> None:
    """Move live enrollments waiting on a just-deleted step forward to the next live step
    (or complete them). Called with step.deleted_at set and positions not yet renumbered."""


def on_step_timing_changed(session: Session, step: DripCampaignStep) -> None:
    """Recompute next_send_at of live enrollments waiting on a step whose delay changed."""


def on_window_changed(session: Session, campaign: DripCampaign) -> None:
    """Recompute next_send_at of the campaign's waiting enrollments after a send-window edit."""
