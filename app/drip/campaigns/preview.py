"""Live preview: a step's message as a chosen contact (or a sample one) would receive it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.drip.campaigns.steps import MESSAGE_KEYS, apply_step_fields
from app.drip.campaigns.templating import SAMPLE_CONTACT, ContactValues, render
from app.drip.errors import ValidationError
from app.drip.scope import get_scoped
from app.models import Contact, DripCampaign, DripCampaignStep

FREE_TEXT_WARNING = (
    "Free-text messages reach only contacts who wrote to you in the last 24 hours "
    "(WhatsApp's rule); an approved template reaches everyone."
)


def contact_values(contact: Contact) -> ContactValues:
    return ContactValues(
        first_name=contact.first_name,
        last_name=contact.last_name,
        phone=contact.phone,
        attributes=contact.attributes or {},
    )


def preview_message(
    session: Session, campaign: DripCampaign, fields: dict, *, contact_id=None
) -> dict:
    """Render the message described by `fields` (step fields) for a contact of the campaign's
    organization; validation problems are returned, not raised, so the editor can show them."""
    contact = None
    if contact_id not in (None, ""):
        if not isinstance(contact_id, int) or isinstance(contact_id, bool):
            raise ValidationError("contactId must be a number.", {"contact_id": "A contact id."})
        contact = get_scoped(session, Contact, campaign.organization_id, contact_id)
    values = contact_values(contact) if contact else SAMPLE_CONTACT
    step = DripCampaignStep(message_type="text", delay_amount=0, delay_unit="days")
    errors: dict[str, str] = {}
    message = {key: fields[key] for key in fields if key != "name"}
    if not any(key in message for key in MESSAGE_KEYS):
        message["message_content"] = None  # reported as an empty message
    try:
        apply_step_fields(step, message)
    except ValidationError as exc:
        errors = exc.fields
    text = render_step(step, values) if not errors else None
    return {
        "text": text,
        "errors": errors,
        "contact": {
            "id": contact.id if contact else None,
            "name": " ".join(filter(None, [values.first_name, values.last_name])) or values.phone,
            "sample": contact is None,
        },
        "warning": FREE_TEXT_WARNING if step.message_type == "text" else None,
    }


def render_step(step: DripCampaignStep, values: ContactValues) -> str:
    """What the contact reads: the text, or the template's name with its rendered parameters."""
    if step.message_type == "text":
        return render(step.message_content or "", values)
    parameters = [render(p, values) for p in step.template_parameters or []]
    listed = "".join(f"\n{{{{{i}}}}} = {p}" for i, p in enumerate(parameters, start=1))
    return f"Template “{step.template_name}” ({step.template_language}){listed}"
