"""A/B test results: per-variant counts of the current phase, aggregated from the assignments
in SQL, and the two analyses built on them.

- shown: every send of the phase (what the API and the results page show);
- matured: only sends whose outcome window has passed, counting a success only when it came
  within the window, so every counted send had the same time to succeed and its outcome never
  changes afterwards (what the auto-winner decides on, as the sequential test assumes).

Both use the same assigned counts of the phase for the sample ratio mismatch check. The
dictionaries of these results are app.drip.ab.shapes's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from app.drip.ab.eta import Eta, StepPace, estimate, step_paces
from app.drip.ab.sequential import Analysis, Decision, analyse
from app.drip.ab.stats import VariantData
from app.drip.sql import epoch_seconds
from app.drip.zones import organization_zone
from app.models import DripAbTest, DripAbVariant, DripConversion, DripVariantAssignment

# The assignment flag that is a success for each engagement metric.
METRIC_FLAGS = {
    "delivery_rate": "delivered_at",
    "read_rate": "read_at",
    "reply_rate": "replied_at",
    "click_rate": "clicked_at",
}
CONVERSION_METRIC = "conversion_rate"


def conversion_at(campaign_id) -> ColumnElement:
    """When the assignment's contact reached the campaign's goal as an enrolled (messaged)
    contact at or after the send: the goal conversion of its enrollment (drip_conversions,
    at most one per enrollment; holdouts are never assigned), or NULL. Correlated with
    DripVariantAssignment; `campaign_id` is the test's campaign (a column or a value)."""
    a, c = DripVariantAssignment, DripConversion
    return (
        select(func.min(c.occurred_at))
        .where(
            c.campaign_id == campaign_id,
            c.contact_id == a.contact_id,
            c.enrollment_id.is_not(None),
            c.occurred_at >= a.sent_at,
        )
        .scalar_subquery()
    )


def success_at(test: DripAbTest) -> ColumnElement:
    """The time of a send's success for this test's winning metric (NULL: none)."""
    if test.winning_metric == CONVERSION_METRIC:
        return conversion_at(test.campaign_id)
    return getattr(DripVariantAssignment, METRIC_FLAGS[test.winning_metric])


MATURED_WORDING = "sends per variant"


@dataclass(frozen=True, slots=True)
class VariantCounts:
    """One variant in the current phase: every send, and the matured ones."""

    assigned: int = 0
    sent: int = 0
    delivered: int = 0
    read: int = 0
    replied: int = 0
    clicked: int = 0
    successes: int = 0  # sends with the winning metric's event
    matured: int = 0  # sends past the outcome window
    matured_successes: int = 0  # ... whose event came within the window


@dataclass(frozen=True)
class TestResults:
    """Everything a results page needs about one test (the timeline aside)."""

    test: DripAbTest
    variants: tuple[DripAbVariant, ...]  # id order
    counts: dict[int, VariantCounts]
    shown: Analysis
    matured: Analysis
    matured_before: datetime
    eta: Eta | None = None  # None when not asked for (the auto-winner pass)

    @property
    def decision(self) -> Decision:
        """The auto-winner rule on the matured sends."""
        return self.matured.decision

    def variant(self, index: int) -> DripAbVariant:
        return self.variants[index]


def results_for(
    session: Session,
    tests: Sequence[DripAbTest],
    now: datetime,
    *,
    zone: tzinfo | None = None,
    eta: bool = True,
) -> dict[int, TestResults]:
    """Results of many tests in two queries (their variants, their counts), and with eta
    the sends a decision still needs (four more; dates on `zone`, else the organization's)."""
    if not tests:
        return {}
    paces: dict[int, StepPace] | None = None
    if eta:
        paces = step_paces(session, tests, now)
        zone = zone or organization_zone(session, tests[0].organization_id)
    ids = [t.id for t in tests]
    variants: dict[int, list[DripAbVariant]] = {i: [] for i in ids}
    for variant in session.scalars(
        select(DripAbVariant).where(DripAbVariant.test_id.in_(ids)).order_by(DripAbVariant.id)
    ):
        variants[variant.test_id].append(variant)
    counts = phase_counts(session, ids, now)
    results = {t.id: _results(t, variants[t.id], counts.get(t.id, {}), now) for t in tests}
    if paces is None:
        return results
    return {i: replace(r, eta=_eta(r, paces.get(i), now, zone)) for i, r in results.items()}


def test_results(
    session: Session, test: DripAbTest, now: datetime, zone: tzinfo | None = None
) -> TestResults:
    return results_for(session, [test], now, zone=zone)[test.id]


def _eta(results: TestResults, pace: StepPace | None, now: datetime, zone: tzinfo) -> Eta:
    empty = VariantCounts()
    sends = [
        (results.counts.get(v.id, empty).sent, float(v.traffic_allocation))
        for v in results.variants
    ]
    matured = results.matured
    return estimate(results.test, sends, matured.decision.code, matured.planned_n, pace, now, zone)


def phase_counts(
    session: Session, test_ids: Sequence[int], now: datetime
) -> dict[int, dict[int, VariantCounts]]:
    """{test id: {variant id: counts}} over the assignments of each test's current phase."""
    a, t = DripVariantAssignment, DripAbTest
    window = t.outcome_window_hours * 3600
    metric_at = case(
        *((t.winning_metric == metric, getattr(a, flag)) for metric, flag in METRIC_FLAGS.items()),
        (t.winning_metric == CONVERSION_METRIC, conversion_at(t.campaign_id)),
    )
    sent_epoch = epoch_seconds(a.sent_at)
    sent = a.sent_at.is_not(None)
    success = and_(sent, metric_at.is_not(None))
    matured = and_(sent, sent_epoch + window <= int(now.timestamp()))
    in_window = epoch_seconds(metric_at) - sent_epoch <= window
    query = (
        select(
            a.test_id,
            a.variant_id,
            func.count(),
            func.count(a.sent_at),
            func.count(a.delivered_at),
            func.count(a.read_at),
            func.count(a.replied_at),
            func.count(a.clicked_at),
            _how_many(success),
            _how_many(matured),
            _how_many(and_(matured, success, in_window)),
        )
        .join(t, and_(t.id == a.test_id, t.phase == a.phase))
        .where(a.test_id.in_(list(test_ids)))
        .group_by(a.test_id, a.variant_id)
    )
    result: dict[int, dict[int, VariantCounts]] = {}
    for row in session.execute(query):
        result.setdefault(row[0], {})[row[1]] = VariantCounts(*(int(v) for v in row[2:]))
    return result


def _how_many(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _results(
    test: DripAbTest, variants: list[DripAbVariant], counts: dict, now: datetime
) -> TestResults:
    control = next((i for i, v in enumerate(variants) if v.is_control), 0)
    empty = VariantCounts()

    def data(matured: bool) -> list[VariantData]:
        rows = []
        for v in variants:
            c = counts.get(v.id, empty)
            n, s = (c.matured, c.matured_successes) if matured else (c.sent, c.successes)
            rows.append(VariantData(v.id, v.name, c.assigned, n, s, float(v.traffic_allocation)))
        return rows

    def run(matured: bool) -> Analysis:
        return analyse(
            data(matured),
            test.confidence_threshold,
            test.min_sample_size,
            control_index=control,
            planned_n=test.planned_sample_size,
        )

    matured = run(True)
    if matured.decision.code == "waiting":
        fewest = min((counts.get(v.id, empty).matured for v in variants), default=0)
        reason = (
            f"waiting for {test.min_sample_size} {MATURED_WORDING} older than "
            f"{test.outcome_window_hours} hours (fewest so far: {fewest})"
        )
        matured = _with_decision(matured, Decision(None, "waiting", reason))
    before = now - timedelta(hours=test.outcome_window_hours)
    return TestResults(test, tuple(variants), counts, run(False), matured, before)


def _with_decision(analysis: Analysis, decision: Decision) -> Analysis:
    values = {f.name: getattr(analysis, f.name) for f in fields(analysis)}
    return Analysis(**{**values, "decision": decision})
