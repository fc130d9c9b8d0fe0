"""Moving enrollments after a send (or a settled one), in batches: next step and its time,
completion, retry, park or fail. One bulk UPDATE per kind of change, not one per row."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String, select, update
from sqlalchemy.orm import Session

from app.drip.enrollment import Scheduler
from app.drip.sql import Rows, id_in
from app.models import Contact, DripCampaign, DripCampaignStep, DripEnrollment, DripMessageLog

_TABLE = DripEnrollment.__table__
# The values a change carries, by name (app.drip.sql.Rows).
_TYPES = {
    "b_id": BigInteger(),
    "b_next": DateTime(timezone=True),
    "b_step": BigInteger(),
    "b_sent": DateTime(timezone=True),
    "b_why": String(),
    "b_reason": String(),
}


class Advancer:
    """Collects enrollment changes of one batch and writes them in a few statements."""

    def __init__(self, session: Session, now: datetime):
        self.session = session
        self.now = now
        self._moves: list[tuple[int, int, datetime]] = []  # (enrollment, step sent, sent at)
        self._changes: dict[str, list[dict]] = defaultdict(list)

    def park(self, enrollment_id: int, until: datetime) -> None:
        self._changes["park"].append({"b_id": enrollment_id, "b_next": until})

    def retry(self, enrollment_id: int, at: datetime) -> None:
        self._changes["retry"].append({"b_id": enrollment_id, "b_next": at})

    def wait(self, enrollment_id: int, until: datetime, reason: str) -> None:
        """Stay at the step until `until`, for a sending rule's reason (the "why waiting")."""
        self._changes["wait"].append({"b_id": enrollment_id, "b_next": until, "b_why": reason})

    def fail(self, enrollment_id: int, reason: str, status: str = "failed") -> None:
        self._changes[f"end:{status}"].append({"b_id": enrollment_id, "b_reason": reason})

    def sent(self, enrollment_id: int, step_id: int, sent_at: datetime) -> None:
        """The step went out: move on to the next step not yet sent, or complete."""
        self._moves.append((enrollment_id, step_id, sent_at))

    def after_settled(self, row, log: DripMessageLog) -> None:
        """A step that was already settled (sent, or failed by the stale rule): move on."""
        self._moves.append((row.id, log.step_id, log.sent_at or self.now))

    def flush(self) -> dict[str, int]:
        counts = {"completed": 0, "advanced": 0}
        if self._moves:
            counts.update(self._resolve_moves())
        for kind, rows in self._changes.items():
            batch = Rows(self.session, rows, {name: _TYPES[name] for name in rows[0]})
            batch.execute(
                update(_TABLE)
                .where(_TABLE.c.id == batch.c.b_id, _TABLE.c.status == "active")
                .values(updated_at=self.now, **self._values(kind, batch.c))
            )
        self._changes.clear()
        self._moves.clear()
        return counts

    def _values(self, kind: str, c) -> dict:
        """The columns a kind of change sets; `c` holds each row's values."""
        if kind.startswith("end:"):
            return {
                "status": kind[4:],
                "stop_reason": c.b_reason,
                "stopped_at": self.now,
                "next_send_at": None,
            }
        if kind == "park":
            return {"next_send_at": c.b_next}
        if kind == "retry":
            return {"next_send_at": c.b_next, "retry_count": _TABLE.c.retry_count + 1}
        if kind == "wait":
            return {"next_send_at": c.b_next, "wait_reason": c.b_why}
        if kind == "advance":
            return {
                "current_step_id": c.b_step,
                "next_send_at": c.b_next,
                "last_sent_at": c.b_sent,
                "retry_count": 0,
                "wait_reason": None,  # the step went out: nothing holds it back any more
            }
        return {  # complete
            "status": "completed",
            "completed_at": self.now,
            "next_send_at": None,
            "last_sent_at": c.b_sent,
            "retry_count": 0,
            "wait_reason": None,
        }

    def _resolve_moves(self) -> dict[str, int]:
        ids = [enrollment_id for enrollment_id, _, _ in self._moves]
        info = {
            row.id: row
            for row in self.session.execute(
                select(
                    DripEnrollment.id,
                    DripEnrollment.campaign_id,
                    DripEnrollment.enrolled_at,
                    Contact.timezone,
                )
                .join(Contact, Contact.id == DripEnrollment.contact_id)
                .where(id_in(self.session, DripEnrollment.id, ids))
            )
        }
        done = defaultdict(set)
        for enrollment_id, step_id in self.session.execute(
            select(DripMessageLog.enrollment_id, DripMessageLog.step_id).where(
                id_in(self.session, DripMessageLog.enrollment_id, ids)
            )
        ):
            done[enrollment_id].add(step_id)
        plans = _CampaignPlans(self.session, self.now)
        counts = {"completed": 0, "advanced": 0}
        for enrollment_id, step_id, sent_at in self._moves:
            row = info[enrollment_id]
            step = plans.next_step(row.campaign_id, step_id, done[enrollment_id])
            if step is None:
                self._changes["complete"].append({"b_id": enrollment_id, "b_sent": sent_at})
                counts["completed"] += 1
                continue
            due = plans.scheduler(row.campaign_id).due(
                sent_at, step.delay_amount, step.delay_unit, row.timezone
            )
            self._changes["advance"].append(
                {"b_id": enrollment_id, "b_step": step.id, "b_next": due, "b_sent": sent_at}
            )
            counts["advanced"] += 1
        return counts


class _CampaignPlans:
    """Each campaign's live steps in order, and its scheduler, loaded once per batch."""

    def __init__(self, session: Session, now: datetime):
        self.session, self.now = session, now
        self._steps: dict[int, list[DripCampaignStep]] = {}
        self._positions: dict[int, int] = {}
        self._schedulers: dict[int, Scheduler] = {}

    def steps(self, campaign_id: int) -> list[DripCampaignStep]:
        if campaign_id not in self._steps:
            rows = self.session.scalars(
                select(DripCampaignStep)
                .where(DripCampaignStep.campaign_id == campaign_id)
                .order_by(DripCampaignStep.position, DripCampaignStep.id)
            ).all()
            self._positions.update({s.id: s.position for s in rows})
            self._steps[campaign_id] = [s for s in rows if s.deleted_at is None]
        return self._steps[campaign_id]

    def next_step(self, campaign_id: int, after_step_id: int, done: set[int]):
        """The first live step after the one sent, skipping steps this enrollment already got
        (a reorder never sends a step twice)."""
        steps = self.steps(campaign_id)
        position = self._positions.get(after_step_id, 0)
        for step in steps:
            if step.position > position and step.id not in done:
                return step
        return None

    def scheduler(self, campaign_id: int) -> Scheduler:
        if campaign_id not in self._schedulers:
            campaign = self.session.get(DripCampaign, campaign_id)
            self._schedulers[campaign_id] = Scheduler(self.session, campaign, self.now)
        return self._schedulers[campaign_id]
