"""A campaign's steps: add, edit, delete, reorder, and what a step's message says.

Enrollments point at a step id, never a position, so editing a live campaign is safe: a step
inserted before an enrollment's current step is never sent to it, a deleted step moves its
waiting enrollments forward (app.drip.enrollment.on_step_deleted), and the unique
(enrollment, step) message log means no reorder can send a step twice.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.drip import enrollment, templates
from app.drip.campaigns.branches import check_branch, check_deletable, check_order
from app.drip.campaigns.lifecycle import ensure_editable, live_steps
from app.drip.campaigns.template_fields import check_template
from app.drip.campaigns.templating import text_errors
from app.drip.errors import ValidationError
from app.drip.limits import NAME_MAX
from app.models import DripCampaign, DripCampaignStep, utcnow
from app.models.campaigns import DELAY_UNITS

MAX_DELAY = {"minutes": 525_600, "hours": 8_760, "days": 365}
MESSAGE_KEYS = ("message_type", "message_content", "template", "fallback_template")


def add_step(
    session: Session, campaign: DripCampaign, fields: dict, *, position: int | None = None
) -> DripCampaignStep:
    """Add a step at the end, or at `position` (1-based), shifting later steps down."""
    ensure_editable(campaign)
    steps = live_steps(session, campaign.id)
    if position is None:
        position = len(steps) + 1
    elif (
        not isinstance(position, int)
        or isinstance(position, bool)
        or not (1 <= position <= len(steps) + 1)
    ):
        raise ValidationError(
            "That position does not exist.", {"position": f"From 1 to {len(steps) + 1}."}
        )
    step = DripCampaignStep(
        organization_id=campaign.organization_id,
        campaign_id=campaign.id,
        position=position,
        delay_amount=0,
        delay_unit="days",
        message_type="text",
    )
    defaults = {"name": f"Step {position}"}
    if not any(key in fields for key in MESSAGE_KEYS):
        defaults["message_content"] = None  # reported as an empty message
    apply_step_fields(session, step, {**defaults, **fields})
    for later in steps[position - 1 :]:
        later.position += 1
    session.add(step)
    session.flush()
    return step


def update_step(session: Session, step: DripCampaignStep, fields: dict) -> DripCampaignStep:
    ensure_editable(session.get(DripCampaign, step.campaign_id))
    timing = (step.delay_amount, step.delay_unit)
    branch = step.branch
    apply_step_fields(session, step, fields)
    session.flush()
    if (step.delay_amount, step.delay_unit) != timing:
        enrollment.on_step_timing_changed(session, step)
    if step.branch != branch:
        # Those waiting on the old branch are decided again, by the next pass, on this one.
        enrollment.on_branch_changed(session, step)
    if any(key in fields for key in MESSAGE_KEYS):
        # Held on the old template: the step now says something else.
        templates.release_step_holds(session, [step.id])
    return step


def delete_step(session: Session, step: DripCampaignStep) -> None:
    """Soft-delete (logs and analytics keep the step), move waiting enrollments on."""
    campaign = session.get(DripCampaign, step.campaign_id)
    ensure_editable(campaign)
    check_deletable(session, step)
    step.deleted_at = utcnow()
    session.flush()
    templates.release_step_holds(session, [step.id])  # before they move on to the next step
    enrollment.on_step_deleted(session, step)
    _renumber(live_steps(session, campaign.id))
    session.flush()


def reorder_steps(session: Session, campaign: DripCampaign, step_ids: list) -> list:
    """Put the live steps in the given order; the list must name each of them once."""
    ensure_editable(campaign)
    steps = {s.id: s for s in live_steps(session, campaign.id)}
    if not isinstance(step_ids, list) or len(step_ids) != len(steps) or set(step_ids) != set(steps):
        raise ValidationError(
            "Reorder needs every step of the campaign exactly once.",
            {"step_ids": f"A list of these {len(steps)} step ids: {sorted(steps)}."},
        )
    ordered = [steps[i] for i in step_ids]
    check_order(ordered)
    _renumber(ordered)
    session.flush()
    return ordered


def _renumber(steps: list[DripCampaignStep]) -> None:
    for index, step in enumerate(steps, start=1):
        if step.position != index:
            step.position = index


def move_step(session: Session, step: DripCampaignStep, offset: int) -> None:
    """Move a step up (-1) or down (+1): the keyboard-friendly reorder of the editor."""
    steps = live_steps(session, step.campaign_id)
    ids = [s.id for s in steps]
    index = ids.index(step.id)
    target = min(max(index + offset, 0), len(ids) - 1)
    ids.insert(target, ids.pop(index))
    reorder_steps(session, session.get(DripCampaign, step.campaign_id), ids)


def apply_step_fields(session: Session, step: DripCampaignStep, fields: dict) -> None:
    """Validate and set a step's fields; all problems are reported at once. A template (or a
    text step's fallback template) must be in the catalog of the step's organization."""
    errors: dict[str, str] = {}
    values: dict = {}
    if "name" in fields:
        name = fields["name"].strip() if isinstance(fields["name"], str) else ""
        if not name:
            errors["name"] = "Give the step a name."
        elif len(name) > NAME_MAX:
            errors["name"] = f"At most {NAME_MAX} characters."
        values["name"] = name
    _delay(fields, step, values, errors)
    _message(session, fields, step, values, errors)
    if "branch" in fields:
        values["branch"] = check_branch(session, step, fields["branch"], errors)
    if errors:
        raise ValidationError("The step needs attention.", errors)
    for key, value in values.items():
        setattr(step, key, value)


def _delay(fields: dict, step: DripCampaignStep, values: dict, errors: dict) -> None:
    if "delay_amount" not in fields and "delay_unit" not in fields:
        return
    unit = fields.get("delay_unit", step.delay_unit)
    amount = fields.get("delay_amount", step.delay_amount)
    if unit not in DELAY_UNITS:
        errors["delay_unit"] = "minutes, hours or days."
        return
    # isascii and the length: "²".isdigit() is true but int() refuses it, as it refuses more
    # than 4,300 digits; either was a ValueError (a 500) instead of the field error below.
    if isinstance(amount, str) and amount.strip().isascii() and amount.strip().isdigit():
        amount = int(amount) if len(amount.strip()) <= 9 else MAX_DELAY["minutes"] + 1
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        errors["delay_amount"] = "A whole number, 0 or more."
    elif amount > MAX_DELAY[unit]:
        errors["delay_amount"] = f"At most {MAX_DELAY[unit]:,} {unit} (one year)."
    else:
        values["delay_amount"], values["delay_unit"] = amount, unit


NO_TEMPLATE = {
    "template_name": None,
    "template_language": None,
    "template_parameters": None,
    "template_header": None,
    "template_buttons": None,
}
NO_FALLBACK = {
    "fallback_template_name": None,
    "fallback_template_language": None,
    "fallback_template_parameters": None,
}


def _message(
    session: Session, fields: dict, step: DripCampaignStep, values: dict, errors: dict
) -> None:
    if not any(key in fields for key in MESSAGE_KEYS):
        return
    kind = fields.get("message_type") or ("template" if fields.get("template") else "text")
    # A text and a template at once is ambiguous: one of them used to be dropped silently,
    # unvalidated (found by schemathesis: a 5,000-character text accepted beside a template).
    if kind == "template" and fields.get("message_content") is not None:
        errors["message_content"] = "A template step has no text: send the template only."
    if kind == "template" and fields.get("fallback_template") is not None:
        errors["fallback_template"] = "Only a text step has a fallback template."
    if kind == "text" and fields.get("template") is not None:
        errors["template"] = "A text step has no template: send messageType template with it."
    if kind == "text":
        _text(session, fields, step, values, errors)
    elif kind == "template":
        template = fields.get("template")
        if template is None and step.message_type == "template":
            template = {
                "name": step.template_name,
                "language": step.template_language,
                "parameters": step.template_parameters,
                "header": step.template_header,
                "buttons": step.template_buttons,
            }
        checked = check_template(session, step.organization_id, template, errors)
        values.update(NO_FALLBACK, message_type="template", message_content=None)
        values.update({f"template_{key}": value for key, value in checked.items()})
    else:
        errors["message_type"] = "text or template."


def _text(
    session: Session, fields: dict, step: DripCampaignStep, values: dict, errors: dict
) -> None:
    content = fields.get("message_content", step.message_content)
    problems = text_errors(content if isinstance(content, str) or content is None else "")
    if problems:
        errors["message_content"] = " ".join(problems)
    values.update(NO_TEMPLATE, message_type="text", message_content=content)
    if "fallback_template" not in fields:
        return  # kept as it is
    fallback = fields["fallback_template"]
    if fallback is None:
        values.update(NO_FALLBACK)
        return
    checked = check_template(
        session,
        step.organization_id,
        fallback,
        errors,
        prefix="fallback_template",
        fallback=True,
    )
    values.update(
        fallback_template_name=checked.get("name"),
        fallback_template_language=checked.get("language"),
        fallback_template_parameters=checked.get("parameters"),
    )
