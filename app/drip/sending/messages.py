"""What each claimed message says and to whom: the Outgoing the sender takes (no ORM objects),
rendered from the step, the contact, the A/B variant and the plan (text, the step's template or
the text step's fallback)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.drip import engagement, templates
from app.drip.ab import variants_for_batch
from app.drip.campaigns import contact_values, render
from app.drip.sending.plan import Decisions, Plan
from app.drip.sql import id_in
from app.models import Contact, DripCampaign, DripCampaignStep, DripMessageLog


@dataclass
class Outgoing:
    """One message to send: everything the sender needs, no ORM objects."""

    log_id: int
    organization_id: int
    enrollment_id: int
    step_id: int
    contact_id: int
    to: str | None  # E.164; None for a contact known only by its business-scoped user id
    kind: str  # text | template
    attempts: int = 1  # sends of this log so far, this one included
    body: str | None = None
    template_name: str | None = None
    template_language: str | None = None
    template_parameters: list[str] = field(default_factory=list)
    # Meta's template components (header, body, buttons) with their parameters filled in.
    template_components: list[dict] = field(default_factory=list)
    recipient_user_id: str | None = None  # the contact's BSUID, sent when there is no phone
    category: str | None = None  # MARKETING, UTILITY, AUTHENTICATION, or SERVICE (free text)

    @property
    def callback_data(self) -> str:
        return f"log={self.log_id}"


def render_messages(
    session: Session, logs: list[dict], decisions: Decisions, link_base_url: str | None = None
) -> list[Outgoing]:
    """The claimed logs as messages to send (the contact's values filled in, the step's A/B
    variant, tracked links, the template's components), and each log's category, template,
    variant and whether it reaches the contact outside the window, written in one UPDATE per
    group."""
    if not logs:
        return []
    contacts = {
        c.id: c
        for c in session.scalars(
            select(Contact).where(id_in(session, Contact.id, {log["contact_id"] for log in logs}))
        )
    }
    steps = decisions.steps
    tracking = _tracking_campaigns(session, steps.values()) if link_base_url else set()
    texts = [log for log in logs if decisions.plans[log["enrollment_id"]].kind == "text"]
    chosen = variants_for_batch(session, [(log["step_id"], log["contact_id"]) for log in texts])
    outgoing, tracked, written = [], [], defaultdict(list)
    for log in logs:
        contact, step = contacts[log["contact_id"]], steps[log["step_id"]]
        plan = decisions.plans[log["enrollment_id"]]
        message = Outgoing(
            log_id=log["id"],
            organization_id=log["organization_id"],
            enrollment_id=log["enrollment_id"],
            step_id=log["step_id"],
            contact_id=log["contact_id"],
            to=contact.phone,
            kind=plan.kind,
            attempts=log["attempts"],
            recipient_user_id=contact.whatsapp_user_id,
            category=plan.category,
        )
        variant = chosen.get((step.id, contact.id)) if plan.kind == "text" else None
        if plan.kind == "template":
            _fill_template(message, plan, step, contact_values(contact))
        else:
            message.body = render(
                variant[1] if variant else step.message_content or "", contact_values(contact)
            )
            if step.campaign_id in tracking:
                tracked.append(message)
        variant_id = variant[0] if variant else None
        written[(variant_id, message.category, message.template_name, plan.outside)].append(
            message.log_id
        )
        outgoing.append(message)
    if tracked:
        bodies = engagement.track_batch(
            session,
            [engagement.Message(m.organization_id, m.log_id, m.body) for m in tracked],
            link_base_url,
        )
        for message, body in zip(tracked, bodies, strict=True):
            message.body = body
    table = DripMessageLog.__table__
    for (variant_id, category, template_name, outside), ids in written.items():
        values = {"category": category, "template_name": template_name, "outside_window": outside}
        if variant_id is not None:
            values["variant_id"] = variant_id
        session.execute(update(table).where(id_in(session, table.c.id, ids)).values(**values))
    return outgoing


def _fill_template(message: Outgoing, plan: Plan, step: DripCampaignStep, values: dict) -> None:
    """The template's name, language, parameters and Meta's components: the step's own
    template, or the text step's fallback (which has only body parameters)."""
    template = plan.template
    if plan.fallback:
        parameters, header, buttons = step.fallback_template_parameters, None, None
    else:
        parameters, header = step.template_parameters, step.template_header
        buttons = step.template_buttons
    message.template_name = template.name
    message.template_language = template.language
    message.template_parameters = [render(p, values) for p in parameters or []]
    message.template_components = templates.build_components(
        template,
        message.template_parameters,
        render(header, values) if header else None,
        [render(b, values) for b in buttons or []],
    )


def _tracking_campaigns(session: Session, steps) -> set[int]:
    campaign_ids = {s.campaign_id for s in steps}
    return set(
        session.scalars(
            select(DripCampaign.id).where(
                DripCampaign.id.in_(campaign_ids), DripCampaign.track_links.is_(True)
            )
        )
    )
