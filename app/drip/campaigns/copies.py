"""Duplicating a campaign: its settings and live steps (template fields and fallbacks too) in a
new draft named "Copy of ...". Enrollments, A/B tests, counters and history stay behind: the
copy starts from nothing, as a new campaign does."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.drip.campaigns.lifecycle import live_steps
from app.drip.limits import NAME_MAX
from app.models import DripCampaign, DripCampaignStep

# Columns that belong to the original's life, not to its design. Every other column is
# copied, so a setting added later is copied without a change here.
NOT_COPIED_CAMPAIGN = frozenset(
    {
        "id",
        "organization_id",
        "name",
        "status",
        "created_at",
        "updated_at",
        "activated_at",
        "archived_at",
        "created_by_user_id",
        "stats_refreshed_at",
        "total_enrolled",
        "active_count",
        "completed_count",
        "sent_count",
        "delivered_count",
        "read_count",
        "replied_count",
        "clicked_count",
        "failed_count",
        # Its own salt (drawn at its first enrollment): the copy's holdout is not the same people.
        "holdout_salt",
    }
)
NOT_COPIED_STEP = frozenset(
    {"id", "organization_id", "campaign_id", "created_at", "updated_at", "deleted_at"}
)
COPY_PREFIX = "Copy of "


def copy_name(name: str) -> str:
    """ "Copy of <name>", cut to the longest name a campaign may have."""
    name = COPY_PREFIX + name
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1] + "…"


def duplicate_campaign(
    session: Session, campaign: DripCampaign, *, user_id: int | None = None
) -> DripCampaign:
    """A draft copy of the campaign and its live steps, in the same organization."""
    copy = DripCampaign(
        organization_id=campaign.organization_id,
        name=copy_name(campaign.name),
        status="draft",
        created_by_user_id=user_id,
        **_columns(campaign, NOT_COPIED_CAMPAIGN),
    )
    session.add(copy)
    session.flush()
    pairs = []
    for step in live_steps(session, campaign.id):
        new = DripCampaignStep(
            organization_id=campaign.organization_id,
            campaign_id=copy.id,
            **_columns(step, NOT_COPIED_STEP),
        )
        session.add(new)
        pairs.append((step, new))
    session.flush()
    # A branch names steps by id: the copy's lead to the copy's own steps.
    for _, new in pairs:
        if new.branch:
            new.branch = _remapped(session, new.branch, pairs)
    session.flush()
    return copy


def _remapped(session: Session, branch: dict, pairs: list) -> dict:
    """The branch with each step id replaced by its copy's ("end" and "next" stay). A target
    not copied (deleted since) becomes the step the original's leads to instead: the first
    live step after it (app.drip.enrollment.CampaignPlans.target), or the end."""
    ids = {step.id: new.id for step, new in pairs}

    def to(target):
        if not isinstance(target, int) or isinstance(target, bool) or target in ids:
            return ids.get(target, target)
        gone = session.get(DripCampaignStep, target)
        after = [new.id for step, new in pairs if gone and step.position > gone.position]
        return after[0] if after else "end"

    return {
        **branch,
        "conditions": [{**c, "goTo": to(c["goTo"])} for c in branch.get("conditions", ())],
        "onTimeout": to(branch.get("onTimeout", "next")),
    }


def _columns(row, left_out: frozenset[str]) -> dict:
    values = {}
    for column in type(row).__table__.columns:
        if column.key not in left_out:
            value = getattr(row, column.key)
            # JSON values are copied, never shared between the two rows' attribute states.
            values[column.key] = list(value) if isinstance(value, list) else value
    return values
