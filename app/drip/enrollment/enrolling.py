"""Enrolling contacts in a campaign, set-based: one INSERT ... SELECT per batch of targets.

Every contact that is targeted and not enrolled is reported with a reason: not_found (not one
of the organization's contacts), opted_out, already_active, already_paused (a live enrollment
in this campaign), already_completed (completed it and the campaign does not allow
re-enrollment). The partial unique index on live enrollments is the last guard against a
concurrent enrollment of the same contact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from sqlalchemy import Select, case, exists, false, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.drip.enrollment.audience import contact_filter
from app.drip.enrollment.holdout import ensure_salt, split_holdout
from app.drip.enrollment.timing import Scheduler
from app.drip.errors import Conflict, ValidationError
from app.drip.limits import SEARCH_TEXT_MAX, TAG_MAX
from app.drip.sql import fresh_plans, savepoint_on_postgresql
from app.models import Contact, DripCampaign, DripCampaignStep, DripEnrollment

LIVE_STATUSES = ("active", "paused")
SKIP_REASONS = ("not_found", "opted_out", "already_active", "already_paused", "already_completed")
# Contacts per statement: far below the bind-parameter limits of SQLite and PostgreSQL.
BATCH_SIZE = 5000
_ATTEMPTS = 3
# Ids are 64-bit: a larger number names no contact and overflowed the driver (a 500).
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Skip:
    contact_id: int
    reason: str


@dataclass
class EnrollResult:
    enrolled: int = 0
    skipped: list[Skip] = field(default_factory=list)
    # Eligible contacts the campaign's holdout took instead (drip_holdouts: never messaged).
    held_out: int = 0

    def counts(self) -> dict[str, int]:
        """Skipped contacts per reason."""
        return dict(Counter(skip.reason for skip in self.skipped))


def first_step(session: Session, campaign_id: int) -> DripCampaignStep | None:
    """The campaign's first live step."""
    return session.scalars(
        select(DripCampaignStep)
        .where(DripCampaignStep.campaign_id == campaign_id, DripCampaignStep.deleted_at.is_(None))
        .order_by(DripCampaignStep.position, DripCampaignStep.id)
        .limit(1)
    ).first()


def enroll(
    session: Session,
    campaign: DripCampaign,
    *,
    contact_ids: Iterable[int] | None = None,
    tag: str | None = None,
    search: dict | None = None,
    now: datetime | None = None,
    max_ids: int | None = None,
) -> EnrollResult:
    """Enroll chosen contacts, everyone with a tag, or everyone matching a search ({q, tag})
    at the campaign's first live step. Exactly one of contact_ids, tag, search.

    max_ids: at most this many contact_ids (what a person or a client may ask for at once,
    limits.ENROLL_IDS_MAX); None for the triggers and jobs, whose lists the app made."""
    targets = _targets(campaign.organization_id, contact_ids, tag, search, max_ids)
    step = enrollable_first_step(session, campaign)
    scheduler = Scheduler(session, campaign, now)
    if campaign.holdout_percent:
        # Set outside the batches' savepoints, which a retried batch rolls back.
        ensure_salt(campaign)
    result = EnrollResult()
    with fresh_plans(session):
        for target, wanted in targets:
            enrolled, held, skipped = _enroll_target(
                session, campaign, step, target, scheduler, wanted
            )
            result.enrolled += enrolled
            result.held_out += held
            result.skipped += skipped
    result.skipped.sort(key=lambda skip: skip.contact_id)
    return result


def enrollable_first_step(session: Session, campaign: DripCampaign) -> DripCampaignStep:
    """The step new enrollments start at, or why the campaign takes none."""
    if campaign.status == "archived":
        raise ValidationError(
            "An archived campaign takes no new enrollments.", {"campaign": "Archived."}
        )
    step = first_step(session, campaign.id)
    if step is None:
        raise ValidationError(
            "The campaign has no steps yet; add one before enrolling contacts.",
            {"steps": "Add a step first."},
        )
    return step


def _targets(
    organization_id: int, contact_ids, tag, search, max_ids: int | None
) -> list[tuple[Select, list[int] | None]]:
    """SELECTs of Contact.id to enroll, each with the ids asked for when ids were given."""
    given = [
        name
        for name, v in (("contactIds", contact_ids), ("tag", tag), ("search", search))
        if v is not None
    ]
    if len(given) != 1:
        raise ValidationError(
            "Say whom to enroll: contactIds, a tag, or a search.",
            {"contactIds": "Give exactly one of contactIds, tag or search."},
        )
    if tag is not None:
        if not isinstance(tag, str) or not tag.strip():
            raise ValidationError("The tag is empty.", {"tag": "Give a tag name."})
        if len(tag) > TAG_MAX:  # counted as sent, as the OpenAPI document's maxLength counts
            raise ValidationError(_too_long("tag", TAG_MAX), {"tag": _too_long("tag", TAG_MAX)})
        return [(contact_filter(organization_id, tag=tag), None)]
    if search is not None:
        return [(_search_target(organization_id, search), None)]
    ids = _clean_ids(contact_ids, max_ids)
    return [
        (
            select(Contact.id).where(
                Contact.organization_id == organization_id, Contact.id.in_(chunk)
            ),
            chunk,
        )
        for chunk in (ids[i : i + BATCH_SIZE] for i in range(0, len(ids), BATCH_SIZE))
    ]


def _search_target(organization_id: int, search) -> Select:
    if not isinstance(search, dict):
        raise ValidationError("The search must be an object.", {"search": "{q, tag}."})
    q, tag = search.get("q"), search.get("tag")
    if any(v is not None and not isinstance(v, str) for v in (q, tag)):
        raise ValidationError("q and tag are strings.", {"search": "q and tag are strings."})
    if not (q or "").strip() and not (tag or "").strip():
        raise ValidationError(
            "An empty search would enroll everyone; give a search text or a tag.",
            {"search": "Give a search text or a tag."},
        )
    for what, value, longest in (("search text", q, SEARCH_TEXT_MAX), ("tag", tag, TAG_MAX)):
        if len(value or "") > longest:
            raise ValidationError(_too_long(what, longest), {"search": _too_long(what, longest)})
    return contact_filter(organization_id, q=(q or "").strip() or None, tag=tag or None)


def _too_long(what: str, longest: int) -> str:
    return f"The {what} has at most {longest} characters."


def _clean_ids(contact_ids, max_ids: int | None) -> list[int]:
    # One past the limit is enough to refuse: a huge list is never copied or checked whole.
    ids = list(contact_ids if max_ids is None else islice(contact_ids, max_ids + 1))
    if max_ids is not None and len(ids) > max_ids:
        raise ValidationError(
            f"Enroll at most {max_ids:,} contacts by id at once: enroll a larger audience "
            "with a tag or a search.",
            {"contactIds": f"At most {max_ids:,} ids; for more, use a tag or a search."},
        )
    if not ids or any(
        isinstance(i, bool) or not isinstance(i, int) or abs(i) > MAX_ID for i in ids
    ):
        raise ValidationError(
            "contactIds must be a non-empty list of contact ids.",
            {"contactIds": "A non-empty list of whole numbers (64-bit)."},
        )
    return list(dict.fromkeys(ids))


def _enroll_target(
    session, campaign, step, target: Select, scheduler, wanted: list[int] | None
) -> tuple[int, int, list[Skip]]:
    """The target in batches of contacts (by id): each contact is classified by one SELECT,
    the skipped are reported, the holdout's recorded, the rest inserted by one INSERT ...
    SELECT. Returns (enrolled, held out, skipped)."""
    enrolled, held_out, skipped, seen = 0, 0, [], set()
    last_id = 0
    while True:
        batch = target.where(Contact.id > last_id).order_by(Contact.id).limit(BATCH_SIZE)
        rows, batch_skipped, count, held = _enroll_batch(session, campaign, step, batch, scheduler)
        enrolled += count
        held_out += held
        skipped += batch_skipped
        if wanted is not None:
            seen.update(row.id for row in rows)
        if len(rows) < BATCH_SIZE:
            break
        last_id = rows[-1].id
    if wanted is not None:
        skipped += [
            Skip(contact_id, "not_found") for contact_id in wanted if contact_id not in seen
        ]
    return enrolled, held_out, skipped


def _enroll_batch(session, campaign, step, batch: Select, scheduler):
    """Classify and insert one batch; retried if a concurrent enrollment wins a race (the
    unique index on live enrollments refuses our insert, and the next look reports it)."""
    for _attempt in range(_ATTEMPTS):
        try:
            with savepoint_on_postgresql(session):
                rows = _classify(session, campaign, batch)
                skipped, eligible = [], {}
                for row in rows:
                    reason = _skip_reason(row)
                    if reason is None:
                        eligible[row.id] = row.timezone
                    else:
                        skipped.append(Skip(row.id, reason))
                # Every way in (the pages, the API, tags, keywords, new contacts) comes here.
                eligible, held = split_holdout(session, campaign, eligible, scheduler.now)
                count = _insert(session, campaign, step, eligible, scheduler) if eligible else 0
            return rows, skipped, count, held
        except IntegrityError:
            continue
    raise Conflict("These contacts are being enrolled by someone else right now; try again.")


def _classify(session: Session, campaign: DripCampaign, batch: Select) -> list:
    """Each contact of the batch with what decides its fate. Per-contact subqueries are index
    lookups, and this SELECT ends before the INSERT starts: an anti-join inside the INSERT
    could rescan, row after row, the enrollments the INSERT is adding."""
    live, completed = fate_columns(campaign)
    columns = (
        Contact.id,
        Contact.timezone,
        Contact.opted_out_at,
        live.label("live"),
        completed.label("completed"),
    )
    return session.execute(batch.with_only_columns(*columns)).all()


def fate_columns(campaign: DripCampaign) -> tuple:
    """Per contact: the status of its live enrollment in the campaign (or NULL), and whether
    a completed enrollment bars it (re-enrollment off). Enrolling and the pre-launch review
    (review.py) both decide by these, so the review's count is what Enroll does."""
    live = (
        select(DripEnrollment.status)
        .where(
            DripEnrollment.campaign_id == campaign.id,
            DripEnrollment.contact_id == Contact.id,
            DripEnrollment.status.in_(LIVE_STATUSES),
        )
        .limit(1)
        .scalar_subquery()
    )
    completed = false()
    if not campaign.allow_reenrollment:
        completed = exists().where(
            DripEnrollment.campaign_id == campaign.id,
            DripEnrollment.contact_id == Contact.id,
            DripEnrollment.status == "completed",
        )
    return live, completed


def _skip_reason(row) -> str | None:
    if row.opted_out_at is not None:
        return "opted_out"
    if row.live is not None:
        return f"already_{row.live}"
    if row.completed:
        return "already_completed"
    return None


def _insert(session, campaign, step, eligible: dict[int, str | None], scheduler) -> int:
    """One INSERT ... SELECT of the eligible contacts; next_send_at per time zone by a CASE."""
    now = scheduler.now
    table = DripEnrollment.__table__
    time_type = table.c.next_send_at.type

    def due(zone: str | None):
        return literal(scheduler.due(now, step.delay_amount, step.delay_unit, zone), time_type)

    next_send_at = due(None)
    if scheduler.per_contact:
        named = {zone: due(zone) for zone in set(eligible.values()) if zone}
        if named:
            next_send_at = case(named, value=Contact.timezone, else_=next_send_at)
    columns = {
        "organization_id": literal(campaign.organization_id),
        "campaign_id": literal(campaign.id),
        "contact_id": Contact.id,
        "status": literal("active"),
        "current_step_id": literal(step.id),
        "next_send_at": next_send_at,
        "retry_count": literal(0),
        "enrolled_at": literal(now, time_type),
        "updated_at": literal(now, time_type),
    }
    rows = select(*columns.values()).where(Contact.id.in_(list(eligible)))
    statement = insert(table).from_select([table.c[name] for name in columns], rows)
    # INSERT keeps its row count only when asked (SQLAlchemy 2.0.28+).
    return session.execute(statement.execution_options(preserve_rowcount=True)).rowcount
