"""A step's branch as the editor and the API set it: its shape (app.drip.enrollment.
parse_branch: later steps only, never backwards or to itself) and what the campaign must allow
for each event (a reply that stops the journey cannot also lead somewhere, clicks need link
tracking, a goal needs the campaign's goal)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.drip import enrollment
from app.drip.campaigns.lifecycle import live_steps
from app.drip.errors import ValidationError
from app.models import DripCampaign, DripCampaignStep


def check_branch(session: Session, step: DripCampaignStep, value, errors: dict) -> dict | None:
    """The stored form of `value` (None removes the branch), problems added to `errors`."""
    later = [
        s.id
        for s in live_steps(session, step.campaign_id)
        if step.position is not None and s.position > step.position and s.id != step.id
    ]
    try:
        branch = enrollment.parse_branch(value, step.id, later)
    except ValidationError as error:
        errors.update(error.fields)
        return None
    if branch is None:
        return None
    campaign = session.get(DripCampaign, step.campaign_id)
    for index, event in enumerate(branch.events):
        problem = campaign_problem(campaign, event)
        if problem:
            errors[f"branch.conditions.{index}.event"] = problem
    return branch.as_json()


def campaign_problem(campaign: DripCampaign, event: str) -> str | None:
    """Why this campaign's settings keep a branch on `event` from ever being taken, if so."""
    if event == "replied" and campaign.stop_on_reply:
        return (
            "This campaign stops a journey when the contact replies: turn off “Stop on reply” "
            "to branch on a reply."
        )
    if event == "clicked" and not campaign.track_links:
        return "Clicks are counted only with link tracking: turn on “Track links” first."
    if event == "goal" and not campaign.goal_event:
        return "Set the campaign's goal first (Goal and holdout)."
    if event == "goal" and campaign.exit_on_goal:
        return (
            "This campaign ends a journey at its goal: turn off “End the journey at the goal” "
            "to branch on it."
        )
    return None
