"""A step's branch: what it waits for once sent, and where each outcome leads.

A branch waits up to `wait` after its step went out for an event on that message (read,
replied, clicked) or for the campaign's goal. Its rules are read in order: the rule whose
event happened first wins (a tie goes to the rule listed first), and leads to a later step
or ends the journey. When the wait runs out with no event, the enrollment takes the timeout's
way (by default the next step). "read" is also met by a reply: a contact who replied has read
the message, and read receipts may be off on their phone.

The decision is a pure function of what is recorded (decide), so that webhooks arriving in
any order reach the same end state (app.drip.enrollment.paths applies it).

Stored in drip_campaign_steps.branch as the API shows it:
    {"waitAmount": 2, "waitUnit": "days",
     "conditions": [{"event": "read", "goTo": 12}, {"event": "replied", "goTo": "end"}],
     "onTimeout": "next"}
`goTo` is the id of a later step of the same campaign or "end"; `onTimeout` the same or
"next" (the next step in order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.drip.errors import ValidationError

EVENTS = ("read", "replied", "clicked", "goal")
END = "end"
NEXT = "next"
TIMEOUT = "timeout"  # the `via` of a path taken because the wait ran out
IN_ORDER = "next"  # the `via` of a step reached in order, without a branch
WAIT_REASON = "branch"  # drip_enrollments.wait_reason of an enrollment waiting on a branch
WAIT_UNITS = ("minutes", "hours", "days")
MAX_WAIT = {"minutes": 43_200, "hours": 720, "days": 30}  # 30 days
MAX_CONDITIONS = len(EVENTS)  # each event at most once
EVENT_TEXT = {
    "read": "read it",
    "replied": "replied",
    "clicked": "clicked a link",
    "goal": "reached the goal",
}


@dataclass(frozen=True)
class Rule:
    event: str
    to: int | str  # a step id or END


@dataclass(frozen=True)
class Branch:
    wait_amount: int
    wait_unit: str
    rules: tuple[Rule, ...]
    on_timeout: int | str = NEXT  # a step id, END or NEXT

    @property
    def wait(self) -> timedelta:
        return timedelta(**{self.wait_unit: self.wait_amount})

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(rule.event for rule in self.rules)

    def targets(self) -> list[int | str]:
        """Where the branch may lead: each rule's target, then the timeout's."""
        return [rule.to for rule in self.rules] + [self.on_timeout]

    def as_json(self) -> dict:
        return {
            "waitAmount": self.wait_amount,
            "waitUnit": self.wait_unit,
            "conditions": [{"event": r.event, "goTo": r.to} for r in self.rules],
            "onTimeout": self.on_timeout,
        }

    @classmethod
    def from_json(cls, data: dict | None) -> Branch | None:
        """The stored branch (trusted: written by parse_branch), or None."""
        if not data:
            return None
        return cls(
            int(data["waitAmount"]),
            data["waitUnit"],
            tuple(Rule(r["event"], r["goTo"]) for r in data.get("conditions", ())),
            data.get("onTimeout", NEXT),
        )


@dataclass(frozen=True)
class Facts:
    """What is recorded of one enrollment at its branching step."""

    sent_at: datetime
    read_at: datetime | None = None
    replied_at: datetime | None = None
    clicked_at: datetime | None = None
    goal_at: datetime | None = None
    # When an event of the contact ended the enrollment (a reply that stops it, an opt-out, a
    # failure): a branch event after it did not happen to a live enrollment.
    ended_at: datetime | None = None

    def time_of(self, event: str) -> datetime | None:
        if event == "read":
            times = [t for t in (self.read_at, self.replied_at) if t is not None]
            return min(times) if times else None
        return {"replied": self.replied_at, "clicked": self.clicked_at, "goal": self.goal_at}[event]


@dataclass(frozen=True)
class Outcome:
    via: str  # the rule's event, or TIMEOUT
    at: datetime  # when it happened (the event's time, or the end of the wait)
    to: int | str  # a step id, END or NEXT


def decide(branch: Branch, facts: Facts, now: datetime | None = None) -> Outcome | None:
    """The way the branch goes: the first event in the wait (ties to the rule listed first);
    with `now` at or after the end of the wait and no event, the timeout; else None (still
    waiting). An event stamped before the send counts as at the send; one after the wait or
    after the enrollment ended does not count."""
    deadline = facts.sent_at + branch.wait
    best = None
    for order, rule in enumerate(branch.rules):
        at = facts.time_of(rule.event)
        if at is None or at > deadline:
            continue
        # Meta's timestamps are whole seconds from another clock: a read in the second of the
        # send can read as before it. And a goal reached before the send is met at once.
        at = max(at, facts.sent_at)
        if facts.ended_at is not None and at > facts.ended_at:
            continue
        if best is None or (at, order) < (best[0], best[1]):
            best = (at, order, rule)
    if best is not None:
        return Outcome(best[2].event, best[0], best[2].to)
    if now is not None and now >= deadline:
        return Outcome(TIMEOUT, deadline, branch.on_timeout)
    return None


def deadline_of(branch: Branch, sent_at: datetime) -> datetime:
    return sent_at + branch.wait


def parse_branch(value, step_id: int | None, later_step_ids: Sequence[int]) -> Branch | None:
    """A branch from API or form input (the stored shape above), or ValidationError naming
    each bad field ("branch.conditions.0.goTo"). None or {} removes the branch.
    `later_step_ids` are the live steps after this one: the only places a branch may lead
    (never backwards, never to the step itself)."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise ValidationError("The branch is not valid.", {"branch": "Give an object."})
    errors: dict[str, str] = {}
    amount, unit = _wait(value.get("waitAmount"), value.get("waitUnit", "days"), errors)
    later = set(later_step_ids)
    rules = _rules(value.get("conditions"), step_id, later, errors)
    on_timeout = value.get("onTimeout", NEXT)
    if on_timeout != NEXT:
        on_timeout = _target(on_timeout, step_id, later, "branch.onTimeout", errors)
    unknown = set(value) - {"waitAmount", "waitUnit", "conditions", "onTimeout"}
    if unknown:
        errors["branch"] = "Unknown field: " + ", ".join(sorted(map(str, unknown))) + "."
    if errors:
        raise ValidationError("The branch is not valid.", errors)
    return Branch(amount, unit, rules, on_timeout)


def _wait(amount, unit, errors: dict) -> tuple:
    if unit not in WAIT_UNITS:
        errors["branch.waitUnit"] = "Use minutes, hours or days."
    elif isinstance(amount, bool) or not isinstance(amount, int):
        errors["branch.waitAmount"] = "Give how long to wait, as a whole number."
    elif not 1 <= amount <= MAX_WAIT[unit]:
        errors["branch.waitAmount"] = f"Wait from 1 to {MAX_WAIT[unit]} {unit} (30 days at most)."
    return amount, unit


def _rules(conditions, step_id, later: set[int], errors: dict) -> tuple[Rule, ...]:
    if not isinstance(conditions, list) or not 1 <= len(conditions) <= MAX_CONDITIONS:
        errors["branch.conditions"] = (
            f"Give 1 to {MAX_CONDITIONS} conditions, each an event and where it leads."
        )
        return ()
    rules: list[Rule] = []
    seen: set[str] = set()  # events named so far, valid targets or not
    for index, condition in enumerate(conditions):
        field = f"branch.conditions.{index}"
        if not isinstance(condition, dict):
            errors[field] = "Give an event and where it leads."
            continue
        event = condition.get("event")
        if event not in EVENTS:
            errors[f"{field}.event"] = "Choose read, replied, clicked or goal."
        elif event in seen:
            errors[f"{field}.event"] = f"“{event}” is already a condition of this branch."
        seen.add(event)
        target = _target(condition.get("goTo"), step_id, later, f"{field}.goTo", errors)
        if event in EVENTS and target is not None:
            rules.append(Rule(event, target))
    return tuple(rules)


def _target(value, step_id, later: set[int], field: str, errors: dict) -> int | str | None:
    if value == END:
        return END
    if isinstance(value, str) and value.isdigit():
        value = int(value)  # a form's select sends the id as text
    if isinstance(value, bool) or not isinstance(value, int):
        errors[field] = "Choose a later step, or the end of the journey."
        return None
    if value == step_id:
        errors[field] = "A step cannot branch to itself."
        return None
    if value not in later:
        errors[field] = "A branch leads only to a later step of this campaign (or the end)."
        return None
    return value
