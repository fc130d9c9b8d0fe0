"""The sending budgets at claim time, set-based: the frequency cap (per contact, marketing) and
the messaging limit (per organization, unique people reached outside their window in a
moving 24 hours). A send over either is deferred, never failed: the enrollment's next_send_at
becomes the first time it is allowed and wait_reason says why.

Counting in-flight sends: a log claimed for an outside-window send carries
outside_window = true from its claim on, and counts from then as reached at its sent_at, or
at its created_at while it is still pending without one (before Meta answered, or waiting for
a retry). The claims of one organization are serialized on PostgreSQL by a transaction-level
advisory lock taken before the count, so a second worker counts the first one's logs (its
count statement starts after the first claim committed): two workers never overshoot.
SQLite has one writer at a time.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.orm import Session

from app.drip.sending.budget import (
    LIMIT_WINDOW,
    ReachWindow,
    allocate_slots,
    cap_allows,
)
from app.drip.sql import dialect_name, id_in
from app.models import DripCampaign, DripEnrollment, DripMessageLog, Organization

MESSAGING_LIMIT = "messaging_limit"
FREQUENCY_CAP = "frequency_cap"
MARKETING = "MARKETING"
_LOCK_NAMESPACE = 17_024  # pg_advisory_xact_lock(namespace, organization id)

_LOG = DripMessageLog


def _reached_at():
    """When a counted log reached its contact: sent_at, or created_at while pending."""
    return func.coalesce(_LOG.sent_at, _LOG.created_at)


def _counted(organization_id: int, cutoff: datetime):
    return and_(
        _LOG.organization_id == organization_id,
        _LOG.outside_window.is_(True),
        or_(
            _LOG.sent_at > cutoff,
            and_(_LOG.sent_at.is_(None), _LOG.status == "pending", _LOG.created_at > cutoff),
        ),
    )


def load_reach(
    session: Session, organization_id: int, now: datetime, contacts: set, need: int
) -> ReachWindow:
    """The organization's ReachWindow: one count, the due contacts already counted and, when
    `need` new contacts would pass the limit, the `need` earliest latest-reach times."""
    cutoff = now - LIMIT_WINDOW
    where = _counted(organization_id, cutoff)
    used = session.scalar(select(func.count(func.distinct(_LOG.contact_id))).where(where)) or 0
    last = func.max(_reached_at())
    reached = (
        dict(
            session.execute(
                select(_LOG.contact_id, last)
                .where(where, id_in(session, _LOG.contact_id, contacts))
                .group_by(_LOG.contact_id)
            ).all()
        )
        if contacts
        else {}
    )
    latest = []
    if need:
        latest = list(
            session.scalars(
                select(last).where(where).group_by(_LOG.contact_id).order_by(last).limit(need)
            )
        )
    return ReachWindow(used=used, reached=reached, latest=latest)


def used_slots(
    session: Session, organization_id: int, now: datetime
) -> tuple[int, datetime | None]:
    """Unique contacts counted now, and when the oldest of them leaves the 24 hours."""
    window = load_reach(session, organization_id, now, set(), 1)
    return window.used, (window.latest[0] + LIMIT_WINDOW if window.latest else None)


def gate(session: Session, rows, plans: dict, now: datetime) -> set[int]:
    """Defer the rows (with id, organization_id, campaign_id, contact_id, messaging_limit,
    frequency_cap_exempt) that the frequency cap or the messaging limit stops now; their ids."""
    deferred: dict[int, tuple[datetime, str]] = {}
    marketing = [
        r for r in rows if plans[r.id].category == MARKETING and not r.frequency_cap_exempt
    ]
    if marketing:
        deferred.update(_frequency_cap(session, marketing, now))
    outside = [
        r
        for r in rows
        if r.id not in deferred and plans[r.id].outside and r.messaging_limit is not None
    ]
    if outside:
        deferred.update(_messaging_limit(session, outside, now))
    by_time = defaultdict(list)
    for enrollment_id, key in deferred.items():
        by_time[key].append(enrollment_id)
    for (at, reason), ids in by_time.items():
        session.execute(
            update(DripEnrollment)
            .where(id_in(session, DripEnrollment.id, ids))
            .values(next_send_at=at, wait_reason=reason)
            .execution_options(synchronize_session=False)
        )
    return set(deferred)


def _messaging_limit(session: Session, rows, now: datetime) -> dict[int, tuple[datetime, str]]:
    by_org = defaultdict(list)
    for row in rows:
        by_org[row.organization_id].append(row)
    if dialect_name(session) == "postgresql":
        for organization_id in sorted(by_org):
            session.execute(
                text("SELECT pg_advisory_xact_lock(:ns, :org)"),
                {"ns": _LOCK_NAMESPACE, "org": organization_id},
            )
    deferred = {}
    for organization_id, org_rows in by_org.items():
        limit = org_rows[0].messaging_limit
        contacts = {r.contact_id for r in org_rows}
        # Fast path: the logs counted (a bound on the people) plus every due contact fit.
        logs = session.scalar(
            select(func.count()).where(_counted(organization_id, now - LIMIT_WINDOW))
        )
        if logs + len(contacts) <= limit:
            continue
        window = load_reach(session, organization_id, now, contacts, 0)
        new = len(contacts - set(window.reached))
        if window.used + new > limit:
            window = load_reach(session, organization_id, now, contacts, new)
        due = [(r.id, r.contact_id) for r in org_rows]
        allocation = allocate_slots(window, due, now, limit)
        for enrollment_id, at in allocation.deferred.items():
            deferred[enrollment_id] = (at, MESSAGING_LIMIT)
    return deferred


def _frequency_cap(session: Session, rows, now: datetime) -> dict[int, tuple[datetime, str]]:
    caps = {
        org_id: (messages, days)
        for org_id, messages, days in session.execute(
            select(
                Organization.id,
                Organization.frequency_cap_messages,
                Organization.frequency_cap_days,
            ).where(
                Organization.id.in_({r.organization_id for r in rows}),
                Organization.frequency_cap_messages.is_not(None),
                Organization.frequency_cap_days.is_not(None),
            )
        )
    }
    rows = [r for r in rows if r.organization_id in caps]
    if not rows:
        return {}
    longest = max(days for _, days in caps.values())
    history = defaultdict(list)
    # The claimed step's own log (a retry) is not counted against itself: left out here rather
    # than in SQL, where a NOT IN of a batch's pairs cost more to build than the query to run.
    claimed = {(r.id, r.current_step_id) for r in rows}
    for contact_id, created_at, enrollment_id, step_id in session.execute(
        select(_LOG.contact_id, _LOG.created_at, _LOG.enrollment_id, _LOG.step_id)
        .join(DripCampaign, DripCampaign.id == _LOG.campaign_id)
        .where(
            id_in(session, _LOG.contact_id, {r.contact_id for r in rows}),
            _LOG.created_at > now - timedelta(days=longest),
            _LOG.category == MARKETING,
            _LOG.status != "failed",
            DripCampaign.frequency_cap_exempt.is_(False),
        )
        .order_by(_LOG.created_at)
    ):
        if (enrollment_id, step_id) not in claimed:
            history[contact_id].append(created_at)
    deferred = {}
    for row in rows:
        messages, days = caps[row.organization_id]
        allowed, at = cap_allows(history[row.contact_id], now, messages, days)
        if allowed:
            history[row.contact_id].append(now)
        else:
            deferred[row.id] = (at, FREQUENCY_CAP)
    return deferred
