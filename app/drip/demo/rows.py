"""The simulated history written as real rows, in bulk: enrollments, A/B assignments, message
logs (each in its final state, so the rollup triggers of migration 0006 count it once and
the assignment triggers of 0007 copy its flags to its assignment, which exists first), the
short links of tracked messages and their clicks, the contacts' replies and STOPs, and what
those did to the contacts (opted out, undeliverable, last message).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from app.drip.demo.bulk import insert_rows
from app.drip.demo.simulation import Journey, Send, opt_out_of
from app.drip.sql import chunked
from app.models import (
    Contact,
    DripEnrollment,
    DripMessageLog,
    DripVariantAssignment,
    InboundMessage,
    Link,
    LinkClick,
)

USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Mobile Safari/537.36",
)


@dataclass(frozen=True)
class Target:
    organization_id: int
    campaign_id: int
    seed: int
    urls: dict[int, str]  # step id -> the URL its text message carries (tracked)
    variant_tests: dict[int, int]  # variant id -> test id


def _digest(*parts) -> str:
    raw = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return base64.urlsafe_b64encode(raw).decode()[:22]


def write(session: Session, target: Target, journeys: Sequence[Journey]) -> dict[str, int]:
    """Every row of the journeys; how many of each were written."""
    enrollment_ids = _enrollments(session, target, journeys)
    sends = [
        (journey, enrollment_id, send)
        for journey, enrollment_id in zip(journeys, enrollment_ids, strict=True)
        for send in journey.sends
    ]
    assignments = _assignments(session, target, sends)
    log_ids = _logs(session, target, sends)
    links = _links(session, target, sends, log_ids)
    inbound = _inbound(session, target, sends)
    _contacts(session, journeys)
    return {
        "enrollments": len(enrollment_ids),
        "message_logs": len(log_ids),
        "variant_assignments": assignments,
        "links": links,
        "inbound_messages": inbound,
    }


def _enrollments(session: Session, target: Target, journeys: Sequence[Journey]) -> list[int]:
    rows = [
        {
            "organization_id": target.organization_id,
            "campaign_id": target.campaign_id,
            "contact_id": j.joiner.contact_id,
            "status": j.status,
            "current_step_id": j.current_step_id,
            "last_step_id": j.last_step_id,
            "next_send_at": j.next_send_at,
            "last_sent_at": j.last_sent_at,
            "retry_count": 0,
            "enrolled_at": j.joiner.enrolled_at,
            "paused_at": j.paused_at,
            "completed_at": j.completed_at,
            "stopped_at": j.stopped_at,
            "stop_reason": j.stop_reason,
            "updated_at": j.updated_at,
        }
        for j in journeys
    ]
    insert_rows(session, DripEnrollment, rows)
    e = DripEnrollment
    ids = dict(
        session.execute(select(e.contact_id, e.id).where(e.campaign_id == target.campaign_id)).all()
    )
    return [ids[j.joiner.contact_id] for j in journeys]


def _created(send: Send) -> datetime:
    """The processor claims (creates the log) a moment before the send is recorded."""
    return send.outcome.sent_at - timedelta(seconds=1)


def _assignments(session: Session, target: Target, sends) -> int:
    rows = [
        {
            "organization_id": target.organization_id,
            "test_id": target.variant_tests[send.variant_id],
            "variant_id": send.variant_id,
            "contact_id": journey.joiner.contact_id,
            "phase": 1,
            "assigned_at": _created(send),
        }
        for journey, _, send in sends
        if send.variant_id is not None
    ]
    insert_rows(session, DripVariantAssignment, rows)
    return len(rows)


def _wamid(target: Target, journey: Journey, send: Send) -> str:
    return "wamid.DEMO." + _digest(target.seed, journey.joiner.index, send.step.position)


def _status(outcome) -> str:
    """The log's status: it only moves forward (message_status.RANK)."""
    if outcome.failure is not None:
        return "failed"
    if outcome.read_at is not None:
        return "read"
    return "delivered" if outcome.delivered_at is not None else "sent"


def _log_row(target: Target, journey: Journey, enrollment_id: int, send: Send) -> dict:
    o = send.outcome
    failure = o.failure
    times = (o.sent_at, o.delivered_at, o.read_at, o.clicked_at, o.replied_at, o.failed_at)
    return {
        "organization_id": target.organization_id,
        "enrollment_id": enrollment_id,
        "campaign_id": target.campaign_id,
        "step_id": send.step.id,
        "contact_id": journey.joiner.contact_id,
        "variant_id": send.variant_id,
        "status": _status(o),
        "wamid": _wamid(target, journey, send),
        "attempts": 1,
        "error_code": failure.code if failure else None,
        "error_message": failure.reason if failure else None,
        "sent_at": o.sent_at,
        "delivered_at": o.delivered_at,
        "read_at": o.read_at,
        "replied_at": o.replied_at,
        "clicked_at": o.clicked_at,
        "failed_at": o.failed_at,
        "created_at": _created(send),
        "updated_at": max(t for t in times if t is not None),
    }


def _logs(session: Session, target: Target, sends) -> list[int]:
    """The message logs, each inserted once in its final state; their ids in order."""
    insert_rows(session, DripMessageLog, [_log_row(target, *send) for send in sends])
    log = DripMessageLog
    rows = session.execute(
        select(log.id, log.enrollment_id, log.step_id).where(log.campaign_id == target.campaign_id)
    )
    ids = {(enrollment_id, step_id): log_id for log_id, enrollment_id, step_id in rows}
    return [ids[(enrollment_id, send.step.id)] for _, enrollment_id, send in sends]


def _links(session: Session, target: Target, sends, log_ids: list[int]) -> int:
    """A short link for every tracked message (made when it was sent), clicks on some."""
    rows = [
        {
            "organization_id": target.organization_id,
            "message_log_id": log_id,
            "code": _digest("link", target.seed, journey.joiner.index, send.step.position)[:16],
            "url": target.urls[send.step.id],
            "click_count": 1 if send.outcome.clicked_at else 0,
            "first_clicked_at": send.outcome.clicked_at,
            "created_at": _created(send),
        }
        for (journey, _, send), log_id in zip(sends, log_ids, strict=True)
        if send.step.id in target.urls
    ]
    insert_rows(session, Link, rows)
    link_ids = dict(
        session.execute(
            select(Link.message_log_id, Link.id).where(
                Link.organization_id == target.organization_id, Link.message_log_id.is_not(None)
            )
        ).all()
    )
    clicks = [
        {
            "organization_id": target.organization_id,
            "link_id": link_ids[row["message_log_id"]],
            "clicked_at": row["first_clicked_at"],
            "user_agent": USER_AGENTS[row["message_log_id"] % len(USER_AGENTS)],
        }
        for row in rows
        if row["first_clicked_at"] is not None
    ]
    insert_rows(session, LinkClick, clicks)
    return len(rows)


def _inbound(session: Session, target: Target, sends) -> int:
    """The contacts' answers: replies, and STOPs, each quoting the message it answers."""
    rows = []
    for journey, _, send in sends:
        o = send.outcome
        for at, words in ((o.replied_at, o.reply_text), (o.opted_out_at, "STOP")):
            if at is None:
                continue
            wamid = _wamid(target, journey, send)
            rows.append(
                {
                    "organization_id": target.organization_id,
                    "contact_id": journey.joiner.contact_id,
                    "wa_message_id": "wamid.DEMO.IN." + _digest(wamid),
                    "message_type": "text",
                    "text": words,
                    "context_wamid": wamid,
                    "occurred_at": at,
                    "received_at": at + timedelta(seconds=1),
                }
            )
    insert_rows(session, InboundMessage, rows)
    return len(rows)


def _contacts(session: Session, journeys: Sequence[Journey]) -> None:
    """Opted out (the first time and why), undeliverable (131026), last message from them."""
    rows = []
    for journey in journeys:
        outcomes = [s.outcome for s in journey.sends]
        opt_outs = sorted(filter(None, map(opt_out_of, outcomes)))
        undeliverable = [o.failed_at for o in outcomes if o.failure and o.failure.code == "131026"]
        inbound = [t for o in outcomes for t in (o.replied_at, o.opted_out_at) if t is not None]
        joined = journey.joiner.enrolled_at  # their first message, which enrolled them
        if not (opt_outs or undeliverable or inbound):
            continue
        changed = [t for t in (*undeliverable, *inbound, *(t for t, _ in opt_outs))]
        rows.append(
            {
                "b_id": journey.joiner.contact_id,
                "b_opted_out_at": opt_outs[0][0] if opt_outs else None,
                "b_reason": opt_outs[0][1] if opt_outs else None,
                "b_undeliverable_at": min(undeliverable, default=None),
                "b_last_inbound_at": max(inbound, default=joined),
                "b_updated_at": max(changed),
            }
        )
    table = Contact.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            opted_out_at=bindparam("b_opted_out_at"),
            opt_out_reason=bindparam("b_reason"),
            undeliverable_at=bindparam("b_undeliverable_at"),
            last_inbound_at=bindparam("b_last_inbound_at"),
            updated_at=bindparam("b_updated_at"),
        )
    )
    for part in chunked(rows):
        session.execute(statement, part)
