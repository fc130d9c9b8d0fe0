"""Ending enrollments because of what happened to their contact (a reply, an opt-out, a
failure of a message), set-based and without a commit.

Earliest wins: the contact's events arrive in any order, so an enrollment ended by one of
them is ended again by an earlier one that arrives later. Endings by the marketer (stopped,
paused) or by Drip (completed) are never replaced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.drip.enrollment.enrolling import LIVE_STATUSES
from app.models import DripEnrollment

STOP_REASON_OPTED_OUT = "opted_out"
STOP_REASON_REPLIED = "replied"
# The contact reached the campaign's goal and the campaign ends enrollments on it (issue 19).
STOP_REASON_CONVERTED = "converted"
# A free-text step due while the contact's 24-hour window is closed, with no fallback template:
# ended before any request (Meta would refuse it with 131047).
STOP_REASON_OUTSIDE_WINDOW = "outside_window"


def ended_by_event():
    """Enrollments ended by an event of their contact (a reply, an opt-out, a failure of a
    message): an earlier event of that kind ends them again."""
    return or_(
        DripEnrollment.status == "failed",
        and_(
            DripEnrollment.status == "stopped",
            DripEnrollment.stop_reason == STOP_REASON_REPLIED,
        ),
        and_(
            DripEnrollment.status == "unsubscribed",
            DripEnrollment.stop_reason == STOP_REASON_OPTED_OUT,
        ),
    )


def live_at(at: datetime, *, ended_at_it: bool = True):
    """Enrollments that were live at `at`: live now, or ended by a contact's event since (with
    ended_at_it=False, only by one strictly after `at`)."""
    ended_since = DripEnrollment.stopped_at >= at if ended_at_it else DripEnrollment.stopped_at > at
    return or_(
        DripEnrollment.status.in_(LIVE_STATUSES),
        and_(ended_by_event(), ended_since, DripEnrollment.enrolled_at <= at),
    )


def end_enrollments(session: Session, *where, status: str, reason: str, at: datetime) -> int:
    """End the live (active or paused) enrollments matching `where`; how many ended."""
    result = session.execute(
        update(DripEnrollment)
        .where(DripEnrollment.status.in_(LIVE_STATUSES), *where)
        .values(status=status, stop_reason=reason, stopped_at=at, next_send_at=None)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def end_enrollments_from(
    session: Session, *where, status: str, reason: str, at: datetime
) -> tuple[int, list[int]]:
    """An event of the contact at `at` ends the live enrollments matching `where`, and ends
    again (at `at`) those that a later event of theirs ended. (How many live ones ended, the
    ids of all it ended: replies after `at` are to be judged again for them.)"""
    ending = live_at(at, ended_at_it=False)
    rows = session.execute(
        select(DripEnrollment.id, DripEnrollment.status).where(ending, *where)
    ).all()
    if rows:
        session.execute(
            update(DripEnrollment)
            # The condition again: checked on the row itself, should it have moved meanwhile.
            .where(DripEnrollment.id.in_([row.id for row in rows]), ending)
            .values(status=status, stop_reason=reason, stopped_at=at, next_send_at=None)
            .execution_options(synchronize_session="fetch")
        )
    return sum(row.status in LIVE_STATUSES for row in rows), [row.id for row in rows]
