"""“Send a test to my phone”: one step of a campaign, filled in for a contact of the audience
(or a sample contact), sent now through the organization's provider by the settings' test
message (account_actions.send_test_message). No enrollment, no message log, no counter: only
the campaign's audit event, which also counts the tests a person sent in the last hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.drip import campaigns, templates
from app.drip.audit import Actor
from app.drip.errors import DripError, NotFound, ValidationError
from app.drip.scope import get_scoped
from app.drip.sending.account_actions import TestMessage, TestOutcome, send_test_message
from app.models import AuditEvent, Contact, DripCampaign, DripCampaignStep, Organization, utcnow
from app.whatsapp import Provider

TESTS_PER_HOUR = 10
ACTIONS = ("step.test_message_sent", "step.test_message_failed")
WINDOW_CLOSED = "131047"
WINDOW_ADVICE = (
    "WhatsApp refuses free text to a number that has not written to your business number in "
    "the last 24 hours (error 131047). Write to your business number from this phone and test "
    "again; to reach contacts whose window is closed, make this a template step or give it a "
    "fallback template."
)
SAMPLE_NAME = ("Alex", "Sample")


class TooManyTests(DripError):
    code = "rate_limited"
    status = 429


@dataclass(frozen=True)
class StepTest:
    outcome: TestOutcome
    step: DripCampaignStep
    contact_name: str  # whose values filled the step in
    sample: bool  # the sample contact's (no contact was chosen)
    text: str  # the message as it reads
    advice: str | None = None  # what to do about a refusal, in words


def send_step_test(
    session: Session,
    actor: Actor,
    campaign: DripCampaign,
    provider: Provider,
    *,
    step_id,
    to: str,
    contact_id=None,
    now: datetime | None = None,
) -> StepTest:
    """Send the step to `to` now. A step of another campaign is NotFound; a bad number, an
    empty message or a template Meta would refuse is a ValidationError; more than
    TESTS_PER_HOUR tests by this person in an hour is TooManyTests. Nothing is sent then."""
    step = _step(session, campaign, step_id)
    _check_rate(session, actor, campaign.organization_id, now or utcnow())
    contact = None
    if contact_id is not None:
        if isinstance(contact_id, bool) or not isinstance(contact_id, int):
            raise ValidationError("Choose a contact by id.", {"contact_id": "A contact id."})
        contact = get_scoped(session, Contact, campaign.organization_id, contact_id)
    sample = contact is None
    if sample:  # never added to the session: only its values are read
        contact = Contact(first_name=SAMPLE_NAME[0], last_name=SAMPLE_NAME[1], phone=to)
    values = campaigns.contact_values(contact)
    message, text = _message(session, step, values, to)
    org = session.get(Organization, campaign.organization_id)
    outcome = send_test_message(
        session, actor, org, provider, message, campaign=campaign, step=step
    )
    advice = None
    if not outcome.sent and outcome.code == WINDOW_CLOSED and message.kind == "text":
        advice = WINDOW_ADVICE
    name = " ".join(filter(None, [contact.first_name, contact.last_name])) or contact.phone
    return StepTest(outcome, step, name or "", sample, text, advice)


def tests_left(session: Session, actor: Actor, organization_id: int, now=None) -> int:
    """How many more tests this person may send in the coming hour."""
    used, _oldest = _recent(session, actor, organization_id, now or utcnow())
    return max(TESTS_PER_HOUR - used, 0)


def _step(session: Session, campaign: DripCampaign, step_id) -> DripCampaignStep:
    if isinstance(step_id, bool) or not isinstance(step_id, int):
        raise ValidationError("Choose a step to send.", {"step_id": "Choose a step."})
    step = get_scoped(session, DripCampaignStep, campaign.organization_id, step_id)
    if step.campaign_id != campaign.id or step.deleted_at is not None:
        raise NotFound("No such step in this campaign.")
    return step


def _recent(session: Session, actor: Actor, organization_id: int, now: datetime):
    """This person's step tests in the last hour: how many, and when the oldest was."""
    if actor.user_id is not None:
        who = AuditEvent.user_id == actor.user_id
    elif actor.api_key_id is not None:
        who = AuditEvent.api_key_id == actor.api_key_id
    else:
        who = AuditEvent.actor == actor.label[:254]
    row = session.execute(
        select(func.count(), func.min(AuditEvent.created_at)).where(
            AuditEvent.organization_id == organization_id,
            AuditEvent.action.in_(ACTIONS),
            AuditEvent.created_at > now - timedelta(hours=1),
            who,
        )
    ).one()
    return row[0], row[1]


def _check_rate(session: Session, actor: Actor, organization_id: int, now: datetime) -> None:
    used, oldest = _recent(session, actor, organization_id, now)
    if used < TESTS_PER_HOUR:
        return
    if oldest.tzinfo is None:  # SQLite gives back naive UTC
        oldest = oldest.replace(tzinfo=now.tzinfo)
    minutes = max(1, -(-int((oldest + timedelta(hours=1) - now).total_seconds()) // 60))
    raise TooManyTests(
        f"You sent {used} test messages in the last hour, the most allowed "
        f"({TESTS_PER_HOUR} an hour): try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


def _message(session: Session, step: DripCampaignStep, values, to: str):
    """The step as send_test_message takes it, and as it reads."""
    if step.message_type != "template":
        body = campaigns.render(step.message_content or "", values)
        return TestMessage(to=to, kind="text", body=body), body
    row = templates.find_template(
        session, step.organization_id, step.template_name, step.template_language
    )
    if not templates.is_sendable(row):
        state = "not in the template catalog" if row is None else f"{row.status} at Meta"
        raise ValidationError(
            f"The step's template “{step.template_name}” is {state}: WhatsApp would refuse it. "
            "Sync the templates or choose an approved one.",
            {"step_id": "Its template cannot be sent now."},
        )
    parameters = [campaigns.render(p, values) for p in step.template_parameters or []]
    header = campaigns.render(step.template_header, values) if step.template_header else None
    buttons = [campaigns.render(b, values) for b in step.template_buttons or []]
    components = templates.build_components(row, parameters, header, buttons)
    text = campaigns.render_template_message(
        row,
        values,
        step.template_parameters or [],
        header=step.template_header,
        buttons=step.template_buttons or [],
    ).as_text()
    message = TestMessage(
        to=to,
        kind="template",
        template_name=row.name,
        template_language=row.language,
        parameters=parameters,
        components=components,
    )
    return message, text
