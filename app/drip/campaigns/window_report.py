"""Before activation: per step, how many of the campaign's live (active or paused) enrollments
will be outside their contact's 24-hour customer service window when that step is sent, and
how many of them a free-text step without a fallback template would stop.

An estimate: a contact's window closes 24 hours after their last message to us
(contacts.last_inbound_at; never written: closed), and nothing new from them is assumed. The
current step goes out at the enrollment's next_send_at (now if that has passed); each later
step adds its delay (a day counting 24 hours, the campaign's send window ignored). A contact
stopped at a step reaches no later step, so it is counted there only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip.campaigns.lifecycle import live_steps
from app.drip.engagement import window_open
from app.drip.enrollment import LIVE_STATUSES
from app.drip.errors import Conflict
from app.drip.sql import as_utc
from app.models import Contact, DripCampaign, DripCampaignStep, DripEnrollment

STREAM_ROWS = 2_000


@dataclass
class StepWindow:
    step_id: int
    position: int
    message_type: str
    has_fallback: bool
    outside_window: int = 0
    would_stop: int = 0


@dataclass(frozen=True)
class WindowReport:
    steps: list[StepWindow]

    @property
    def would_stop(self) -> int:
        return sum(step.would_stop for step in self.steps)

    @property
    def outside_window(self) -> int:
        return sum(step.outside_window for step in self.steps)


def stops_without_fallback(step: DripCampaignStep) -> bool:
    """A free-text step with no fallback template cannot reach a contact outside the window."""
    return step.message_type == "text" and not step.fallback_template_name


def window_report(session: Session, campaign: DripCampaign, now: datetime) -> WindowReport:
    steps = live_steps(session, campaign.id)
    report = WindowReport(
        [
            StepWindow(
                step_id=s.id,
                position=s.position,
                message_type=s.message_type,
                has_fallback=bool(s.fallback_template_name),
            )
            for s in steps
        ]
    )
    index = {s.id: i for i, s in enumerate(steps)}
    # offsets[i]: how long after the first step step i goes out (cumulative delays).
    offsets, total = [], timedelta(0)
    for i, s in enumerate(steps):
        if i:
            total += timedelta(**{s.delay_unit: s.delay_amount})
        offsets.append(total)
    stopping = [stops_without_fallback(s) for s in steps]
    rows = session.execute(
        select(DripEnrollment.current_step_id, DripEnrollment.next_send_at, Contact.last_inbound_at)
        .join(Contact, Contact.id == DripEnrollment.contact_id)
        .where(
            DripEnrollment.campaign_id == campaign.id,
            DripEnrollment.status.in_(LIVE_STATUSES),
        )
        .execution_options(yield_per=STREAM_ROWS)
    )
    for step_id, next_send_at, last_inbound_at in rows:
        first = index.get(step_id)
        if first is None:
            continue
        start = max(as_utc(next_send_at) or now, now)
        for i in range(first, len(steps)):
            if window_open(last_inbound_at, start + offsets[i] - offsets[first]):
                continue
            row = report.steps[i]
            row.outside_window += 1
            if stopping[i]:
                row.would_stop += 1
                break
    return report


class WindowConfirmationNeeded(Conflict):
    """Activation would stop contacts outside their window: the marketer confirms first."""

    code = "confirmation_required"

    def __init__(self, report: WindowReport):
        super().__init__(
            f"{report.would_stop:,} enrolled contacts will be outside their 24-hour window at a "
            "free-text step without a fallback template and would be stopped. Add a fallback "
            "template to those steps, or confirm to activate anyway."
        )
        self.report = report
