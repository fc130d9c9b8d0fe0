"""The demo history's two A/B tests, made through the A/B domain functions.

- "Tips: link first" on step 2 runs from the campaign's first day until the auto-winner rule
  would have declared its winner: the first hourly check at which the matured sends say so
  (found here from the simulated sends, with the rule's own analysis); the real check then
  declares it at that time, from the rows written, and the winner's text becomes the step's.
- "Welcome opener" on step 1 starts WELCOME_TEST_DAYS ago and is still running: planned for
  1,000 sends per variant, it is still collecting matured sends.

Contacts get their variant as the processor would give it (app.drip.ab.assignment's hash).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.drip import ab
from app.drip.ab import VariantData, analyse, assign_variant
from app.drip.audit import SYSTEM
from app.drip.demo.simulation import Chooser, Journey
from app.drip.demo.story import (
    RESPONSES,
    TIPS_TEST,
    TIPS_VARIANTS,
    WELCOME_TEST,
    WELCOME_VARIANTS,
    Response,
)
from app.models import DripAbTest, DripAbVariant, DripCampaign, DripCampaignStep

WELCOME_TEST_DAYS = 24
CHECK_EVERY = timedelta(hours=1)
TIPS_POSITION, WELCOME_POSITION = 2, 1


class DemoTests:
    """The two tests and their variants, and which message a send got."""

    def __init__(self, tips: DripAbTest, welcome: DripAbTest, variants: dict[int, list]):
        self.tips, self.welcome = tips, welcome
        self.variants = variants  # test id -> variants in id order
        self.tips_decided_at: datetime | None = None  # None: still running (first pass)
        self.winner_id: int | None = None
        self._assignments: dict[tuple[int, int], int] = {}

    def chooser(self) -> Chooser:
        def choose(position: int, sent_at: datetime, contact_id: int):
            if position == TIPS_POSITION and sent_at >= self.tips.started_at:
                if self.tips_decided_at is None or sent_at < self.tips_decided_at:
                    return self._assigned(self.tips, position, contact_id)
                return None, self._response(position, self._winner())
            if position == WELCOME_POSITION and sent_at >= self.welcome.started_at:
                return self._assigned(self.welcome, position, contact_id)
            return None, RESPONSES[(position, None)]

        return choose

    def _assigned(self, test: DripAbTest, position: int, contact_id: int):
        variants = self.variants[test.id]
        key = (test.id, contact_id)
        if key not in self._assignments:
            shares = [(v.id, v.traffic_allocation) for v in variants]
            self._assignments[key] = assign_variant(test.id, contact_id, shares)
        variant_id = self._assignments[key]
        variant = next(v for v in variants if v.id == variant_id)
        return variant_id, self._response(position, variant)

    @staticmethod
    def _response(position: int, variant: DripAbVariant) -> Response:
        return RESPONSES[(position, None if variant.is_control else variant.name)]

    def _winner(self) -> DripAbVariant:
        return next(v for v in self.variants[self.tips.id] if v.id == self.winner_id)


def create_tests(
    session: Session,
    campaign: DripCampaign,
    steps: dict[int, DripCampaignStep],
    first_day: datetime,
    now: datetime,
) -> DemoTests:
    """Both tests: the tips test started on the first day, the welcome test as a draft whose
    start time is set (it starts for real once its sends are written)."""
    tips = _create(session, campaign, steps[TIPS_POSITION], TIPS_TEST, TIPS_VARIANTS)
    ab.start(session, tips, first_day)
    tips.created_at = first_day - timedelta(hours=20)
    welcome = _create(session, campaign, steps[WELCOME_POSITION], WELCOME_TEST, WELCOME_VARIANTS)
    started = (now - timedelta(days=WELCOME_TEST_DAYS)).replace(minute=0, second=0, microsecond=0)
    welcome.created_at = started - timedelta(hours=3)
    welcome.started_at = started
    variants = {t.id: ab.variants_of(session, t) for t in (tips, welcome)}
    for test in (tips, welcome):
        for variant in variants[test.id]:
            variant.created_at = test.created_at
    return DemoTests(tips, welcome, variants)


def _create(session, campaign, step, settings: dict, challengers: Sequence[dict]) -> DripAbTest:
    # Through the audited changes, as Drip: the demo's tests show who made them.
    test = ab.create_test(session, SYSTEM, campaign, {**settings, "step_id": step.id})
    for fields in challengers:
        ab.add_variant(session, SYSTEM, test, fields)
    return test


def decision_time(tests: DemoTests, journeys: Sequence[Journey], until: datetime):
    """The first hourly check at which the auto-winner rule declares the tips test's winner,
    or None before `until`."""
    test = tests.tips
    window = timedelta(hours=test.outcome_window_hours)
    variants = tests.variants[test.id]
    index = {v.id: i for i, v in enumerate(variants)}
    sends = sorted(
        (s.outcome.sent_at, index[s.variant_id], _success_in(s.outcome, window))
        for j in journeys
        for s in j.sends
        if s.step.position == TIPS_POSITION and s.variant_id in index
    )
    control = next(i for i, v in enumerate(variants) if v.is_control)
    assigned, matured, wins = [0] * len(variants), [0] * len(variants), [0] * len(variants)
    next_assigned = next_matured = 0
    at = test.started_at + window
    while at < until:
        # Counts as the check at `at` sees them: every send so far is assigned, the sends
        # older than the window are matured.
        while next_assigned < len(sends) and sends[next_assigned][0] <= at:
            assigned[sends[next_assigned][1]] += 1
            next_assigned += 1
        while next_matured < len(sends) and sends[next_matured][0] <= at - window:
            _, i, won = sends[next_matured]
            matured[i] += 1
            wins[i] += won
            next_matured += 1
        data = [
            VariantData(v.id, v.name, assigned[i], matured[i], wins[i], float(v.traffic_allocation))
            for i, v in enumerate(variants)
        ]
        decision = analyse(
            data, test.confidence_threshold, test.min_sample_size, control_index=control
        ).decision
        if decision.winner_index is not None:
            tests.winner_id = variants[decision.winner_index].id
            return at
        at += CHECK_EVERY
    return None


def _success_in(outcome, window: timedelta) -> int:
    """1 when the tips test's metric (a click) came within the outcome window."""
    clicked = outcome.clicked_at
    return int(clicked is not None and clicked - outcome.sent_at <= window)


def finish(session: Session, tests: DemoTests, now: datetime) -> None:
    """Declare the tips test's winner as the auto-winner check did at its decision time (by
    hand, on the best variant, if the rule had not decided by now); start the welcome test."""
    at = tests.tips_decided_at
    if at is None or ab.check_for_winners(session, at) == 0:
        best = tests.winner_id or tests.variants[tests.tips.id][-1].id
        ab.declare_winner(session, tests.tips, best, at or now)
    welcome = tests.welcome
    started = welcome.started_at
    welcome.started_at = None
    ab.start(session, welcome, started)
