"""A contact's timeline: what happened to them, newest first, a page at a time.

Each kind of entry comes from the table that records it, as one SELECT of the same columns:
enrollments (enrolled, and stopped or completed), message logs (the message when it was
claimed, then one status entry for each of sent, delivered, read and failed with its time),
inbound messages (replies, with their campaign and step when they answer one of ours), clicks
on tracked links, and the contact's opt-out. The SELECTs are joined with UNION ALL and the
page is cut in SQL (ORDER BY time, LIMIT, OFFSET), with the campaign's and the step's names
joined to the page's rows in the same statement; a second statement counts the entries. One
contact has tens to hundreds of rows, each source read through an index on its contact (the
clicks through their message log's), so cutting the union is cheaper than bounding every
source by the page's end and merging in Python, and it keeps one order for every page.

Entries at the same instant are ordered by what follows what (a message before its status,
a reply before the stop it causes), newest first like the rest.

Events posted through the API (drip_events) and the goal conversions they made
(drip_conversions) are sources too (timeline_goals.py). To add a source: a function returning
a SELECT of timeline_columns.ENTRY_COLUMNS added to SOURCES, its kind in KINDS (the API
document lists it), a rank in timeline_columns.RANK and its words in WORDS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    String,
    and_,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from app.drip.contacts import timeline_goals
from app.drip.contacts.search import get_contact
from app.drip.contacts.timeline_columns import ENTRY_COLUMNS, RANK  # noqa: F401 - their home
from app.drip.contacts.timeline_columns import entry_columns as _columns
from app.drip.enrollment import stop_reason_text
from app.drip.paging import PageOf
from app.models import (
    Contact,
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
    DripMessageLog,
    InboundMessage,
    Link,
    LinkClick,
)
from app.whatsapp import describe_code

KINDS = (
    "enrolled",
    "message",
    "status",
    "reply",
    "click",
    "opt_out",
    "stopped",
    "completed",
    "converted",
    "event",
)
# The status entries of a message log: its time column for each status Meta reports.
STATUS_TIMES = (
    ("sent", DripMessageLog.sent_at),
    ("delivered", DripMessageLog.delivered_at),
    ("read", DripMessageLog.read_at),
    ("failed", DripMessageLog.failed_at),
)
OPT_OUT_REASONS = {
    "manual": "opted out by hand",
    "keyword": "sent an opt-out keyword",
    "meta_131050": "stopped marketing messages in WhatsApp (Meta's 131050)",
    "meta_user_preferences": "turned off marketing messages in WhatsApp",
}
# Every source's columns, in this order (the UNION ALL's).


@dataclass
class TimelineEntry:
    at: datetime
    kind: str
    campaign_id: int | None
    step_id: int | None
    text: str | None
    status: str | None
    details: dict = field(default_factory=dict)


@dataclass
class Timeline(PageOf):
    entries: list[TimelineEntry]
    total: int
    page: int
    per_page: int


def contact_timeline(
    session: Session, organization_id: int, contact_id: int, page: int = 1, per_page: int = 50
) -> Timeline:
    """A page of the contact's timeline, newest first; NotFound for another organization's."""
    get_contact(session, organization_id, contact_id)
    entries = union_all(*_selects(organization_id, contact_id)).subquery("entries")
    total = session.scalar(select(func.count()).select_from(entries)) or 0
    rows = session.execute(
        select(
            entries,
            DripCampaign.name.label("campaign_name"),
            DripCampaignStep.name.label("step_name"),
            DripCampaignStep.position.label("step_position"),
            DripCampaignStep.message_content.label("step_text"),
        )
        .outerjoin(DripCampaign, DripCampaign.id == entries.c.campaign_id)
        .outerjoin(DripCampaignStep, DripCampaignStep.id == entries.c.step_id)
        .order_by(entries.c.at.desc(), entries.c.rank.desc(), entries.c.ref.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Timeline([_describe(row) for row in rows], total, page, per_page)


def _enrollments(organization_id: int, contact_id: int, *where):
    return (DripEnrollment.organization_id == organization_id,
            DripEnrollment.contact_id == contact_id, *where)  # fmt: skip


def _enrolled(organization_id: int, contact_id: int):
    return select(
        *_columns(
            DripEnrollment.enrolled_at,
            "enrolled",
            campaign_id=DripEnrollment.campaign_id,
            status=DripEnrollment.status,
            ref=DripEnrollment.id,
        )
    ).where(*_enrollments(organization_id, contact_id))


def _stopped(organization_id: int, contact_id: int):
    return select(
        *_columns(
            DripEnrollment.stopped_at,
            "stopped",
            campaign_id=DripEnrollment.campaign_id,
            status=DripEnrollment.status,
            code=DripEnrollment.stop_reason,
            ref=DripEnrollment.id,
        )
    ).where(
        *_enrollments(
            organization_id,
            contact_id,
            DripEnrollment.stopped_at.is_not(None),
            DripEnrollment.status.in_(("stopped", "unsubscribed", "failed")),
        )
    )


def _completed(organization_id: int, contact_id: int):
    return select(
        *_columns(
            DripEnrollment.completed_at,
            "completed",
            campaign_id=DripEnrollment.campaign_id,
            status=DripEnrollment.status,
            ref=DripEnrollment.id,
        )
    ).where(
        *_enrollments(
            organization_id,
            contact_id,
            DripEnrollment.completed_at.is_not(None),
            DripEnrollment.status == "completed",
        )
    )


def _logs(organization_id: int, contact_id: int, *where):
    return (DripMessageLog.organization_id == organization_id,
            DripMessageLog.contact_id == contact_id, *where)  # fmt: skip


def _messages(organization_id: int, contact_id: int):
    return select(
        *_columns(
            DripMessageLog.created_at,
            "message",
            campaign_id=DripMessageLog.campaign_id,
            step_id=DripMessageLog.step_id,
            text=DripMessageLog.template_name,
            status=DripMessageLog.status,
            code=DripMessageLog.category,
            ref=DripMessageLog.id,
        )
    ).where(*_logs(organization_id, contact_id))


def _statuses(organization_id: int, contact_id: int):
    """One SELECT per status, so each is read at its own time; UNION ALL'd with the rest."""
    return [
        select(
            *_columns(
                at,
                "status",
                rank=f"status:{name}",
                campaign_id=DripMessageLog.campaign_id,
                step_id=DripMessageLog.step_id,
                text=DripMessageLog.error_message if name == "failed" else None,
                status=literal_column(f"'{name}'", String),
                code=DripMessageLog.error_code if name == "failed" else None,
                ref=DripMessageLog.id,
            )
        ).where(*_logs(organization_id, contact_id, at.is_not(None)))
        for name, at in STATUS_TIMES
    ]


def _replies(organization_id: int, contact_id: int):
    answered = DripMessageLog.__table__.alias("answered")
    return (
        select(
            *_columns(
                InboundMessage.occurred_at,
                "reply",
                campaign_id=answered.c.campaign_id,
                step_id=answered.c.step_id,
                text=InboundMessage.text,
                code=InboundMessage.message_type,
                ref=InboundMessage.id,
            )
        )
        .outerjoin(
            answered,
            and_(
                answered.c.organization_id == InboundMessage.organization_id,
                answered.c.wamid == InboundMessage.context_wamid,
            ),
        )
        .where(
            InboundMessage.organization_id == organization_id,
            InboundMessage.contact_id == contact_id,
        )
    )


def _clicks(organization_id: int, contact_id: int):
    return (
        select(
            *_columns(
                LinkClick.clicked_at,
                "click",
                campaign_id=DripMessageLog.campaign_id,
                step_id=DripMessageLog.step_id,
                text=Link.url,
                ref=LinkClick.id,
            )
        )
        .join(Link, Link.id == LinkClick.link_id)
        .join(DripMessageLog, DripMessageLog.id == Link.message_log_id)
        .where(
            LinkClick.organization_id == organization_id,
            *_logs(organization_id, contact_id),
        )
    )


def _opt_out(organization_id: int, contact_id: int):
    return select(
        *_columns(Contact.opted_out_at, "opt_out", code=Contact.opt_out_reason, ref=Contact.id)
    ).where(
        Contact.organization_id == organization_id,
        Contact.id == contact_id,
        Contact.opted_out_at.is_not(None),
    )


# Each builds one SELECT of ENTRY_COLUMNS (or a list of them) for (organization, contact).
SOURCES = (
    _enrolled,
    _stopped,
    _completed,
    _messages,
    _statuses,
    _replies,
    _clicks,
    _opt_out,
    timeline_goals.events,
    timeline_goals.conversions,
)


def _selects(organization_id: int, contact_id: int) -> list:
    selects = []
    for build in SOURCES:
        made = build(organization_id, contact_id)
        selects.extend(made if isinstance(made, list) else [made])
    return selects


def _describe(row) -> TimelineEntry:
    """A row of the union as an entry: its text in words and its kind's details."""
    details: dict = {}
    if row.campaign_id is not None:
        details["campaignName"] = row.campaign_name
    if row.step_id is not None:
        details |= {"stepName": row.step_name, "stepPosition": row.step_position}
    text = WORDS[row.kind](row, details)
    status = None if row.kind in ("enrolled", "event", "converted") else row.status
    return TimelineEntry(row.at, row.kind, row.campaign_id, row.step_id, text, status, details)


def _enrolled_words(row, details: dict) -> str:
    details |= {"enrollmentId": row.ref, "enrollmentStatus": row.status}
    return f"Enrolled in {row.campaign_name}"


def _stopped_words(row, details: dict) -> str:
    details |= {"enrollmentId": row.ref, "stopReason": row.code}
    return stop_reason_text(row.code) or "stopped"


def _completed_words(row, details: dict) -> str:
    details["enrollmentId"] = row.ref
    return f"Completed {row.campaign_name}"


def _message_words(row, details: dict) -> str | None:
    details |= {"messageLogId": row.ref, "templateName": row.text, "category": row.code}
    # The text sent is not stored: a text step's message as written (variables unfilled).
    return f"Template {row.text}" if row.text else row.step_text


def _status_words(row, details: dict) -> str:
    details["messageLogId"] = row.ref
    if row.status != "failed":
        return row.status.capitalize()
    error = describe_code(row.code)
    details |= {"errorCode": row.code, "error": error, "errorMessage": row.text}
    return f"Failed: {error}"


def _reply_words(row, details: dict) -> str:
    details["messageType"] = row.code
    return row.text if row.text is not None else f"({row.code} message)"


def _click_words(row, details: dict) -> str:
    details["url"] = row.text
    return row.text


def _opt_out_words(row, details: dict) -> str:
    details["reason"] = row.code
    return f"Opted out: {OPT_OUT_REASONS.get(row.code, row.code or 'no reason recorded')}"


# Each kind's text in words, filling its details.
WORDS = {
    "event": timeline_goals.event_words,
    "converted": timeline_goals.converted_words,
    "enrolled": _enrolled_words,
    "stopped": _stopped_words,
    "completed": _completed_words,
    "message": _message_words,
    "status": _status_words,
    "reply": _reply_words,
    "click": _click_words,
    "opt_out": _opt_out_words,
}
