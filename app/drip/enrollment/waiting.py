"""Why a live enrollment's next message is not out yet, in words a marketer can act on: its
step's delay, the campaign's sending hours, a sending rule that pushed it back (the messaging
limit, the frequency cap, Meta's per-user marketing cap), a template that cannot be sent, a
retry after an error, a pause by hand, or the branch of the step just sent (waiting for an
event on it, or ending the journey at the next pass). The enrollment page and the API's
waitingFor / waitReasonText read the same Waiting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.drip.enrollment.branching import END, IN_ORDER, WAIT_REASON, Branch
from app.drip.enrollment.paths import CampaignPlans
from app.drip.enrollment.reasons import branch_end_text, branch_wait_text, wait_reason_text
from app.drip.enrollment.schedule import SendWindow, add_delay, window_zone
from app.drip.zones import resolve_zone
from app.models import utcnow
from app.whatsapp import describe_code

WAITING_FOR = (
    "paused",
    "held_template",
    "messaging_limit",
    "frequency_cap",
    "marketing_cap",
    "retry",
    "due",
    "send_window",
    "step_delay",
    WAIT_REASON,
)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# next_send_at later than the step's own due time by more than this: the sending hours moved it.
_SLACK = timedelta(minutes=1)


@dataclass(frozen=True)
class Waiting:
    code: str  # one of WAITING_FOR
    text: str


@dataclass(frozen=True)
class WaitFacts:
    """What the explanation reads besides the enrollment row (one query gives them all)."""

    window: SendWindow
    org_zone: str | None
    contact_zone: str | None = None
    step_position: int | None = None
    delay_amount: int | None = None
    delay_unit: str | None = None
    held_template: str | None = None
    held_template_status: str | None = None
    retry_code: str | None = None
    step_name: str | None = None  # the current step's
    # The campaign's steps and branches (branch_places): where a branch leads, by name.
    places: CampaignPlans | None = None
    viewer_zone: str | None = None  # the zone a time in the text is shown in (else org_zone)


def branch_places(session: Session, campaign_id: int) -> CampaignPlans:
    """What explain_wait reads to say a branch's ways: one query for the campaign's steps."""
    plans = CampaignPlans(session, utcnow())
    plans.steps(campaign_id)
    return plans


def hours_text(window: SendWindow) -> str:
    """The campaign's sending hours: "09:00-20:00, Mon-Fri, Europe/London time"."""
    days = sorted(window.weekdays)
    if days == list(range(1, 8)):
        day_text = "every day"
    elif days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        day_text = f"{_DAYS[days[0] - 1]}–{_DAYS[days[-1] - 1]}"
    else:
        day_text = ", ".join(_DAYS[d - 1] for d in days) or "no day"
    clock = (
        "any hour" if window.any_time else f"{window.start:%H:%M}–{window.end:%H:%M}"  # type: ignore[union-attr]
    )
    whose = "each contact's own time" if window.timezone == "contact" else f"{window.timezone} time"
    return f"{clock}, {day_text}, {whose}"


def explain_wait(enrollment, facts: WaitFacts, now: datetime) -> Waiting | None:
    """Why this enrollment's next message waits (None when it is finished)."""
    if enrollment.status not in ("active", "paused"):
        return None
    held = _held(enrollment, facts)
    if held is not None:
        return held
    if enrollment.next_send_at is None:
        return None
    if enrollment.next_send_at <= now:
        return Waiting("due", "due now: it goes out with the next processing pass")
    if _moved_by_window(enrollment, facts, now):
        return Waiting(
            "send_window",
            "waiting for the campaign's sending hours "
            f"({hours_text(facts.window)}): its step was due earlier",
        )
    return Waiting("step_delay", _delay_text(enrollment, facts))


def _held(enrollment, facts: WaitFacts) -> Waiting | None:
    """Held back by hand, by a template, by a sending rule or for a retry."""
    if enrollment.status == "paused":
        return Waiting("paused", "paused by hand: nothing is sent until it is resumed")
    branch = _branch_wait(enrollment, facts)
    if branch is not None:
        return branch
    if enrollment.held_at is not None:
        name = f"“{facts.held_template}” " if facts.held_template else ""
        state = (facts.held_template_status or "not approved").lower()
        return Waiting(
            "held_template",
            f"held: its step's template {name}is {state} at WhatsApp, so it cannot be sent; "
            "it goes out when the template is approved again",
        )
    if enrollment.wait_reason:
        return Waiting(enrollment.wait_reason, wait_reason_text(enrollment.wait_reason))
    if enrollment.retry_count:
        error = describe_code(facts.retry_code) if facts.retry_code else "a temporary error"
        tries = enrollment.retry_count
        return Waiting(
            "retry",
            f"trying again after an error ({error}); "
            f"{tries} failed attempt{'s' if tries != 1 else ''} so far",
        )
    return None


def _moved_by_window(enrollment, facts: WaitFacts, now: datetime) -> bool:
    """Whether the sending hours put the message later than its step's own due time."""
    if facts.delay_amount is None or _all_hours(facts.window):
        return False
    anchor = enrollment.last_sent_at or enrollment.enrolled_at
    zone = window_zone(facts.window, facts.contact_zone, facts.org_zone)
    own_time = add_delay(anchor, facts.delay_amount, facts.delay_unit or "minutes", zone)
    return enrollment.next_send_at > max(own_time, now) + _SLACK


def _all_hours(window: SendWindow) -> bool:
    return window.any_time and len(set(window.weekdays)) == 7


def _delay_text(enrollment, facts: WaitFacts) -> str:
    step = f"step {facts.step_position}" if facts.step_position else "the next step"
    if facts.delay_amount is None:
        return f"waiting for {step}"
    unit = facts.delay_unit or "minutes"
    if facts.delay_amount == 1:
        unit = unit.rstrip("s")
    after = "the previous message" if enrollment.last_sent_at else "enrolling"
    return f"waiting for {step}'s delay: {facts.delay_amount} {unit} after {after}"


def _branch_wait(enrollment, facts: WaitFacts) -> Waiting | None:
    """At a branch: waiting for its event, or pointed at its end (completed by the next pass)."""
    name = facts.step_name or "its last message"
    ended = (
        enrollment.via_step_id is not None
        and enrollment.via_step_id == enrollment.current_step_id
        and enrollment.via not in (None, IN_ORDER)
    )
    if ended:
        return Waiting("due", branch_end_text(enrollment.via, name))
    if enrollment.wait_reason != WAIT_REASON or facts.places is None:
        return None
    places, campaign_id = facts.places, enrollment.campaign_id
    branch = places.branch(campaign_id, enrollment.current_step_id)
    if branch is None:
        return None
    target = places.target(campaign_id, enrollment.current_step_id, branch.on_timeout, set())
    zone = resolve_zone(facts.viewer_zone, facts.org_zone)
    deadline = enrollment.next_send_at.astimezone(zone) if enrollment.next_send_at else None
    return Waiting(
        WAIT_REASON,
        branch_wait_text(
            _wait_words(branch),
            branch.events,
            name,
            _day_time(deadline) if deadline else None,
            None if target is None or branch.on_timeout == END else target.name,
        ),
    )


def _wait_words(branch: Branch) -> str:
    unit = branch.wait_unit if branch.wait_amount != 1 else branch.wait_unit[:-1]
    return f"{branch.wait_amount:,} {unit}"


def _day_time(value: datetime) -> str:
    """'Wed 9 Jan 14:00' (the zone's clock)."""
    return f"{_DAYS[value.weekday()]} {value.day} {value:%b %H:%M}"
