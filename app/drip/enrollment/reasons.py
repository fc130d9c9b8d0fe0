"""Why an enrollment ended, in words a marketer can act on (pages and the API's
stopReasonText). Reasons not listed here are already words (a send failure's reason) and are
shown as they are."""

from __future__ import annotations

from app.drip.enrollment.endings import (
    STOP_REASON_CONVERTED,
    STOP_REASON_OPTED_OUT,
    STOP_REASON_OUTSIDE_WINDOW,
    STOP_REASON_REPLIED,
)
from app.whatsapp import describe_code

STOP_REASON_TEXT = {
    "manual": "stopped by hand",
    STOP_REASON_REPLIED: "replied (the campaign stops on a reply)",
    STOP_REASON_OPTED_OUT: "opted out",
    "campaign_archived": "the campaign was archived",
    STOP_REASON_CONVERTED: "reached the campaign's goal",
    STOP_REASON_OUTSIDE_WINDOW: "outside the 24-hour window: add a fallback template",
    "undeliverable": "undeliverable: WhatsApp cannot reach this number",
    # A free-text message Meta refused with 131047 (the window had closed).
    "outside_24h_window: use a template": "outside the 24-hour window: add a fallback template",
}


SEND_FAILED = "send_failed"

# drip_enrollments.wait_reason, set by the sending rules (app.drip.sending.gates and
# marketing_cap) when they push a due message back.
WAIT_REASON_TEXT = {
    "messaging_limit": "waiting for a free slot: the WhatsApp account's messaging limit (people "
    "reached outside their 24-hour window in 24 hours) is reached",
    "frequency_cap": "waiting for the frequency cap: this contact already had the most marketing "
    "messages your organization allows in its period",
    "marketing_cap": "WhatsApp held back this marketing message (Meta's per-user marketing cap, "
    "131049): trying again a day later, inside the sending hours",
}


def wait_reason_text(reason: str | None) -> str | None:
    """A sending rule's wait reason in words (None for none)."""
    if reason is None:
        return None
    return WAIT_REASON_TEXT.get(reason, reason.replace("_", " "))


def stop_reason_text(reason: str | None) -> str | None:
    """The stop reason in words (None for none). A failed send's reason carries Meta's code
    ("send_failed:131026"): shown as what the code means."""
    if reason is None:
        return None
    if reason in STOP_REASON_TEXT:
        return STOP_REASON_TEXT[reason]
    if reason == SEND_FAILED:
        return "a message could not be sent"
    if reason.startswith(f"{SEND_FAILED}:"):
        return f"a message could not be sent: {describe_code(reason.split(':', 1)[1])}"
    return reason


# What a branch waits for, said of its message: "a reply to or a read of “Welcome”".
BRANCH_EVENT_NOUN = {
    "replied": "a reply to",
    "read": "a read of",
    "clicked": "a click in",
}
# How an enrollment reached its branch's end: "(it replied to “Welcome”)".
BRANCH_END_CAUSE = {
    "replied": "it replied to {}",
    "read": "it read {}",
    "clicked": "it clicked a link in {}",
    "goal": "it reached the campaign's goal after {}",
    "timeout": "nothing came within the wait after {}",
}


def branch_wait_text(
    wait: str, events, step_name: str, deadline: str | None, then: str | None
) -> str:
    """ "Waiting up to 2 days for a reply to or a read of “Welcome”: if none comes by
    Wed 9 Jan 14:00 it goes on to “Reminder”." (`then` None: the journey ends.)"""
    nouns = [BRANCH_EVENT_NOUN[e] for e in events if e in BRANCH_EVENT_NOUN]
    what = f"{' or '.join(nouns)} “{step_name}”" if nouns else ""
    if "goal" in events:
        what = f"{what} or the campaign's goal" if what else "the campaign's goal"
    by = f" by {deadline}" if deadline else ""
    way = f"it goes on to “{then}”" if then else "the journey ends"
    return f"Waiting up to {wait} for {what}: if none comes{by} {way}."


def branch_end_text(via: str | None, step_name: str) -> str:
    cause = BRANCH_END_CAUSE.get(via or "", "its branch ended it at {}")
    return f"Ends the journey at the next pass ({cause.format(f'“{step_name}”')})."
