"""Applying what comes back from WhatsApp (statuses, contacts' messages) to message logs,
enrollments and contacts. Real webhooks and the sandbox provider both come through here.

- StatusUpdate, InboundMessageEvent: the parsed events (parsing Meta's JSON is the webhook's)
- apply_status(session, organization_id, update) -> outcome word
- apply_inbound(session, organization_id, event) -> outcome word
- apply_marketing_opt_out(session, organization_id, from_phone, timestamp) -> outcome word

Both record their event once (a unique row inserted with ON CONFLICT DO NOTHING), so a
delivery applied twice changes nothing and a repeat never aborts the caller's transaction.
Events arriving out of order end as in time order: the earliest event that ends an
enrollment (a reply, an opt-out, a failure) wins, and a reply is judged against the state
at its own time (see app.drip.engagement.opt_out and app.drip.engagement.replies.reconcile_replies).
Domain code: no Flask, no commit. The pieces live in app.drip.engagement.statuses (statuses),
app.drip.engagement.replies (contacts' messages) and app.drip.engagement.opt_out.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from app.drip.engagement import replies, status_batch
from app.drip.engagement import statuses as message_status
from app.drip.engagement.costs import price_logs
from app.drip.engagement.keywords import (
    REASON_KEYWORD,
    REASON_USER_PREFERENCES,
    is_opt_out,
    organization_keywords,
)
from app.drip.engagement.opt_out import opt_out_contact
from app.drip.engagement.status_batch import APPLIED, BRANCHING_STATUSES, judge_branches
from app.drip.engagement.statuses import Failure
from app.drip.enrollment import branching_step_ids, rejudge_branches
from app.drip.sql import as_utc
from app.models import DripEnrollment, utcnow
from app.whatsapp import InboundMessageEvent, StatusUpdate

# Outcomes of apply_status / apply_inbound, for the caller's counts.
# APPLIED: a new status applied to a known message (status_batch's word)
SETTLED = "settled"  # ... to an ambiguous send, found by its callback data
DUPLICATE = "duplicate"  # seen before: nothing changed
UNKNOWN = "unknown"  # a status of a message that is not ours: ignored
RETIRED = "retired"  # a late status of an earlier try of a retried message: kept, not applied
IGNORED = "ignored"  # a status Drip does not track (e.g. "deleted")
REPLY = "reply"  # a known contact's message (replies marked, stop on reply applied)
OPTED_OUT = "opted_out"  # an opt-out keyword: unsubscribed everywhere, not a reply
ENROLLED = "enrolled"  # an unknown sender's keyword: contact created and enrolled
UNKNOWN_SENDER = "unknown_sender"  # recorded without a contact

_CALLBACK = re.compile(r"\s*log=(\d{1,18})\s*")


def parse_callback_data(value: str | None) -> int | None:
    """The message log id in "log=<id>", or None for anything else."""
    match = _CALLBACK.fullmatch(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def apply_status(
    session: Session, organization_id: int, update: StatusUpdate, *, now: datetime | None = None
) -> str:
    """Apply one status of one message: forward-only, once, and what a failure means for the
    contact and the enrollment. A status whose wamid is unknown settles the pending log its
    callback data names (an ambiguous send), or is ignored."""
    if update.status not in message_status.STATUSES:
        return IGNORED
    at = as_utc(update.timestamp)
    log, settling = _find_log(session, organization_id, update)
    failure = Failure.from_errors(update.errors) if update.status == "failed" else None
    if log is None:
        return _retired(session, organization_id, update, at, failure)
    if not message_status.record_event(session, log, update.wamid, update.status, at, failure):
        return DUPLICATE
    if settling:
        message_status.settle(session, log, update.wamid, now or utcnow())
    message_status.merge(log, update.status, at, failure)
    price_logs(session, organization_id, [(log, update)])
    if failure is not None:
        message_status.apply_failure(session, log, failure, at)
    session.flush()
    if update.status in BRANCHING_STATUSES:
        judge_branches(session, organization_id, [(log, update.status)], now or utcnow())
    return SETTLED if settling else APPLIED


def apply_statuses(
    session: Session,
    organization_id: int,
    updates: list[StatusUpdate],
    *,
    now: datetime | None = None,
) -> list[str]:
    """apply_status for a webhook batch, in a few statements whatever its size: the known logs
    are locked in one query, the (wamid, status) events recorded in one insert and the logs
    written back in one update (app.drip.engagement.status_batch). Statuses of unknown wamids
    (settling an ambiguous send, or not ours) go one by one through apply_status."""
    valid = [u for u in updates if u.status in message_status.STATUSES]
    outcomes, known = status_batch.apply_known(session, organization_id, valid, now)
    results = []
    for update_ in updates:
        if update_.status not in message_status.STATUSES:
            results.append(IGNORED)
        elif update_.wamid in known:
            results.append(outcomes.pop((update_.wamid, update_.status), DUPLICATE))
        else:
            results.append(apply_status(session, organization_id, update_, now=now))
    return results


def _rejudge_contact(session: Session, organization_id: int, contact_id: int) -> None:
    if branching_step_ids(session, organization_id):
        rejudge_branches(session, DripEnrollment.contact_id == contact_id, now=utcnow())


def _find_log(session: Session, organization_id: int, update: StatusUpdate):
    """(the log, whether this status settles it), or (None, False) when it is not ours."""
    log = message_status.log_for_wamid(session, organization_id, update.wamid)
    if log is not None:
        return log, False
    if message_status.retired_log_id(session, organization_id, update.wamid) is not None:
        return None, False  # an earlier try of a log retried since (131049): never settles it
    log_id = parse_callback_data(update.callback_data)
    log = message_status.unsettled_log(session, organization_id, log_id)
    if log is not None:
        return log, True
    if log_id is None:
        return None, False
    # Settled meanwhile (another status of the message, or the processor's late answer): the
    # lock wait above ended after that commit, which this lookup sees.
    return message_status.log_for_wamid(session, organization_id, update.wamid), False


def _retired(session: Session, organization_id: int, update: StatusUpdate, at, failure) -> str:
    """A status of a wamid its log no longer has (tried again after 131049): kept as an event
    of that log, never applied to it. UNKNOWN for a wamid that is not ours."""
    log_id = message_status.retired_log_id(session, organization_id, update.wamid)
    if log_id is None:
        return UNKNOWN
    recorded = message_status.record_retired(
        session, organization_id, log_id, update.wamid, update.status, at, failure
    )
    return RETIRED if recorded else DUPLICATE


def apply_inbound(session: Session, organization_id: int, event: InboundMessageEvent) -> str:
    """Apply one message from a contact, once: the 24-hour window, an opt-out keyword
    (unsubscribed everywhere, not a reply), or a reply (replied_at, stop on reply) and a
    keyword trigger (which may create an unknown sender as a contact and enroll them). The
    branches of the contact's enrollments are judged again after an opt-out or a reply."""
    outcome, contact_id = _apply_inbound(session, organization_id, event)
    if outcome in (OPTED_OUT, REPLY):
        _rejudge_contact(session, organization_id, contact_id)
    return outcome


def _apply_inbound(session: Session, organization_id: int, event: InboundMessageEvent):
    at = as_utc(event.timestamp)
    phone, user_id = replies.e164(event.from_phone), event.from_user_id
    contact_id = replies.contact_id_for(session, organization_id, phone, user_id)
    inbound_id = replies.record_inbound(
        session, organization_id, _inbound_row(event, at, contact_id)
    )
    if inbound_id is None:
        return DUPLICATE, contact_id
    if contact_id is not None:
        replies.link_identities(session, organization_id, contact_id, phone, user_id)
    keywords = organization_keywords(session, organization_id)
    if is_opt_out((event.text, event.button_payload, event.button_title), keywords):
        if contact_id is None:
            return UNKNOWN_SENDER, None
        replies.touch_last_inbound(session, contact_id, at)
        opt_out_contact(session, contact_id, REASON_KEYWORD, at)
        return OPTED_OUT, contact_id
    campaigns = replies.keyword_campaigns(session, organization_id, event.text)
    if contact_id is None:
        if not campaigns:
            return UNKNOWN_SENDER, None
        contact_id = replies.create_sender(
            session, organization_id, phone, event.profile_name, user_id
        )
        replies.link_inbound(session, inbound_id, contact_id)
        replies.touch_last_inbound(session, contact_id, at)
        replies.enroll_by_keyword(session, campaigns, contact_id)
        return ENROLLED, contact_id
    replies.touch_last_inbound(session, contact_id, at)
    # The keyword of a campaign is how one joins it, not a reply to it.
    skip = {c.id for c in campaigns}
    replies.apply_reply(session, contact_id, at, event.context_wamid, skip)
    replies.enroll_by_keyword(session, campaigns, contact_id)
    return REPLY, contact_id


def apply_marketing_opt_out(
    session: Session,
    organization_id: int,
    from_phone: str | None,
    timestamp: datetime,
    *,
    user_id: str | None = None,
) -> str:
    """The contact turned off marketing messages in WhatsApp's own settings (a user_preferences
    webhook with value "stop"): opted out everywhere, as for error 131050. Repeats change
    nothing (the earliest opt-out's time and reason are kept, whatever order they came in).
    The contact is found by phone, else by BSUID (`user_id`)."""
    contact_id = replies.contact_id_for(session, organization_id, replies.e164(from_phone), user_id)
    if contact_id is None:
        return UNKNOWN_SENDER
    opt_out_contact(session, contact_id, REASON_USER_PREFERENCES, as_utc(timestamp))
    _rejudge_contact(session, organization_id, contact_id)
    return OPTED_OUT


def _inbound_row(event: InboundMessageEvent, at: datetime, contact_id: int | None) -> dict:
    extras = {
        "button_payload": event.button_payload,
        "button_title": event.button_title,
        "profile_name": event.profile_name,
    }
    return {
        "contact_id": contact_id,
        "wa_message_id": event.message_id,
        "message_type": event.message_type,
        "text": event.text,
        "payload": {k: v for k, v in extras.items() if v is not None} or None,
        "context_wamid": event.context_wamid,
        "occurred_at": at,
    }
