"""Deleting a step of a live campaign, and taking it back.

Deleting a step moves the enrollments waiting on it to the next step (or completes them at the
end). What was moved is recorded in the step.deleted audit event's details, so for
UNDO_MINUTES the deletion can be undone: the step comes back at its place and the recorded
enrollments that have not gone further since move back to it. An enrollment that has since
been sent the next step, or ended, stays where it is (and the undo says how many did).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from app.drip import enrollment
from app.drip.campaigns.branches import branch_targets
from app.drip.campaigns.lifecycle import ensure_editable, live_steps
from app.drip.enrollment import LIVE_STATUSES
from app.drip.errors import Conflict
from app.models import (
    AuditEvent,
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
    DripMessageLog,
    utcnow,
)

UNDO_MINUTES = 10
# Past this many moved enrollments the deletion records only how many: a delete's audit event
# stays small, and its undo restores the step alone (it says so).
UNDO_IDS_MAX = 10_000


@dataclass(frozen=True)
class StepMove:
    """What deleting a step does to the enrollments waiting on it."""

    waiting: int
    to_step: DripCampaignStep | None  # None: they complete (it is the last step)


@dataclass(frozen=True)
class Undone:
    step: DripCampaignStep
    moved_back: int
    stayed: int  # moved by the deletion but gone further (or ended) since
    unrecorded: bool  # too many were moved to record: none could be moved back


def waiting_counts(session: Session, campaign_id: int) -> dict[int, int]:
    """step id -> live enrollments waiting on it, in one GROUP BY."""
    rows = session.execute(
        select(DripEnrollment.current_step_id, func.count())
        .where(
            DripEnrollment.campaign_id == campaign_id,
            DripEnrollment.status.in_(LIVE_STATUSES),
            DripEnrollment.current_step_id.is_not(None),
        )
        .group_by(DripEnrollment.current_step_id)
    )
    return {step_id: int(n) for step_id, n in rows}


def next_live_step(steps: list[DripCampaignStep], step: DripCampaignStep):
    later = [s for s in steps if s.position > step.position and s.id != step.id]
    return later[0] if later else None


def step_move(session: Session, step: DripCampaignStep) -> StepMove:
    waiting = waiting_counts(session, step.campaign_id).get(step.id, 0)
    return StepMove(waiting, next_live_step(live_steps(session, step.campaign_id), step))


def moved_record(session: Session, step: DripCampaignStep) -> dict:
    """Before the deletion: which enrollments it will move, and where (the audit details)."""
    to_step = next_live_step(live_steps(session, step.campaign_id), step)
    rows = session.execute(
        select(DripEnrollment.id, DripEnrollment.status)
        .where(
            DripEnrollment.campaign_id == step.campaign_id,
            DripEnrollment.current_step_id == step.id,
            DripEnrollment.status.in_(LIVE_STATUSES),
        )
        .order_by(DripEnrollment.id)
        .limit(UNDO_IDS_MAX + 1)
    ).all()
    count = len(rows)
    if count > UNDO_IDS_MAX:
        count = step_move(session, step).waiting
    recorded = count <= UNDO_IDS_MAX
    return {
        "toStepId": to_step.id if to_step else None,
        "toStepName": to_step.name if to_step else None,
        "count": count,
        "ids": [r.id for r in rows if r.status == "active"] if recorded else None,
        "pausedIds": [r.id for r in rows if r.status == "paused"] if recorded else None,
    }


# Built once with bind parameters: the campaign page reads it at every view (issue 21).
_DELETIONS = (
    select(AuditEvent)
    .where(
        AuditEvent.organization_id == bindparam("organization_id"),
        AuditEvent.campaign_id == bindparam("campaign_id"),
        AuditEvent.action == "step.deleted",
        AuditEvent.created_at >= bindparam("since"),
    )
    .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    .limit(20)
)


def deletion_event(
    session: Session, campaign: DripCampaign, now: datetime, *, step_id: int | None = None
) -> AuditEvent | None:
    """The newest step.deleted event of the campaign still within UNDO_MINUTES whose step is
    still deleted (of step_id, when given)."""
    arguments = {
        "organization_id": campaign.organization_id,
        "campaign_id": campaign.id,
        "since": now - timedelta(minutes=UNDO_MINUTES),
    }
    events = session.scalars(_DELETIONS, arguments).all()
    for event in events:
        details = event.details or {}
        if step_id is not None and details.get("stepId") != step_id:
            continue
        step = session.get(DripCampaignStep, details.get("stepId"))
        if step is not None and step.deleted_at is not None and "moved" in details:
            return event
        if step_id is not None:
            return None
    return None


def restore_step(
    session: Session, campaign: DripCampaign, step: DripCampaignStep, now: datetime | None = None
) -> Undone:
    """Undo the step's deletion (see the module's docstring), or a Conflict saying why not."""
    ensure_editable(campaign)
    now = now or utcnow()
    if step.campaign_id != campaign.id or step.deleted_at is None:
        raise Conflict("This step is not deleted: there is nothing to undo.")
    event = deletion_event(session, campaign, now, step_id=step.id)
    if event is None:
        raise Conflict(
            f"A step's deletion can be undone for {UNDO_MINUTES} minutes only: add the step "
            "again instead."
        )
    details = event.details
    deleted_at = step.deleted_at
    steps = live_steps(session, campaign.id)
    place = min(max(int(details.get("position") or len(steps) + 1), 1), len(steps) + 1)
    steps.insert(place - 1, step)
    _check_order(steps, place)
    step.deleted_at = None
    for index, row in enumerate(steps, start=1):
        if row.position != index:
            row.position = index
    session.flush()
    moved = details["moved"]
    if moved.get("ids") is None:
        return Undone(step, 0, int(moved.get("count") or 0), unrecorded=bool(moved.get("count")))
    back = _move_back(session, campaign, step, moved, deleted_at, now)
    enrollment.on_step_timing_changed(session, step)  # due times for the step they are back at
    session.flush()
    total = len(moved["ids"]) + len(moved["pausedIds"])
    return Undone(step, back, total - back, unrecorded=False)


def _check_order(ordered: list[DripCampaignStep], place: int) -> None:
    """The step comes back with its branch, at its place: refused when that branch would then
    lead to itself or backwards (the steps were reordered since the deletion)."""
    step = ordered[place - 1]
    targets = branch_targets(step)
    for index, before in enumerate(ordered[:place], start=1):
        if before.id in targets:
            raise Conflict(
                f"Undoing would bring back step {place} “{step.name}” with its branch leading "
                f"to step {index} “{before.name}”, which is now before it: put the steps back "
                "in order first, or add the step again."
            )


def _move_back(session, campaign, step, moved: dict, deleted_at: datetime, now) -> int:
    to_step_id = moved.get("toStepId")
    back = 0
    for status, ids in (("active", moved["ids"]), ("paused", moved["pausedIds"])):
        if not ids:
            continue
        not_sent_since = ~exists().where(
            DripMessageLog.enrollment_id == DripEnrollment.id,
            DripMessageLog.step_id == to_step_id,
        )
        if to_step_id is not None:
            where = and_(
                DripEnrollment.status == status,
                DripEnrollment.current_step_id == to_step_id,
                not_sent_since,
            )
        else:  # completed by the deletion, and not enrolled again since
            other = aliased(DripEnrollment)
            where = and_(
                DripEnrollment.status == "completed",
                DripEnrollment.current_step_id.is_(None),
                DripEnrollment.completed_at >= deleted_at,
                ~exists().where(
                    other.campaign_id == DripEnrollment.campaign_id,
                    other.contact_id == DripEnrollment.contact_id,
                    other.status.in_(LIVE_STATUSES),
                ),
            )
        for chunk in _chunks(ids, 1_000):
            result = session.execute(
                update(DripEnrollment)
                .where(
                    DripEnrollment.campaign_id == campaign.id,
                    DripEnrollment.id.in_(chunk),
                    where,
                )
                .values(
                    status=status,
                    current_step_id=step.id,
                    completed_at=None,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            back += result.rowcount or 0
    return back


def _chunks(ids: list[int], size: int):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
