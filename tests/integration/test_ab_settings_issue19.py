"""Issue 19's A/B fixes on both databases: outcome windows of at least an hour, the
conversion metric refused without a goal, the planned sample size settable and used, the
maximum duration ending a test "no difference found", and the running minimum of the
sequential p kept over the auto-winner's looks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.drip.ab import lifecycle as ab_lifecycle
from app.drip.ab import results as ab_results
from app.drip.ab import running as ab_running
from app.drip.ab import shapes as ab_shapes
from app.drip.errors import ValidationError
from app.models import DripVariantAssignment, utcnow
from tests.integration.enrollment_world import live_steps, make_campaign
from tests.integration.test_ab_testing import make_test, synthetic, variants

DAY, HOUR = timedelta(days=1), timedelta(hours=1)


def test_an_outcome_window_of_zero_hours_is_refused(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    with pytest.raises(ValidationError) as refused:
        make_test(session, campaign, start=False, outcome_window_hours=0)
    assert "outcome_window_hours" in refused.value.fields


def test_the_conversion_metric_needs_a_goal(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    with pytest.raises(ValidationError) as refused:
        make_test(session, campaign, start=False, winning_metric="conversion_rate")
    assert "goal" in str(refused.value).lower()
    campaign.goal_event, campaign.goal_within_days = "purchase", 7
    test = make_test(session, campaign, start=False, winning_metric="conversion_rate")
    assert test.winning_metric == "conversion_rate"
    session.commit()


def test_the_planned_sample_size_is_set_and_used(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    test = make_test(session, campaign, planned_sample_size=5000, max_duration_days=14)
    results = ab_results.test_results(session, test, utcnow())
    assert results.matured.planned_n == 5000 and results.shown.planned_n == 5000
    data = ab_shapes.test_dict(results)
    assert (data["plannedSampleSize"], data["maxDurationDays"]) == (5000, 14)
    # Fixed once started: the tuning must not be chosen with the data in view.
    with pytest.raises(ValidationError):
        ab_lifecycle.update_settings(session, test, {"planned_sample_size": 200})
    ab_lifecycle.update_settings(session, test, {"max_duration_days": 30})
    assert test.max_duration_days == 30


def test_a_test_past_its_maximum_duration_ends_with_no_difference(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    test = make_test(session, campaign, max_duration_days=7, min_sample_size=10)
    arm = variants(session, test)
    old = utcnow() - 20 * DAY
    synthetic(session, test, [(arm[0], 50, 10, old, HOUR), (arm[1], 50, 11, old, HOUR)])
    test.started_at = utcnow() - 8 * DAY
    message = live_steps(session, campaign)[0].message_content
    assert ab_running.check_for_winners(session, utcnow()) == 1
    assert (test.status, test.decided_by, test.winner_variant_id) == (
        "completed",
        "max_duration",
        None,
    )
    assert live_steps(session, campaign)[0].message_content == message
    data = ab_shapes.test_dict(ab_results.test_results(session, test, utcnow()))
    assert data["verdict"].startswith("No difference found")
    session.commit()


def test_the_running_minimum_of_the_sequential_p_is_kept(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    test = make_test(session, campaign, min_sample_size=10)
    arm = variants(session, test)
    old = utcnow() - 10 * DAY
    synthetic(session, test, [(arm[0], 200, 40, old, HOUR), (arm[1], 200, 58, old, HOUR)])
    ab_running.check_for_winners(session, utcnow())
    first = ab_shapes.test_dict(ab_results.test_results(session, test, utcnow()))
    low = first["statistics"]["sequential"]["comparisons"][0]["runningMinimumPValue"]
    # Later sends with no difference raise the current p; the minimum stays.
    synthetic(session, test, [(arm[0], 300, 60, old, HOUR), (arm[1], 300, 60, old, HOUR)])
    ab_running.check_for_winners(session, utcnow())
    later = ab_shapes.test_dict(ab_results.test_results(session, test, utcnow()))
    row = later["statistics"]["sequential"]["comparisons"][0]
    assert row["sequentialPValue"] > low
    assert row["runningMinimumPValue"] == pytest.approx(low)
    assert row["liftLow"] is not None and row["liftLow"] < row["liftHigh"]
    session.commit()


def test_the_conversion_metric_counts_goal_conversions_after_the_send(session, org_a):
    """A send succeeds on conversion_rate when its contact's enrollment converted at or after
    it; within the outcome window for the matured (decision) count. A conversion before the
    send, or a holdout's, is not a success of this send."""
    from app.models import DripConversion, DripEnrollment, DripEvent, DripHoldout

    campaign = make_campaign(session, org_a.org_id, goal_event="purchase", goal_within_days=7)
    test = make_test(session, campaign, winning_metric="conversion_rate", outcome_window_hours=24)
    control, variant = variants(session, test)
    sent = utcnow() - 3 * DAY
    synthetic(session, test, [(control, 4, 0, sent, HOUR), (variant, 4, 0, sent, HOUR)])
    rows = ab_results.phase_counts(session, [test.id], utcnow())[test.id]
    assert rows[variant.id].successes == 0
    contacts = [
        a.contact_id
        for a in session.scalars(
            select(DripVariantAssignment).where(DripVariantAssignment.variant_id == variant.id)
        )
    ]
    # Contact 0 converts 2 h after the send (in the window), contact 1 two days after (a
    # success, not matured in the window), contact 2 before the send, contact 3 as a holdout.
    for index, at, holdout in (
        (0, sent + 2 * HOUR, False),
        (1, sent + 2 * DAY, False),
        (2, sent - HOUR, False),
        (3, sent + HOUR, True),
    ):
        event = DripEvent(
            organization_id=org_a.org_id,
            contact_id=contacts[index],
            name="purchase",
            occurred_at=at,
            received_at=at,
        )
        session.add(event)
        session.flush()
        owner = {}
        if holdout:
            row = DripHoldout(
                organization_id=org_a.org_id,
                campaign_id=campaign.id,
                contact_id=contacts[index],
                assigned_at=sent - DAY,
            )
            session.add(row)
            session.flush()
            owner["holdout_id"] = row.id
        else:
            row = DripEnrollment(
                organization_id=org_a.org_id,
                campaign_id=campaign.id,
                contact_id=contacts[index],
                enrolled_at=sent - DAY,
                status="active",
            )
            session.add(row)
            session.flush()
            owner["enrollment_id"] = row.id
        session.add(
            DripConversion(
                organization_id=org_a.org_id,
                campaign_id=campaign.id,
                contact_id=contacts[index],
                event_id=event.id,
                occurred_at=at,
                **owner,
            )
        )
    session.flush()
    counts = ab_results.phase_counts(session, [test.id], utcnow())[test.id]
    assert counts[variant.id].successes == 2  # contacts 0 and 1
    assert counts[variant.id].matured == 4
    assert counts[variant.id].matured_successes == 1  # only contact 0 within 24 hours
    assert counts[control.id].successes == 0
    session.commit()
