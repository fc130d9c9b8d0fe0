"""Where an enrollment goes after a step: in order, or by the step's branch.

- CampaignPlans: each campaign's steps, branches and scheduler, loaded once per batch; the
  step a move leads to (a step already sent to the enrollment is passed over, so no reorder
  sends a step twice; a deleted target leads to the next live step after it).
- branch_facts: what is recorded of a batch of enrollments at their branching steps.
- rejudge_branches: decide again, from what is recorded, the branches of enrollments whose
  path has not gone on. Called after anything that changes those records (a status, a reply,
  a click, a goal, an ending), it makes the path a function of the events, not of the order
  they arrived in.

The rule for a branch, and for its live edits: the enrollment waits at its step (wait_reason
"branch") until the first event or the end of the wait, then points at the step the branch
leads to (via_step_id, via). Until the processor acts on that (claims the step, or completes
the journey), an event that happened earlier but arrived later decides again; once it has,
the path is final. An edit of a branch applies to every decision made after it, as any edit
of a straight-line campaign applies to the steps not yet sent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String, and_, or_, select, update
from sqlalchemy.orm import Session

from app.drip.enrollment.branching import END, NEXT, WAIT_REASON, Branch, Facts, decide
from app.drip.enrollment.endings import ended_by_event
from app.drip.enrollment.enrolling import LIVE_STATUSES
from app.drip.enrollment.timing import Scheduler, expire_enrollments
from app.drip.sql import Rows, as_utc, id_in
from app.models import (
    Contact,
    DripCampaign,
    DripCampaignStep,
    DripConversion,
    DripEnrollment,
    DripMessageLog,
)


class CampaignPlans:
    """Each campaign's steps in order, their branches, and its scheduler, loaded once."""

    def __init__(self, session: Session, now: datetime):
        self.session, self.now = session, now
        self._steps: dict[int, list[DripCampaignStep]] = {}
        self._all: dict[int, DripCampaignStep] = {}
        self._branches: dict[int, Branch | None] = {}
        self._schedulers: dict[int, Scheduler] = {}

    def steps(self, campaign_id: int) -> list[DripCampaignStep]:
        """The campaign's live steps in order."""
        if campaign_id not in self._steps:
            rows = self.session.scalars(
                select(DripCampaignStep)
                .where(DripCampaignStep.campaign_id == campaign_id)
                .order_by(DripCampaignStep.position, DripCampaignStep.id)
            ).all()
            self._all.update({s.id: s for s in rows})
            self._steps[campaign_id] = [s for s in rows if s.deleted_at is None]
        return self._steps[campaign_id]

    def step(self, campaign_id: int, step_id: int) -> DripCampaignStep | None:
        self.steps(campaign_id)
        return self._all.get(step_id)

    def branch(self, campaign_id: int, step_id: int) -> Branch | None:
        if step_id not in self._branches:
            step = self.step(campaign_id, step_id)
            self._branches[step_id] = Branch.from_json(step.branch) if step is not None else None
        return self._branches[step_id]

    def next_step(self, campaign_id: int, after_step_id: int, done: set[int]):
        """The first live step after the given one (live or deleted), skipping steps this
        enrollment already got."""
        step = self.step(campaign_id, after_step_id)
        position = step.position if step is not None else 0
        for candidate in self.steps(campaign_id):
            if candidate.position > position and candidate.id not in done:
                return candidate
        return None

    def target(self, campaign_id: int, from_step_id: int, to, done: set[int]):
        """The step a branch outcome leads to, or None for the end of the journey."""
        if to == END:
            return None
        if to == NEXT:
            return self.next_step(campaign_id, from_step_id, done)
        step = self.step(campaign_id, to)
        if step is not None and step.deleted_at is None and step.id not in done:
            return step
        return self.next_step(campaign_id, to if step is not None else from_step_id, done)

    def scheduler(self, campaign_id: int) -> Scheduler:
        if campaign_id not in self._schedulers:
            campaign = self.session.get(DripCampaign, campaign_id)
            self._schedulers[campaign_id] = Scheduler(self.session, campaign, self.now)
        return self._schedulers[campaign_id]


def sent_steps(session: Session, enrollment_ids: list[int]) -> dict[int, set[int]]:
    """The steps each enrollment has a message log for."""
    done: dict[int, set[int]] = defaultdict(set)
    if enrollment_ids:
        for enrollment_id, step_id in session.execute(
            select(DripMessageLog.enrollment_id, DripMessageLog.step_id).where(
                id_in(session, DripMessageLog.enrollment_id, enrollment_ids)
            )
        ):
            done[enrollment_id].add(step_id)
    return done


def branch_facts(session: Session, pairs: list[tuple[int, int]]) -> dict[int, Facts]:
    """Facts of each (enrollment, step) message, by enrollment (ended_at left empty)."""
    if not pairs:
        return {}
    wanted = set(pairs)
    rows = session.execute(
        select(
            DripMessageLog.enrollment_id,
            DripMessageLog.step_id,
            DripMessageLog.sent_at,
            DripMessageLog.read_at,
            DripMessageLog.replied_at,
            DripMessageLog.clicked_at,
            DripConversion.occurred_at,
        )
        .outerjoin(DripConversion, DripConversion.enrollment_id == DripMessageLog.enrollment_id)
        .where(id_in(session, DripMessageLog.enrollment_id, sorted({e for e, _ in pairs})))
    )
    facts = {}
    for row in rows:
        if (row.enrollment_id, row.step_id) in wanted and row.sent_at is not None:
            facts[row.enrollment_id] = Facts(
                as_utc(row.sent_at),
                _utc(row.read_at),
                _utc(row.replied_at),
                _utc(row.clicked_at),
                _utc(row.occurred_at),
            )
    return facts


def rejudge_branches(session: Session, *where, now: datetime) -> int:
    """Decide again the branch of each enrollment matching `where` whose last claimed step
    branches and whose path has not gone on; write the ones that changed. How many changed.

    Only the event rules are judged here (a wait running out is the processor's to act on);
    an enrollment that an event of its contact ended keeps its status and ending, and points
    where the branch had led it by then."""
    e = DripEnrollment
    session.flush()
    rows = session.execute(
        select(
            e.id,
            e.campaign_id,
            e.status,
            e.stopped_at,
            e.current_step_id,
            e.last_step_id,
            e.via_step_id,
            e.via,
            e.last_sent_at,
            e.wait_reason,
            Contact.timezone,
            DripMessageLog.sent_at,
            DripMessageLog.via_step_id.label("log_via_step_id"),
            DripMessageLog.via.label("log_via"),
        )
        .join(DripCampaignStep, DripCampaignStep.id == e.last_step_id)
        .join(
            DripMessageLog,
            and_(DripMessageLog.enrollment_id == e.id, DripMessageLog.step_id == e.last_step_id),
        )
        .join(Contact, Contact.id == e.contact_id)
        .where(
            *where,
            DripCampaignStep.branch.is_not(None),
            DripMessageLog.sent_at.is_not(None),
            or_(e.current_step_id == e.last_step_id, e.via_step_id == e.last_step_id),
            or_(e.status.in_(LIVE_STATUSES), ended_by_event()),
        )
    ).all()
    if not rows:
        return 0
    plans = CampaignPlans(session, now)
    facts = branch_facts(session, [(row.id, row.last_step_id) for row in rows])
    done = sent_steps(session, [row.id for row in rows])
    changes: dict[tuple, list[dict]] = defaultdict(list)  # by the columns they set
    for row in rows:
        branch = plans.branch(row.campaign_id, row.last_step_id)
        if branch is None or row.id not in facts:
            continue
        ended = as_utc(row.stopped_at) if row.status not in LIVE_STATUSES else None
        outcome = decide(branch, _with_end(facts[row.id], ended))
        values = _values(plans, row, branch, outcome, done[row.id], facts[row.id])
        if values is not None:
            row_values = {f"b_{name}": value for name, value in values.items()}
            changes[tuple(sorted(values))].append({"b_id": row.id, **row_values})
    table = DripEnrollment.__table__
    for names, batch_rows in changes.items():
        # One UPDATE per kind of change (a webhook batch of reads moves many at once).
        types = {"b_id": _TYPES["id"], **{f"b_{n}": _TYPES[n] for n in names}}
        batch = Rows(session, batch_rows, types)
        batch.execute(
            update(table)
            .where(table.c.id == batch.c.b_id)
            .values(updated_at=now, **{n: getattr(batch.c, f"b_{n}") for n in names})
        )
    changed = [row["b_id"] for rows_ in changes.values() for row in rows_]
    expire_enrollments(session, changed)
    return len(changed)


def branching_step_ids(session: Session, organization_id: int) -> set[int]:
    """The organization's steps that have a branch (deleted ones too: an enrollment may still
    point there). Empty for most organizations, whose webhooks then judge nothing."""
    return set(
        session.scalars(
            select(DripCampaignStep.id).where(
                DripCampaignStep.organization_id == organization_id,
                DripCampaignStep.branch.is_not(None),
            )
        )
    )


# The columns rejudge_branches writes, typed for app.drip.sql.Rows.
_TYPES = {
    "id": BigInteger(),
    "current_step_id": BigInteger(),
    "via_step_id": BigInteger(),
    "via": String(),
    "last_sent_at": DateTime(timezone=True),
    "next_send_at": DateTime(timezone=True),
    "wait_reason": String(),
}


def _values(plans: CampaignPlans, row, branch: Branch, outcome, done: set[int], facts: Facts):
    """The columns to write for this outcome, or None when the enrollment is already there.

    Every column the path decides is written and compared (the step, the way, the anchor,
    the wait), not only the way: an earlier event of the same kind arriving later moves the
    anchor, and an ending arriving after a branch event finds the enrollment as it was then."""
    step_id = row.last_step_id
    active = row.status == "active"
    if outcome is None:
        return _waiting(row, branch, facts)
    target = plans.target(row.campaign_id, step_id, outcome.to, done)
    values = {"via_step_id": step_id, "via": outcome.via, "wait_reason": None}
    if target is None:
        # The journey ends: the processor completes it at its next pass (due now), its anchor
        # the send, as the completion writes it.
        values.update(current_step_id=step_id, last_sent_at=facts.sent_at)
        if _same(row, values):
            return None
        if active:
            values["next_send_at"] = plans.now
        return values
    values.update(current_step_id=target.id, last_sent_at=outcome.at)
    if _same(row, values):
        return None
    if active:
        values["next_send_at"] = plans.scheduler(row.campaign_id).due(
            outcome.at, target.delay_amount, target.delay_unit, row.timezone
        )
    return values


def _waiting(row, branch: Branch, facts: Facts):
    """No event decides it: waiting at the step, or on the timeout's way if the wait ran out
    and the processor took it."""
    step_id = row.last_step_id
    if row.via_step_id == step_id and row.via == "timeout":
        return None
    if row.current_step_id == step_id and row.via_step_id != step_id:
        return None  # waiting already (or parked on an ambiguous send: left as it is)
    values = {
        "current_step_id": step_id,
        "via_step_id": row.log_via_step_id,
        "via": row.log_via,
        "last_sent_at": facts.sent_at,
        # An ended one too: it was waiting on the branch when its ending came.
        "wait_reason": WAIT_REASON,
    }
    if row.status == "active":
        values["next_send_at"] = facts.sent_at + branch.wait
    return values


def _same(row, values: dict) -> bool:
    """Whether the enrollment already has these values."""
    for name, value in values.items():
        current = getattr(row, name)
        if name == "last_sent_at":
            current = _utc(current)
        if current != value:
            return False
    return True


def _with_end(facts: Facts, ended_at: datetime | None) -> Facts:
    return facts if ended_at is None else replace(facts, ended_at=ended_at)


def _utc(value):
    return as_utc(value) if value is not None else None
