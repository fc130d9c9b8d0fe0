"""What an admin does to the organization's WhatsApp account from Settings, each written to
the audit log: save it (verified with Meta), generate a new webhook verify token, send a test
message now, and go back to the sandbox.

A test message is sent synchronously through the provider the caller built for the
organization (the Cloud API client, or the sandbox) and is no campaign's message: no message
log, no counter; only its audit event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy.orm import Session

from app.drip import accounts, audit, templates
from app.drip.audit import Actor
from app.drip.contacts import phone_field
from app.drip.errors import ValidationError
from app.drip.sending.account_health import clear_account_failure
from app.models import DripCampaign, DripCampaignStep, Organization, WhatsAppAccount
from app.whatsapp import Provider, SendError

SAVED = "whatsapp_account.saved"
REMOVED = "whatsapp_account.removed"
TOKEN_CHANGED = "whatsapp_account.verify_token_changed"
TEST_SENT = "whatsapp_account.test_message_sent"
TEST_FAILED = "whatsapp_account.test_message_failed"
MAX_TEST_TEXT = 1000
TEST_NOT_SENT = "The test message was not sent."


@dataclass(frozen=True)
class TestMessage:
    """What a person asked to send: a text, or a template (name, language, body values)."""

    to: str
    kind: str = "text"  # "text" or "template"
    body: str = ""
    template_name: str = ""
    template_language: str = "en_US"
    parameters: Sequence[str] = ()
    # Meta's components, already built (a campaign step's template: header, body, buttons).
    components: Sequence[dict] | None = None


@dataclass(frozen=True)
class TestOutcome:
    sent: bool
    to: str
    wamid: str | None = None
    reason: str | None = None  # why it was not sent, in words
    code: str | None = None  # Meta's error code when it was refused


def save_account(
    session: Session, actor: Actor, box, org: Organization, **fields
) -> WhatsAppAccount:
    """accounts.set_whatsapp_account (verified with Meta first), audited."""
    account = accounts.set_whatsapp_account(session, box, org, **fields)
    _record(
        session,
        actor,
        org.id,
        SAVED,
        phoneNumberId=account.phone_number_id,
        verifiedName=account.verified_name,
        verifyTokenChanged=bool(fields.get("verify_token")),
    )
    return account


def regenerate_verify_token(session: Session, actor: Actor, organization_id: int) -> str:
    """A new webhook verify token for the account (the old one stops matching at once)."""
    account = _account(session, organization_id)
    token = accounts.new_verify_token(account)
    _record(session, actor, organization_id, TOKEN_CHANGED, phoneNumberId=account.phone_number_id)
    session.flush()
    return token


def use_sandbox_again(session: Session, actor: Actor, organization_id: int) -> WhatsAppAccount:
    """Remove the account: messages go to the sandbox from the next pass on."""
    account = accounts.remove_whatsapp_account(session, organization_id)
    if account is None:
        raise ValidationError("There is no WhatsApp account: messages already go to the sandbox.")
    _record(
        session,
        actor,
        organization_id,
        REMOVED,
        phoneNumberId=account.phone_number_id,
        displayPhoneNumber=account.display_phone_number,
    )
    return account


def send_test_message(
    session: Session,
    actor: Actor,
    org: Organization,
    provider: Provider,
    message: TestMessage,
    *,
    campaign: DripCampaign | None = None,
    step: DripCampaignStep | None = None,
) -> TestOutcome:
    """Send one message now through `provider`. Input errors raise ValidationError (nothing
    is sent); a send WhatsApp refuses is returned with the reason in words, and audited (on
    the step's campaign for a test of a campaign step, app.drip.sending.step_test)."""
    to = phone_field(message.to, org.default_region, "to")
    components = _checked(session, org.id, message)
    if campaign is not None:
        record = partial(_record_campaign, session, actor, campaign, step)
    else:
        record = partial(_record, session, actor, org.id)
    try:
        if message.kind == "template":
            result = provider.send_template(
                to,
                message.template_name.strip(),
                message.template_language.strip(),
                () if components else list(message.parameters),
                components=components,
            )
        else:
            result = provider.send_text(to, message.body)
    except SendError as error:
        label = f" (error {error.code})" if error.code else ""
        reason = f"WhatsApp did not take the test message{label}: {error.reason}"
        record(TEST_FAILED, to=to, kind=message.kind, reason=reason, code=error.code)
        return TestOutcome(False, to, reason=reason, code=error.code)
    clear_account_failure(session, org.id)
    record(TEST_SENT, to=to, kind=message.kind, wamid=result.wamid)
    return TestOutcome(True, to, wamid=result.wamid)


def _checked(session: Session, organization_id: int, message: TestMessage) -> list | None:
    """The input's errors as fields; for a named-parameter catalog template, Meta's body
    component (positional values are sent as `parameters`)."""
    if message.kind not in ("text", "template"):
        raise ValidationError(TEST_NOT_SENT, {"kind": "Choose a text or a template."})
    if message.kind == "text":
        body = (message.body or "").strip()
        if not body:
            raise ValidationError(TEST_NOT_SENT, {"body": "Write the text to send."})
        if len(body) > MAX_TEST_TEXT:
            raise ValidationError(TEST_NOT_SENT, {"body": f"At most {MAX_TEST_TEXT:,} characters."})
        return None
    if not message.template_name.strip() or not message.template_language.strip():
        raise ValidationError(
            TEST_NOT_SENT, {"template_name": "Give the template's name and language."}
        )
    if message.components is not None:
        return list(message.components)
    row = templates.find_template(
        session, organization_id, message.template_name.strip(), message.template_language.strip()
    )
    values = [str(v) for v in message.parameters]
    if row is None or row.parameter_format != "named" or not row.parameters:
        return None
    if len(values) != len(row.parameters):
        names = ", ".join(row.parameters)
        raise ValidationError(
            TEST_NOT_SENT,
            {"parameters": f"This template takes {len(row.parameters)}: {names}."},
        )
    parameters = [
        {"type": "text", "parameter_name": name, "text": value}
        for name, value in zip(row.parameters, values, strict=True)
    ]
    return [{"type": "body", "parameters": parameters}]


def _account(session: Session, organization_id: int) -> WhatsAppAccount:
    account = accounts.whatsapp_account(session, organization_id)
    if account is None:
        raise ValidationError("There is no WhatsApp account: connect one first.")
    return account


def _record(session: Session, actor: Actor, organization_id: int, action: str, **details):
    """An organization's event (no campaign), in the caller's transaction."""
    audit.record_for_organization(session, actor, organization_id, action, **details)


def _record_campaign(session: Session, actor: Actor, campaign, step, action: str, **details):
    """A campaign step's test: the campaign's event ("step.test_message_sent")."""
    action = "step." + action.split(".", 1)[1]
    audit.record(session, actor, campaign, action, step=step, **details)
