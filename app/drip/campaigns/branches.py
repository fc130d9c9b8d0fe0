"""A step's branch as the editor and the API set it: its shape (app.drip.enrollment.
parse_branch: later steps only, never backwards or to itself) and what the campaign must allow
for each event (a reply that stops the journey cannot also lead somewhere, clicks need link
tracking, a goal needs the campaign's goal)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip import enrollment
from app.drip.campaigns.lifecycle import live_steps
from app.drip.errors import Conflict, NotFound, ValidationError
from app.models import DripCampaign, DripCampaignStep

MAX_ID = 2**63 - 1  # an id past this is no row (and would overflow the query)


def check_branch(session: Session, step: DripCampaignStep, value, errors: dict) -> dict | None:
    """The stored form of `value` (None removes the branch), problems added to `errors`."""
    # A step being added at a position goes before the step that holds it now.
    new = step.id is None
    later = [
        s.id
        for s in live_steps(session, step.campaign_id)
        if step.position is not None
        and (s.position >= step.position if new else s.position > step.position)
        and s.id != step.id
    ]
    _check_known(session, step, value, later)
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


def _check_known(session: Session, step: DripCampaignStep, value, later: list[int]) -> None:
    """A target that is no step of the organization is a 404, as any id of another
    organization is (app.drip.errors.NotFound); a step of another campaign is a field error."""
    if not isinstance(value, dict):
        return
    conditions = value.get("conditions")
    named = [c.get("goTo") for c in conditions or () if isinstance(c, dict)]
    named = [
        t
        for t in [*named, value.get("onTimeout")]
        if isinstance(t, int) and not isinstance(t, bool) and t not in later
    ]
    if not named:
        return
    in_range = [t for t in named if 1 <= t <= MAX_ID]
    known = set(
        session.scalars(
            select(DripCampaignStep.id).where(
                DripCampaignStep.organization_id == step.organization_id,
                DripCampaignStep.id.in_(in_range),
            )
        )
        if in_range
        else ()
    )
    unknown = [t for t in named if t not in known]
    if unknown:
        raise NotFound(f"Step {unknown[0]} not found.")


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


def title(step: DripCampaignStep, *, start: bool = True) -> str:
    """How a sentence names a step: 'Step 3 “Offer”' (or 'step 3 “Offer”' inside one)."""
    return f"{'S' if start else 's'}tep {step.position} “{step.name}”"


def leading_to(session: Session, step: DripCampaignStep) -> list[DripCampaignStep]:
    """The other live steps of the campaign whose branch leads to `step`."""
    return [
        other
        for other in live_steps(session, step.campaign_id)
        if other.id != step.id and step.id in branch_targets(other)
    ]


def check_deletable(session: Session, step: DripCampaignStep) -> None:
    """A step a branch leads to stays until that branch leads elsewhere: deleting it would
    send the branch's contacts to whatever step follows, which nobody chose."""
    sources = leading_to(session, step)
    if sources:
        raise Conflict(
            f"{title(step)} is where the branch of {title(sources[0], start=False)} leads: "
            "change that branch first."
        )


def backwards(ordered: list[DripCampaignStep]) -> tuple | None:
    """The first (step, target) whose branch would lead to itself or backwards in this order."""
    place = {step.id: index for index, step in enumerate(ordered)}
    for index, step in enumerate(ordered):
        for target in branch_targets(step):
            if target in place and place[target] <= index:
                return step, ordered[place[target]]
    return None


def check_order(ordered: list[DripCampaignStep]) -> None:
    """Refuse an order (a reorder, a move) in which a branch would lead backwards."""
    found = backwards(ordered)
    if found:
        step, target = found
        message = (
            f"The branch of {title(step, start=False)} leads to {title(target, start=False)}, "
            "which would then come before it: change that branch first."
        )
        raise ValidationError(message, {"step_ids": message})


def settings_problems(session: Session, campaign, fields: dict) -> dict[str, str]:
    """What the branches of the campaign's steps say against these settings, by field: a
    setting that keeps a branch from ever being taken is refused, naming the step. `campaign`
    holds the settings after the change (anything with the attributes campaign_problem reads);
    `fields` the names changed, to say which field is the cause."""
    culprits = {
        "replied": ("stop_on_reply",),
        "clicked": ("track_links",),
        "goal": ("goal", "exit_on_goal"),
    }
    errors: dict[str, str] = {}
    for step in live_steps(session, campaign.id):
        branch = enrollment.Branch.from_json(step.branch)
        for event in branch.events if branch else ():
            problem = campaign_problem(campaign, event)
            field = next((f for f in culprits[event] if f in fields), None)
            if problem and field and field not in errors:
                errors[field] = f"{title(step)} branches on “{event}”: {problem}"
    return errors


def branch_targets(step: DripCampaignStep) -> set[int]:
    """The step ids the step's branch names (none without a branch)."""
    branch = enrollment.Branch.from_json(step.branch)
    if branch is None:
        return set()
    return {target for target in branch.targets() if isinstance(target, int)}
