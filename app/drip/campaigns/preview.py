"""Live preview: a step's message as a chosen contact (or a sample one) would receive it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.drip.campaigns.audience_values import audience_values
from app.drip.campaigns.steps import MESSAGE_KEYS, apply_step_fields
from app.drip.campaigns.template_preview import render_template_message
from app.drip.campaigns.templating import SAMPLE_CONTACT, ContactValues, render
from app.drip.errors import ValidationError
from app.drip.scope import get_scoped
from app.drip.templates import find_template, is_sendable
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
    step = DripCampaignStep(
        organization_id=campaign.organization_id,
        message_type="text",
        delay_amount=0,
        delay_unit="days",
    )
    errors: dict[str, str] = {}
    message = {key: fields[key] for key in fields if key != "name"}
    if not any(key in message for key in MESSAGE_KEYS):
        message["message_content"] = None  # reported as an empty message
    try:
        apply_step_fields(session, step, message)
    except ValidationError as exc:
        errors = exc.fields
    if not errors:
        rendered = render_step(session, step, values)
    else:
        rendered = _partial(session, campaign.organization_id, message.get("template"), values)
    return {
        "text": rendered.get("text"),
        "template": rendered.get("template"),
        "fallback": rendered.get("fallback"),
        "errors": errors,
        "contact": {
            "id": contact.id if contact else None,
            "name": " ".join(filter(None, [values.first_name, values.last_name])) or values.phone,
            "sample": contact is None,
        },
        "warning": rendered.get("warning", FREE_TEXT_WARNING if _is_text(message) else None),
        **_audience(session, campaign, message, rendered.get("text")),
    }


def _audience(session: Session, campaign: DripCampaign, message: dict, text) -> dict:
    """The editor's counter and its missing-variable warnings: the length as this contact
    reads it and with the longest values among the contacts (app.drip.campaigns.
    audience_values), and who lacks a variable the message uses."""
    content = message.get("message_content") if _is_text(message) else None
    content = content if isinstance(content, str) else None
    others = []
    for key in ("template", "fallback_template"):
        part = message.get(key)
        if isinstance(part, dict):
            others += _texts(part.get("parameters")) + _texts(part.get("buttons"))
            if isinstance(part.get("header"), str):
                others.append(part["header"])
    values = audience_values(session, campaign, content, others)
    return {
        "length": {
            "characters": len(text) if content is not None and text is not None else None,
            "typed": len(content) if content is not None else None,
            "longest": values.longest if content is not None else None,
            "limit": values.limit,
        },
        "audience": {"scope": values.scope, "total": values.total},
        "missing": [
            {
                "variable": m.variable,
                "missing": m.missing,
                "total": m.total,
                "fallback": m.fallback,
                "text": missing_text(m, values.scope),
            }
            for m in values.missing
        ],
    }


def missing_text(m, scope: str) -> str:
    """ "41 of 200 enrolled contacts have no first_name: they get the fallback “there”." """
    who = "contacts enrolled and waiting" if scope == "enrolled" else "contacts (all of them)"
    has = "has" if m.missing == 1 else "have"
    then = (
        f"they get the fallback “{m.fallback}”."
        if m.fallback
        else "it is left empty for them (add a fallback: {{" + m.variable + "|…}})."
    )
    return f"{m.missing:,} of {m.total:,} {who} {has} no {m.variable}: {then}"


def render_step(session: Session, step: DripCampaignStep, values: ContactValues) -> dict:
    """What the contact reads: {text, template (its parts), fallback (the fallback template's
    text, for a text step that has one), warning}. A template step renders the catalog
    template's real text with the step's parameters."""
    if step.message_type == "text":
        fallback = None
        if step.fallback_template_name:
            row = find_template(
                session,
                step.organization_id,
                step.fallback_template_name,
                step.fallback_template_language,
            )
            if row is not None:
                message = render_template_message(
                    row, values, step.fallback_template_parameters or []
                )
                fallback = message.as_text()
        return {
            "text": render(step.message_content or "", values),
            "fallback": fallback,
            "warning": FREE_TEXT_WARNING,
        }
    row = find_template(session, step.organization_id, step.template_name, step.template_language)
    if row is None:  # validated just before: only a concurrent deletion gets here
        return {"text": None, "warning": None}
    message = render_template_message(
        row,
        values,
        step.template_parameters or [],
        header=step.template_header,
        buttons=step.template_buttons or [],
    )
    warning = None
    if not is_sendable(row):
        warning = (
            f"The template is {row.status} at Meta: contacts wait at this step until Meta "
            "approves it again."
        )
    return {"text": message.as_text(), "template": message.as_dict(), "warning": warning}


def _is_text(message: dict) -> bool:
    kind = message.get("message_type") or ("template" if message.get("template") else "text")
    return kind == "text"


def _texts(value) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _partial(session: Session, organization_id: int, template, values: ContactValues) -> dict:
    """A template step being filled in: the catalog template's text with the parameters given
    so far (the missing ones stay {{1}}), beside the errors."""
    if not isinstance(template, dict):
        return {}
    name, language = template.get("name"), template.get("language") or "en_US"
    if not isinstance(name, str) or not isinstance(language, str):
        return {}
    row = find_template(session, organization_id, name[:512], language[:16])
    if row is None or row.deleted_at is not None:
        return {}
    header = template.get("header") if isinstance(template.get("header"), str) else None
    message = render_template_message(
        row,
        values,
        _texts(template.get("parameters")),
        header=header,
        buttons=_texts(template.get("buttons")),
    )
    return {"text": message.as_text(), "template": message.as_dict(), "warning": None}
