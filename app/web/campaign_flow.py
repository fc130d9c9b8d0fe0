"""The campaign page's flow: each step as a box with its delay, figures (sent, read, replied,
dropped, from the same funnel the analytics page draws), template status, A/B test and the
enrollments waiting on it; and the "Undo" of a step deleted in the last minutes."""

from __future__ import annotations

from dataclasses import dataclass

from app.drip import analytics, campaigns
from app.extensions import db
from app.models import DripCampaign, DripCampaignStep, utcnow

BADGE_OF_STATUS = {
    "APPROVED": "badge-active",
    "PENDING": "badge-paused",
    "IN_APPEAL": "badge-paused",
    "PAUSED": "badge-paused",
    "REJECTED": "badge-archived",
    "DISABLED": "badge-archived",
}


@dataclass(frozen=True)
class StepBox:
    """One box of the flow (issue 20's branches add boxes of other kinds beside it)."""

    kind: str  # "message"
    flow: campaigns.FlowStep
    delay: str
    figures: dict[str, int]
    delete_question: str

    @property
    def step(self) -> DripCampaignStep:
        return self.flow.step


def delay_text(step: DripCampaignStep, first: bool) -> str:
    if step.delay_amount == 0:
        when = "At once"
    else:
        unit = step.delay_unit if step.delay_amount != 1 else step.delay_unit[:-1]
        when = f"Wait {step.delay_amount:,} {unit}"
    return when + (" after enrollment" if first else " after the previous step")


def delete_question(campaign: DripCampaign, flow: campaigns.FlowStep) -> str:
    """What deleting the step does, asked before it is done."""
    name = flow.step.name
    if campaign.status not in ("active", "paused") or flow.waiting == 0:
        return f"Delete step “{name}”? No contact is waiting for it. You can undo it for a while."
    who = f"{flow.waiting:,} contact{'s' if flow.waiting != 1 else ''} waiting for it"
    where = (
        f"move on to step {flow.next_step.position} “{flow.next_step.name}”"
        if flow.next_step
        else "complete the campaign (it is the last step)"
    )
    return (
        f"Delete step “{name}”? The {who} {where}. "
        f"You can undo it for {campaigns.UNDO_MINUTES} minutes."
    )


def step_boxes(campaign: DripCampaign) -> list[StepBox]:
    flows = campaigns.flow_steps(db.session, campaign)
    if not flows:
        return []
    funnel = analytics.funnel(db.session, campaign.organization_id, campaign.id)
    by_step = {row["stepId"]: row for row in funnel["steps"]}
    boxes = []
    for index, flow in enumerate(flows):
        row = by_step.get(flow.step.id, {})
        figures = {
            "sent": row.get("sentCount", 0),
            "read": row.get("readCount", 0),
            "replied": row.get("repliedCount", 0),
            "dropped": row.get("dropOffCount", 0),
        }
        boxes.append(
            StepBox(
                "message",
                flow,
                delay_text(flow.step, index == 0),
                figures,
                delete_question(campaign, flow),
            )
        )
    return boxes


def undo_offer(campaign: DripCampaign) -> dict | None:
    """The newest step deletion that can still be undone: what it moved, and where."""
    event = campaigns.deletion_event(db.session, campaign, utcnow())
    if event is None:
        return None
    details = event.details
    moved = details.get("moved") or {}
    return {
        "step_id": details.get("stepId"),
        "name": details.get("stepName"),
        "moved": int(moved.get("count") or 0),
        "to": moved.get("toStepName"),
    }


def deleted_text(name: str, moved: dict) -> str:
    count = moved["count"]
    if not count:
        return f"Step “{name}” deleted. No contact was waiting for it."
    who = f"{count:,} contact{'s' if count != 1 else ''}"
    where = f"step “{moved['toStepName']}”" if moved["toStepId"] else "the end: they completed"
    return f"Step “{name}” deleted. {who} waiting for it moved on to {where}."


def restored_text(undone: campaigns.Undone) -> str:
    text = f"Step “{undone.step.name}” is back at position {undone.step.position}."
    if undone.moved_back:
        n = undone.moved_back
        text += f" {n:,} contact{'s' if n != 1 else ''} moved back to it."
    if undone.unrecorded:
        text += (
            f" The {undone.stayed:,} contacts it had moved were too many to record: they stay "
            "where they are."
        )
    elif undone.stayed:
        n = undone.stayed
        text += (
            f" {n:,} contact{'s' if n != 1 else ''} could not be moved back: "
            f"{'they have' if n != 1 else 'it has'} been sent the next step or ended since, "
            "so they stay where they are."
        )
    return text
