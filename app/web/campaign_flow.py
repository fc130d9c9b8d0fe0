"""The campaign page's flow: each step as a box with its delay, figures (sent, read, replied,
dropped: the funnel's, analytics.step_figures), template status, A/B test, branch and
the enrollments waiting on it; the "Undo" of a step deleted in the last minutes; what the page
warns of (templates, the activity log) and the confirmation before activating."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import render_template
from flask_login import current_user

from app.drip import analytics, audit, campaigns, templates
from app.drip.zones import organization_zone, organization_zone_name, resolve_zone
from app.extensions import db
from app.models import DripCampaign, DripCampaignStep, utcnow
from app.web.forms import EmptyForm, local_time, viewer_zone

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
    """One box of the flow (its branch, if any, is said in words inside it)."""

    kind: str  # "message"
    flow: campaigns.FlowStep
    delay: str
    figures: dict[str, int]
    delete_question: str

    @property
    def step(self) -> DripCampaignStep:
        return self.flow.step


class ActionForm(EmptyForm):
    """The page's buttons' form: its CSRF input, repeated in each button's <form> (three per
    step), rendered once."""

    _hidden = None

    def hidden_tag(self, *fields):
        if fields:
            return super().hidden_tag(*fields)
        if self._hidden is None:
            self._hidden = super().hidden_tag()
        return self._hidden


def delay_text(step: DripCampaignStep, first: bool, branched: bool = False) -> str:
    """The connector above a step; `branched` when a branch (or its timeout) leads to it, whose
    decision its delay then counts from."""
    if step.delay_amount == 0:
        when = "At once"
    else:
        unit = step.delay_unit if step.delay_amount != 1 else step.delay_unit[:-1]
        when = f"Wait {step.delay_amount:,} {unit}"
    if first:
        return when + " after enrollment"
    if branched:
        return when + " after the previous step, or after the branch that leads here"
    return when + " after the previous step"


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


def step_boxes(
    campaign: DripCampaign,
    graph: campaigns.Graph | None = None,
    *,
    tally: campaigns.EnrollmentTally,
    catalog: dict,
) -> list[StepBox]:
    """The flow's boxes, from what the page has read for its other parts too."""
    flows = campaigns.flow_steps(db.session, campaign, graph, tally=tally, catalog=catalog)
    if not flows:
        return []
    figures = analytics.step_figures(db.session, campaign.id, [flow.step.id for flow in flows])
    branched = {edge.to_step_id for edge in (graph.edges if graph else ()) if edge.via != "next"}
    boxes = []
    for index, flow in enumerate(flows):
        boxes.append(
            StepBox(
                "message",
                flow,
                delay_text(flow.step, index == 0, flow.step.id in branched),
                figures[flow.step.id],
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


def template_warnings(
    campaign: DripCampaign, catalog: dict | None = None, zone: ZoneInfo | None = None
) -> dict:
    """The campaign page's template warnings: holds, and templates Meta rates low (from
    `catalog`, campaigns.step_templates of its live steps, when the page has read it), with
    times in `zone` (the viewer's)."""
    org_id = campaign.organization_id
    zone = zone or viewer_zone()
    if catalog is None:
        low_quality = templates.low_quality_templates(db.session, org_id, campaign.id)
    else:
        low_quality = templates.low_quality_among(catalog.values())
    return {
        "holds": templates.campaign_holds(db.session, org_id, [campaign.id])[campaign.id],
        "not_in_catalog": templates.NOT_IN_CATALOG,
        "low_quality": low_quality,
        "local": lambda value: local_time(value, zone),
    }


def page_zones(campaign: DripCampaign) -> tuple[ZoneInfo, ZoneInfo]:
    """The organization's clock and the viewer's (app.web.forms.viewer_zone), from one read of
    the organization's zone."""
    name = organization_zone_name(db.session, campaign.organization_id)
    return resolve_zone(name), resolve_zone(current_user.timezone, name)


def activity(
    campaign: DripCampaign, limit: int, page: int = 1, zone: ZoneInfo | None = None
) -> dict:
    """A page of the campaign's audit log, for the template: who did what, and when (in the
    organization's time zone, `zone` when the page has it)."""
    events, total = audit.campaign_events(
        db.session, campaign.organization_id, campaign.id, limit=limit, offset=(page - 1) * limit
    )
    zone = zone or organization_zone(db.session, campaign.organization_id)
    rows = [
        {
            "when": local_time(e.created_at, zone),
            "who": e.actor,
            "what": audit.describe(e.action, e.details),
        }
        for e in events
    ]
    return {"activity": rows, "activity_total": total, "activity_zone": zone.key}


def confirm_page(campaign, action: str, report, warnings: list[str]):
    """Activate or resume anyway? With the journey's problems (app.drip.campaigns.
    campaign_graph), the contacts the window would stop, or both."""
    return render_template(
        "campaigns/confirm_activation.html",
        campaign=campaign,
        action=action,
        report=report,
        warnings=warnings,
        forecast=campaigns.forecast(db.session, campaign),
        action_form=EmptyForm(),
    )
