"""Moving enrollments after a send (or a settled one), in batches: next step and its time (in
order, or where the step's branch leads: app.drip.enrollment.paths), waiting on a branch,
completion, retry, park or fail. One bulk UPDATE per kind of change, not one per row."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String, select, update
from sqlalchemy.orm import Session

from app.drip.enrollment import (
    IN_ORDER,
    NEXT,
    WAIT_REASON,
    CampaignPlans,
    Facts,
    branch_facts,
    deadline_of,
    decide,
    sent_steps,
)
from app.drip.sql import Rows, id_in
from app.models import Contact, DripEnrollment, DripMessageLog

_TABLE = DripEnrollment.__table__
# The values a change carries, by name (app.drip.sql.Rows).
_TYPES = {
    "b_id": BigInteger(),
    "b_next": DateTime(timezone=True),
    "b_step": BigInteger(),
    "b_sent": DateTime(timezone=True),
    "b_why": String(),
    "b_reason": String(),
    "b_via_step": BigInteger(),
    "b_via": String(),
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
        simple = {
            "park": lambda: {"next_send_at": c.b_next},
            "retry": lambda: {"next_send_at": c.b_next, "retry_count": _TABLE.c.retry_count + 1},
            "wait": lambda: {"next_send_at": c.b_next, "wait_reason": c.b_why},
        }
        if kind in simple:
            return simple[kind]()
        if kind == "advance":
            return {
                "current_step_id": c.b_step,
                "next_send_at": c.b_next,
                "last_sent_at": c.b_sent,  # the anchor: the send, or the branch's decision
                "retry_count": 0,
                "wait_reason": None,  # the step went out: nothing holds it back any more
                "via_step_id": c.b_via_step,
                "via": c.b_via,
            }
        if kind == "branch":  # sent; now waiting for an event or the end of the wait
            return {
                "next_send_at": c.b_next,
                "last_sent_at": c.b_sent,
                "retry_count": 0,
                "wait_reason": WAIT_REASON,
            }
        values = {  # complete
            "status": "completed",
            "completed_at": self.now,
            "next_send_at": None,
            "last_sent_at": c.b_sent,
            "retry_count": 0,
            "wait_reason": None,
        }
        if kind == "end_branch":
            values.update(via_step_id=c.b_via_step, via=c.b_via)
        return values

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
        done = sent_steps(self.session, ids)
        plans = CampaignPlans(self.session, self.now)
        branching = [
            (enrollment_id, step_id)
            for enrollment_id, step_id, _ in self._moves
            if plans.branch(info[enrollment_id].campaign_id, step_id) is not None
        ]
        facts = branch_facts(self.session, branching)
        counts = {"completed": 0, "advanced": 0}
        for enrollment_id, step_id, sent_at in self._moves:
            row = info[enrollment_id]
            branch = plans.branch(row.campaign_id, step_id)
            via, anchor, to = IN_ORDER, sent_at, NEXT
            if branch is not None:
                outcome = decide(branch, facts.get(enrollment_id) or Facts(sent_at), self.now)
                if outcome is None:
                    self._changes["branch"].append(
                        {
                            "b_id": enrollment_id,
                            "b_next": deadline_of(branch, sent_at),
                            "b_sent": sent_at,
                        }
                    )
                    continue
                via, anchor, to = outcome.via, outcome.at, outcome.to
            step = plans.target(row.campaign_id, step_id, to, done[enrollment_id])
            if step is None:
                change = {"b_id": enrollment_id, "b_sent": sent_at}
                if via != IN_ORDER:  # ended by its branch: say how
                    change.update(b_via_step=step_id, b_via=via)
                self._changes["complete" if via == IN_ORDER else "end_branch"].append(change)
                counts["completed"] += 1
                continue
            due = plans.scheduler(row.campaign_id).due(
                anchor, step.delay_amount, step.delay_unit, row.timezone
            )
            self._changes["advance"].append(
                {
                    "b_id": enrollment_id,
                    "b_step": step.id,
                    "b_next": due,
                    "b_sent": anchor,
                    "b_via_step": step_id,
                    "b_via": via,
                }
            )
            counts["advanced"] += 1
        return counts
