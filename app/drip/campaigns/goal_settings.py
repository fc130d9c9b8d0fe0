"""A campaign's goal and holdout settings (issue 19): `goal` ({event, within_days} or None to
clear it), `exit_on_goal` and `holdout_percent`, validated together with the other settings so
that a bad value changes nothing and every problem is reported at once.

Errors are keyed "goal.event" and "goal.within_days": the API spells them goal.event and
goal.withinDays, and the settings form's fields are goal_event and goal_within_days.
"""

from __future__ import annotations

from app.drip.enrollment import HOLDOUT_MAX_PERCENT, ensure_salt
from app.models import DripCampaign

GOAL_FIELDS = ("goal", "exit_on_goal", "holdout_percent")
GOAL_DAYS_MAX = 365
# An event name's longest (drip_events.name; app.drip.goals, above campaigns, checks events).
GOAL_EVENT_MAX = 100
HOLDOUT_NOTE = (
    "The holdout applies to new enrollments only: contacts already enrolled keep being messaged."
)


def split_fields(fields: dict) -> tuple[dict, dict]:
    """(the other settings, the goal and holdout ones)."""
    goal = {k: v for k, v in fields.items() if k in GOAL_FIELDS}
    return {k: v for k, v in fields.items() if k not in GOAL_FIELDS}, goal


def goal_values(campaign: DripCampaign, fields: dict) -> tuple[dict, dict[str, str]]:
    """The column values the fields set, and the errors (field -> words)."""
    values: dict = {}
    errors: dict[str, str] = {}
    if "goal" in fields:
        _goal(campaign, fields["goal"], values, errors)
    if "exit_on_goal" in fields:
        if isinstance(fields["exit_on_goal"], bool):
            values["exit_on_goal"] = fields["exit_on_goal"]
        else:
            errors["exit_on_goal"] = "true or false."
    if "holdout_percent" in fields:
        percent = fields["holdout_percent"]
        if isinstance(percent, bool) or not isinstance(percent, int):
            errors["holdout_percent"] = f"A whole number from 0 to {HOLDOUT_MAX_PERCENT}."
        elif not 0 <= percent <= HOLDOUT_MAX_PERCENT:
            errors["holdout_percent"] = (
                f"From 0 to {HOLDOUT_MAX_PERCENT}: at most half of the new enrollments can be "
                "held out."
            )
        else:
            values["holdout_percent"] = percent
    return values, errors


def _goal(campaign: DripCampaign, goal, values: dict, errors: dict) -> None:
    if goal is None:
        values.update(goal_event=None, goal_within_days=None, exit_on_goal=False)
        return
    if not isinstance(goal, dict):
        errors["goal"] = "An object {event, withinDays}, or null to remove the goal."
        return
    event = goal.get("event", campaign.goal_event)
    days = goal.get("within_days", campaign.goal_within_days)
    if not isinstance(event, str) or not event.strip():
        errors["goal.event"] = "Name the event that counts as reaching the goal (e.g. purchase)."
    elif len(event.strip()) > GOAL_EVENT_MAX:
        errors["goal.event"] = f"At most {GOAL_EVENT_MAX} characters."
    else:
        values["goal_event"] = event.strip()
    if isinstance(days, bool) or not isinstance(days, int):
        errors["goal.within_days"] = f"A whole number of days, from 1 to {GOAL_DAYS_MAX}."
    elif not 1 <= days <= GOAL_DAYS_MAX:
        errors["goal.within_days"] = f"From 1 to {GOAL_DAYS_MAX} days after enrolling."
    else:
        values["goal_within_days"] = days


def apply_goal_values(campaign: DripCampaign, values: dict) -> None:
    """Set the validated values; a holdout gets its salt once (and keeps it, so that a contact
    stays on the same side when the percentage changes)."""
    for key, value in values.items():
        setattr(campaign, key, value)
    if (campaign.holdout_percent or 0) > 0:
        ensure_salt(campaign)
