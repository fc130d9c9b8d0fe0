"""The campaign API's goal and holdout fields (issue 19): `goal: {event, withinDays}` (null
clears it), `exitOnGoal` and `holdoutPercent`, read from a body into the domain's fields and
written into the campaign answer. Kept apart from app/api/campaigns.py, which is long enough.
"""

from __future__ import annotations

from app.drip.campaigns import HOLDOUT_NOTE
from app.models import DripCampaign


def goal_fields(body: dict) -> dict:
    """The goal and holdout keys of a camelCase body as the domain's fields. The values are
    passed as sent: the domain checks them (a 422 naming goal.event, goal.withinDays,
    exitOnGoal or holdoutPercent)."""
    fields: dict = {}
    if "goal" in body:
        goal = body["goal"]
        if isinstance(goal, dict):
            fields["goal"] = {
                ("within_days" if key == "withinDays" else key): value
                for key, value in goal.items()
                if key in ("event", "withinDays")
            }
        else:
            fields["goal"] = goal
    if "exitOnGoal" in body:
        fields["exit_on_goal"] = body["exitOnGoal"]
    if "holdoutPercent" in body:
        fields["holdout_percent"] = body["holdoutPercent"]
    return fields


def serialize_goal(campaign: DripCampaign) -> dict:
    goal = None
    if campaign.goal_event:
        goal = {"event": campaign.goal_event, "withinDays": campaign.goal_within_days}
    percent = campaign.holdout_percent or 0
    return {
        "goal": goal,
        "exitOnGoal": bool(campaign.exit_on_goal),
        "holdoutPercent": percent,
        "holdoutNote": HOLDOUT_NOTE if percent else None,
    }
