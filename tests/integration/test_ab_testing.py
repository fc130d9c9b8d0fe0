"""A/B tests in the database (SQLite and PostgreSQL): sticky assignment read a batch at a time,
phases, pause and completion, the triggers that keep assignments in step with the message
logs, the processor sending the variants' texts, and the auto-winner."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, insert, select, update

from app.drip.ab import lifecycle as ab_lifecycle
from app.drip.ab import results as ab_results
from app.drip.ab import running as ab_testing
from app.drip.ab import shapes as ab_report
from app.drip.ab import variants as ab_variants
from app.drip.ab.assignment import assign_variant, variants_for_batch
from app.drip.engagement.apply import apply_statuses
from app.drip.enrollment import actions as enrollment
from app.drip.errors import Conflict, NotFound
from app.extensions import db
from app.models import (
    DripAbTest,
    DripAbVariant,
    DripCampaignStep,
    DripMessageLog,
    DripVariantAssignment,
    Organization,
    utcnow,
)
from app.tasks.jobs import check_ab_tests
from app.tasks.processing import run_processing_pass
from app.whatsapp.events import StatusUpdate
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.enrollment_world import NOW, live_steps, make_campaign, make_contacts
from tests.integration.test_engagement import enrollment_row, log_row
from tests.support.accounts import send_through_fake
from tests.support.window import wrote_to_us

VARIANT_TEXT = "Hey {{first_name}}! 👋"
UTC_ZONE = ZoneInfo("UTC")
MATURE = timedelta(hours=73)


def make_test(session, campaign, step=None, *, shares=(50, 50), start=True, **settings):
    """A test of `step` (the first by default): the control and one variant per further
    share, started unless start=False."""
    step = step or live_steps(session, campaign)[0]
    test = ab_lifecycle.create_test(
        session,
        campaign,
        {"name": "Welcome test", "step_id": step.id, "control_allocation": shares[0], **settings},
    )
    for number, share in enumerate(shares[1:], start=1):
        fields = {"name": f"Variant {number}", "message_content": f"{VARIANT_TEXT} #{number}"}
        if share is not None:
            fields["traffic_allocation"] = share
        ab_variants.add_variant(session, test, fields)
    if start:
        ab_lifecycle.start(session, test, NOW)
    session.flush()
    return test


def variants(session, test) -> list[DripAbVariant]:
    return ab_variants.variants_of(session, test)


def assignments(session, test) -> dict[int, DripVariantAssignment]:
    session.expire_all()
    rows = session.scalars(
        select(DripVariantAssignment).where(DripVariantAssignment.test_id == test.id)
    )
    return {row.contact_id: row for row in rows}


@pytest.fixture
def world(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    contacts = make_contacts(session, org_a.org_id, 40)
    session.commit()
    return {"org": org_a.org_id, "campaign": campaign, "contacts": contacts}


def pairs_for(step, contacts):
    return [(step.id, c.id) for c in contacts]


# --- assignment ------------------------------------------------------------------------------


def test_assignment_is_deterministic_sticky_and_stored_once(session, world):
    campaign, contacts = world["campaign"], world["contacts"]
    step = live_steps(session, campaign)[0]
    test = make_test(session, campaign)
    shares = [(v.id, v.traffic_allocation) for v in variants(session, test)]
    first = variants_for_batch(session, pairs_for(step, contacts))
    session.commit()
    assert set(first) == set(pairs_for(step, contacts))
    for (_, contact_id), (variant_id, _) in first.items():
        assert variant_id == assign_variant(test.id, contact_id, shares)
    texts = {v.id: v.message_content for v in variants(session, test)}
    assert all(text == texts[variant_id] for variant_id, text in first.values())
    assert len({variant_id for variant_id, _ in first.values()}) == 2  # 40 contacts, 50/50

    again = variants_for_batch(session, pairs_for(step, contacts))
    assert again == first
    stored = assignments(session, test)
    assert len(stored) == 40
    assert all(row.phase == 1 for row in stored.values())
    # Other steps have no test: nothing for them.
    second = live_steps(session, campaign)[1]
    assert variants_for_batch(session, pairs_for(second, contacts)) == {}


def test_a_batch_costs_the_same_few_queries_however_large(session, world, clean_app):
    campaign, contacts = world["campaign"], world["contacts"]
    step = live_steps(session, campaign)[0]
    make_test(session, campaign)
    session.commit()

    def statements(batch) -> int:
        pairs = pairs_for(step, batch)  # loaded before counting
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        engine = db.engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            variants_for_batch(session, pairs)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    assert statements(contacts[:2]) == statements(contacts[2:40]) <= 4


def test_allocation_edit_on_a_running_test_starts_a_phase_and_keeps_assignments(session, world):
    campaign, contacts = world["campaign"], world["contacts"]
    step = live_steps(session, campaign)[0]
    test = make_test(session, campaign)
    control, variant = variants(session, test)
    before = variants_for_batch(session, pairs_for(step, contacts[:20]))
    session.commit()

    later = NOW + timedelta(days=1)
    ab_variants.reallocate(session, test, {control.id: 10, variant.id: 90}, later)
    session.commit()
    assert (test.phase, test.phase_started_at) == (2, later)

    after = variants_for_batch(session, pairs_for(step, contacts))
    session.commit()
    for key, value in before.items():
        assert after[key] == value  # assigned before the edit: unchanged
    stored = assignments(session, test)
    assert {stored[c.id].phase for c in contacts[:20]} == {1}
    assert {stored[c.id].phase for c in contacts[20:]} == {2}
    shares = [(control.id, Decimal(10)), (variant.id, Decimal(90))]
    for contact in contacts[20:]:
        assert stored[contact.id].variant_id == assign_variant(test.id, contact.id, shares)
    # Statistics count the current phase only.
    counts = ab_results.phase_counts(session, [test.id], later)[test.id]
    assert sum(c.assigned for c in counts.values()) == 20


def test_reallocation_must_keep_a_started_test_at_100(session, world):
    test = make_test(session, world["campaign"])
    control, variant = variants(session, test)
    with pytest.raises(ab_variants.ValidationError, match="add up to 110%"):
        ab_variants.reallocate(session, test, {control.id: 60}, NOW)
    session.rollback()
    with pytest.raises(Conflict):
        ab_variants.update_variant(session, test, variant, {"traffic_allocation": 40})


def test_pause_stops_assigning_but_assigned_contacts_keep_their_variant(session, world):
    campaign, contacts = world["campaign"], world["contacts"]
    step = live_steps(session, campaign)[0]
    test = make_test(session, campaign)
    assigned = variants_for_batch(session, pairs_for(step, contacts[:10]))
    ab_lifecycle.pause(session, test)
    session.commit()

    during = variants_for_batch(session, pairs_for(step, contacts))
    session.commit()
    assert during == assigned  # the rest get the step's own message
    assert len(assignments(session, test)) == 10

    ab_lifecycle.start(session, test, NOW + timedelta(hours=1))  # resume
    resumed = variants_for_batch(session, pairs_for(step, contacts))
    assert len(resumed) == 40 and all(resumed[k] == v for k, v in assigned.items())


def test_a_completed_test_assigns_nobody_and_its_winner_is_the_steps_message(session, world):
    campaign, contacts = world["campaign"], world["contacts"]
    step = live_steps(session, campaign)[0]
    test = make_test(session, campaign)
    variants_for_batch(session, pairs_for(step, contacts[:10]))
    winner = variants(session, test)[1]
    ab_lifecycle.declare_winner(session, test, winner.id, NOW + timedelta(days=2))
    session.commit()
    session.expire_all()
    test = session.get(DripAbTest, test.id)
    assert (test.status, test.winner_variant_id, test.decided_by) == (
        "completed",
        winner.id,
        "manual",
    )
    assert test.ended_at == NOW + timedelta(days=2)
    assert test.decision_snapshot["decision"]["code"] == "manual"
    assert len(test.decision_snapshot["variants"]) == 2
    assert session.get(DripCampaignStep, step.id).message_content == winner.message_content
    assert variants_for_batch(session, pairs_for(step, contacts)) == {}


def test_one_running_or_paused_test_per_step(session, world):
    campaign = world["campaign"]
    first = make_test(session, campaign)
    second = make_test(session, campaign, start=False)
    with pytest.raises(Conflict, match="already has a running test"):
        ab_lifecycle.start(session, second, NOW)
    ab_lifecycle.pause(session, first)
    with pytest.raises(Conflict, match="already has a paused test"):
        ab_lifecycle.start(session, second, NOW)
    ab_lifecycle.declare_winner(session, first, variants(session, first)[0].id, NOW)
    ab_lifecycle.start(session, second, NOW)
    assert second.status == "running"


# --- triggers: the logs' engagement reaches the assignments -----------------------------------


def test_log_changes_move_the_assignment_flags_in_the_same_transaction(session, world):
    campaign, contacts = world["campaign"], world["contacts"]
    first_step, second_step = live_steps(session, campaign)
    test = make_test(session, campaign)
    contact = contacts[0]
    ((variant_id, _),) = variants_for_batch(session, [(first_step.id, contact.id)]).values()
    enrollment_ = enrollment_row(session, campaign, contact, step=second_step)
    log = log_row(session, enrollment_, first_step, status="pending", sent_at=None)
    session.commit()
    untouched = assignments(session, test)[contact.id]
    assert (untouched.message_log_id, untouched.sent_at) == (None, None)

    table = DripMessageLog.__table__
    session.execute(update(table).where(table.c.id == log.id).values(variant_id=variant_id))
    row = assignments(session, test)[contact.id]
    assert (row.message_log_id, row.sent_at) == (log.id, None)

    session.execute(update(table).where(table.c.id == log.id).values(status="sent", sent_at=NOW))
    session.execute(
        update(table)
        .where(table.c.id == log.id)
        .values(delivered_at=NOW + timedelta(minutes=1), read_at=NOW + timedelta(minutes=5))
    )
    session.execute(
        update(table)
        .where(table.c.id == log.id)
        .values(replied_at=NOW + timedelta(hours=1), clicked_at=NOW + timedelta(hours=2))
    )
    row = assignments(session, test)[contact.id]
    assert (row.sent_at, row.delivered_at, row.read_at) == (
        NOW,
        NOW + timedelta(minutes=1),
        NOW + timedelta(minutes=5),
    )
    assert (row.replied_at, row.clicked_at) == (NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    session.rollback()  # the flags were part of the transaction
    assert assignments(session, test)[contact.id].sent_at is None


def test_a_second_log_of_the_contact_does_not_overwrite_the_first(session, world):
    campaign, contacts = world["campaign"], world["contacts"]
    first_step, second_step = live_steps(session, campaign)
    test = make_test(session, campaign)
    contact = contacts[0]
    ((variant_id, _),) = variants_for_batch(session, [(first_step.id, contact.id)]).values()
    enrollment_ = enrollment_row(session, campaign, contact, step=second_step)
    first = log_row(session, enrollment_, first_step, variant_id=variant_id, sent_at=NOW)
    again = enrollment_row(session, campaign, contact, status="completed")
    log_row(session, again, first_step, variant_id=variant_id, sent_at=NOW + timedelta(days=9))
    row = assignments(session, test)[contact.id]
    assert (row.message_log_id, row.sent_at) == (first.id, NOW)


# --- the processor and the webhook ------------------------------------------------------------


@pytest.fixture
def fake():
    with FakeCloudApi() as server:
        yield server


def test_a_processing_pass_sends_the_variants_and_statuses_reach_the_assignments(
    clean_app, org_a, fake
):
    clean_app.config["SEND_CONCURRENCY"] = 4
    with clean_app.app_context():
        session = db.session
        send_through_fake(clean_app, session, session.get(Organization, org_a.org_id), fake)
        campaign = make_campaign(session, org_a.org_id)
        contacts = make_contacts(session, org_a.org_id, 12)
        wrote_to_us(session, NOW)  # a text step: the contacts' window is open
        test = make_test(session, campaign)
        enrollment.enroll(session, campaign, contact_ids=[c.id for c in contacts], now=NOW)
        session.commit()
        texts = {v.id: v.message_content for v in variants(session, test)}
        test_id = test.id
        names = {c.id: (c.first_name, c.phone.lstrip("+")) for c in contacts}

    with clean_app.app_context():
        assert run_processing_pass(NOW)["sent"] == 12

    with clean_app.app_context():
        session = db.session
        test = session.get(DripAbTest, test_id)
        stored = assignments(session, test)
        logs = session.scalars(select(DripMessageLog).order_by(DripMessageLog.id)).all()
        by_phone = {r["body"]["to"].lstrip("+"): r["body"]["text"]["body"] for r in fake.records()}
        assert len(stored) == 12 and len({a.variant_id for a in stored.values()}) == 2
        for log in logs:
            assignment = stored[log.contact_id]
            assert log.variant_id == assignment.variant_id
            assert (assignment.message_log_id, assignment.sent_at) == (log.id, NOW)
            first_name, phone = names[log.contact_id]
            text = texts[assignment.variant_id]
            expected = text.replace("{{first_name|there}}", first_name).replace(
                "{{first_name}}", first_name
            )
            assert by_phone[phone] == expected

        read_at = NOW + timedelta(minutes=3)
        updates = [StatusUpdate(log.wamid, "read", read_at) for log in logs[:5]]
        assert apply_statuses(session, org_a.org_id, updates) == ["applied"] * 5
        session.commit()
        stored = assignments(session, test)
        assert [stored[log.contact_id].read_at for log in logs] == [read_at] * 5 + [None] * 7
        assert [stored[log.contact_id].delivered_at for log in logs[:5]] == [read_at] * 5
        counts = ab_results.phase_counts(session, [test.id], NOW)[test.id]
        assert sum(c.read for c in counts.values()) == 5
        assert sum(c.sent for c in counts.values()) == 12


# --- the auto-winner --------------------------------------------------------------------------


def synthetic(session, test, rows):
    """Assignments of fresh contacts: rows of (variant, count, reads, sent_at, read delay)."""
    org_id = test.organization_id
    made = 0
    for variant, count, reads, sent_at, delay in rows:
        contacts = make_contacts(session, org_id, count)
        session.execute(
            insert(DripVariantAssignment),
            [
                {
                    "organization_id": org_id,
                    "test_id": test.id,
                    "variant_id": variant.id,
                    "contact_id": contact.id,
                    "phase": test.phase,
                    "assigned_at": sent_at,
                    "sent_at": sent_at,
                    "read_at": sent_at + delay if i < reads else None,
                }
                for i, contact in enumerate(contacts)
            ],
        )
        made += count
    session.commit()
    return made


def status_of(session, test) -> str:
    session.expire_all()
    return session.get(DripAbTest, test.id).status


def test_the_auto_winner_declares_a_clear_difference_on_matured_sends(session, world):
    campaign = world["campaign"]
    step = live_steps(session, campaign)[0]
    test = make_test(session, campaign)
    control, variant = variants(session, test)
    sent = NOW - MATURE
    synthetic(
        session,
        test,
        [
            (control, 300, 60, sent, timedelta(hours=1)),
            (variant, 300, 180, sent, timedelta(hours=1)),
        ],
    )
    assert ab_testing.check_for_winners(session, NOW) == 1
    session.commit()
    test = session.get(DripAbTest, test.id)
    assert (test.status, test.winner_variant_id, test.decided_by) == (
        "completed",
        variant.id,
        "auto",
    )
    assert test.ended_at == NOW
    snapshot = test.decision_snapshot
    assert snapshot["decision"]["code"] == "winner"
    assert snapshot["statistics"]["sequential"]["variants"][1]["n"] == 300
    assert snapshot["variants"][1]["rate"] == pytest.approx(60.0)
    assert session.get(DripCampaignStep, step.id).message_content == variant.message_content
    assert ab_testing.check_for_winners(session, NOW) == 0  # completed: not checked again
    shown = ab_report.test_dict(ab_results.test_results(session, test, NOW))
    # The winner's lift as the table shows it (every send, one decimal), then the decision.
    assert shown["verdict"] == (
        "Variant 1 is read 200.0% more often than Control — winner declared automatically "
        "on 7 January 2030 (beats the control with >99.9% confidence)."
    )
    assert shown["headline"] == {
        "variantId": variant.id,
        "controlId": control.id,
        "lift": pytest.approx(200.0),
    }
    assert shown["decision"]["code"] == "winner" and shown["winnerId"] == variant.id


def test_the_report_has_a_daily_cumulative_timeline(session, world, org_b):
    campaign = world["campaign"]
    test = make_test(session, campaign)
    control, variant = variants(session, test)
    day = timedelta(days=1)
    synthetic(
        session,
        test,
        [
            (control, 10, 2, NOW - 2 * day, timedelta(hours=1)),
            (variant, 10, 5, NOW - 2 * day, timedelta(hours=1)),
            (variant, 10, 10, NOW, timedelta(hours=1)),
        ],
    )
    report = ab_testing.report(session, world["org"], campaign.id, test.id, NOW, UTC_ZONE)
    assert report["id"] == test.id and len(report["variants"]) == 2
    first, second = report["timeline"]
    assert (first["variantId"], second["variantId"]) == (control.id, variant.id)
    assert [p["date"] for p in first["points"]] == ["2030-01-05", "2030-01-07"]
    assert [(p["n"], p["successes"]) for p in first["points"]] == [(10, 2), (10, 2)]
    assert [(p["n"], p["successes"]) for p in second["points"]] == [(10, 5), (20, 15)]
    assert second["points"][1]["rate"] == pytest.approx(75.0)
    with pytest.raises(NotFound):
        ab_testing.report(session, org_b.org_id, campaign.id, test.id, NOW, UTC_ZONE)


def test_no_winner_while_the_sends_are_younger_than_the_outcome_window(session, world):
    test = make_test(session, world["campaign"])
    control, variant = variants(session, test)
    young = NOW - timedelta(hours=71)
    synthetic(
        session,
        test,
        [
            (control, 300, 60, young, timedelta(hours=1)),
            (variant, 300, 180, young, timedelta(hours=1)),
        ],
    )
    assert ab_testing.check_for_winners(session, NOW) == 0
    assert status_of(session, test) == "running"
    results = ab_results.test_results(session, test, NOW)
    assert results.decision.code == "waiting"
    assert "older than 72 hours" in results.decision.reason
    # The shown statistics count every send: the difference is there to see.
    assert [s.n for s in results.shown.variants] == [300, 300]
    assert results.shown.comparisons[0].significant
    # Two hours later the same sends have matured.
    assert ab_testing.check_for_winners(session, NOW + timedelta(hours=2)) == 1


def test_reads_after_the_outcome_window_do_not_count_for_the_decision(session, world):
    test = make_test(session, world["campaign"])
    control, variant = variants(session, test)
    old = NOW - timedelta(days=10)
    synthetic(
        session,
        test,
        [
            (control, 300, 60, old, timedelta(hours=1)),
            (variant, 300, 180, old, timedelta(hours=80)),
        ],
    )
    results = ab_results.test_results(session, test, NOW)
    assert [s.successes for s in results.matured.variants] == [60, 0]
    assert [s.successes for s in results.shown.variants] == [60, 180]
    assert results.decision.winner_index != 1


def test_no_winner_under_a_sample_ratio_mismatch(session, world):
    test = make_test(session, world["campaign"])
    control, variant = variants(session, test)
    sent = NOW - MATURE
    synthetic(
        session,
        test,
        [
            (control, 450, 90, sent, timedelta(hours=1)),
            (variant, 250, 150, sent, timedelta(hours=1)),
        ],
    )
    assert ab_testing.check_for_winners(session, NOW) == 0
    assert status_of(session, test) == "running"
    results = ab_results.test_results(session, test, NOW)
    assert results.decision.code == "srm"
    assert results.shown.srm.mismatch


def test_the_recurring_job_runs_the_check(clean_app, org_a):
    with clean_app.app_context():
        session = db.session
        campaign = make_campaign(session, org_a.org_id)
        test = make_test(session, campaign)
        control, variant = variants(session, test)
        sent = utcnow() - timedelta(days=30)  # the job checks at the real time
        synthetic(
            session,
            test,
            [
                (control, 300, 60, sent, timedelta(hours=1)),
                (variant, 300, 180, sent, timedelta(hours=1)),
            ],
        )
        test_id = test.id
    with clean_app.app_context():
        assert check_ab_tests() == {"winners": 1}
    with clean_app.app_context():
        assert db.session.get(DripAbTest, test_id).status == "completed"
        assert db.session.scalar(select(func.count()).select_from(DripVariantAssignment)) == 600
