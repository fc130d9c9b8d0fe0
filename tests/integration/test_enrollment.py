"""Enrollment rules on SQLite and PostgreSQL: who is enrolled, who is skipped and why,
pause / resume / stop, the list, triggers, and live edits of a campaign's steps and window."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest

from app.drip.enrollment import enrolling
from app.drip.enrollment.actions import (
    apply_action,
    following_step,
    on_contacts_created,
    on_step_deleted,
    on_step_timing_changed,
    on_tags_added,
    on_window_changed,
    pause,
    resume,
    stop,
)
from app.drip.enrollment.enrolling import Skip, enroll
from app.drip.enrollment.listing import list_enrollments
from app.drip.errors import Conflict, NotFound, ValidationError
from app.models import DripEnrollment, DripMessageLog, utcnow
from tests.integration.enrollment_world import (
    NOW,
    add_step,
    enrollments_of,
    live_steps,
    make_campaign,
    make_contacts,
    one_enrollment,
    set_org_timezone,
    tag_contacts,
)


def existing(session, campaign, contact, status, step=None, **fields) -> DripEnrollment:
    """An enrollment made directly, as an earlier enrollment or the processor would leave it."""
    step = step or live_steps(session, campaign)[0]
    row = DripEnrollment(
        organization_id=campaign.organization_id,
        campaign_id=campaign.id,
        contact_id=contact.id,
        status=status,
        current_step_id=step.id if status in ("active", "paused") else None,
        enrolled_at=fields.pop("enrolled_at", NOW - timedelta(days=10)),
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def ids(contacts) -> list[int]:
    return [c.id for c in contacts]


# --- enroll ----------------------------------------------------------------------------------


def test_enroll_chosen_contacts_at_the_first_step(session, org_a):
    campaign = make_campaign(session, org_a.org_id, steps=((2, "hours"), (1, "days")))
    contacts = make_contacts(session, org_a.org_id, 3)
    result = enroll(session, campaign, contact_ids=ids(contacts[:2]), now=NOW)
    session.commit()

    assert (result.enrolled, result.skipped) == (2, [])
    first = live_steps(session, campaign)[0]
    rows = enrollments_of(session, campaign)
    assert sorted(r.contact_id for r in rows) == ids(contacts[:2])
    for row in rows:
        assert row.status == "active"
        assert row.organization_id == org_a.org_id
        assert row.current_step_id == first.id
        assert row.enrolled_at == NOW
        assert row.next_send_at == NOW + timedelta(hours=2)  # the delay counts from enrollment
        assert row.last_sent_at is None


def test_a_contact_listed_twice_is_enrolled_once(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    (contact,) = make_contacts(session, org_a.org_id, 1)
    result = enroll(session, campaign, contact_ids=[contact.id, contact.id], now=NOW)
    assert (result.enrolled, result.skipped) == (1, [])
    assert len(enrollments_of(session, campaign)) == 1


def test_the_first_live_step_is_the_start_even_after_a_deletion(session, org_a):
    campaign = make_campaign(session, org_a.org_id, steps=((0, "minutes"), (5, "hours")))
    step_1, step_2 = live_steps(session, campaign)
    step_1.deleted_at = NOW
    session.flush()
    (contact,) = make_contacts(session, org_a.org_id, 1)
    enroll(session, campaign, contact_ids=[contact.id], now=NOW)
    row = one_enrollment(session, campaign, contact)
    assert row.current_step_id == step_2.id
    assert row.next_send_at == NOW + timedelta(hours=5)


def test_enroll_everyone_with_a_tag_in_this_organization_only(session, org_a, org_b):
    campaign = make_campaign(session, org_a.org_id)
    vips = make_contacts(session, org_a.org_id, 3, tag="vip")
    make_contacts(session, org_a.org_id, 2, tag="other")
    make_contacts(session, org_b.org_id, 2, tag="vip")
    result = enroll(session, campaign, tag="vip", now=NOW)
    assert (result.enrolled, result.skipped) == (3, [])
    assert sorted(r.contact_id for r in enrollments_of(session, campaign)) == ids(vips)


def test_enroll_everyone_matching_a_search(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    (ada,) = make_contacts(session, org_a.org_id, 1, first_name="Ada", tag="vip")
    (adam,) = make_contacts(session, org_a.org_id, 1, first_name="Adam")
    make_contacts(session, org_a.org_id, 1, first_name="Grace", tag="vip")
    assert enroll(session, campaign, search={"q": "ada", "tag": "vip"}, now=NOW).enrolled == 1
    assert enroll(session, campaign, search={"q": "ada"}, now=NOW).enrolled == 1  # Adam
    assert {r.contact_id for r in enrollments_of(session, campaign)} == {ada.id, adam.id}


@pytest.mark.parametrize(
    "target",
    [
        {},
        {"tag": "vip", "contact_ids": [1]},
        {"contact_ids": []},
        {"contact_ids": ["1"]},
        {"contact_ids": [True]},
        {"tag": "  "},
        {"search": {}},
        {"search": {"q": " "}},
        {"search": "ada"},
    ],
)
def test_enroll_needs_exactly_one_clear_target(session, org_a, target):
    campaign = make_campaign(session, org_a.org_id)
    with pytest.raises(ValidationError):
        enroll(session, campaign, now=NOW, **target)


def test_an_archived_campaign_refuses_enrollment(session, org_a):
    campaign = make_campaign(session, org_a.org_id, status="archived")
    (contact,) = make_contacts(session, org_a.org_id, 1)
    with pytest.raises(ValidationError) as caught:
        enroll(session, campaign, contact_ids=[contact.id], now=NOW)
    assert "campaign" in caught.value.fields
    assert enrollments_of(session, campaign) == []


def test_a_campaign_without_steps_refuses_enrollment(session, org_a):
    campaign = make_campaign(session, org_a.org_id, steps=())
    (contact,) = make_contacts(session, org_a.org_id, 1)
    with pytest.raises(ValidationError):
        enroll(session, campaign, contact_ids=[contact.id], now=NOW)


def test_a_draft_campaign_takes_enrollments(session, org_a):
    campaign = make_campaign(session, org_a.org_id, status="draft")
    (contact,) = make_contacts(session, org_a.org_id, 1)
    assert enroll(session, campaign, contact_ids=[contact.id], now=NOW).enrolled == 1


# --- skipped, with a reason ------------------------------------------------------------------


@pytest.fixture
def crowd(session, org_a, org_b):
    """One contact in every situation, all tagged "crowd"."""
    campaign = make_campaign(session, org_a.org_id)
    names = ["fresh", "opted_out", "active", "paused", "completed", "stopped", "unsubscribed"]
    contacts = dict(zip(names, make_contacts(session, org_a.org_id, len(names)), strict=True))
    tag_contacts(session, org_a.org_id, "crowd", contacts.values())
    contacts["opted_out"].opted_out_at = NOW - timedelta(days=1)
    for status in ("active", "paused", "completed", "stopped", "unsubscribed"):
        existing(session, campaign, contacts[status], status)
    (stranger,) = make_contacts(session, org_b.org_id, 1)
    session.commit()
    return campaign, contacts, stranger


def test_every_skip_has_a_reason(session, crowd):
    campaign, contacts, stranger = crowd
    wanted = [*ids(contacts.values()), stranger.id, 987654]
    result = enroll(session, campaign, contact_ids=wanted, now=NOW)

    # Only a completion blocks re-enrollment: stopped and unsubscribed enrollments do not (an
    # opted-out contact is skipped for that, by the contact's own opt-out).
    assert result.enrolled == 3
    assert result.skipped == sorted(
        [
            Skip(contacts["opted_out"].id, "opted_out"),
            Skip(contacts["active"].id, "already_active"),
            Skip(contacts["paused"].id, "already_paused"),
            Skip(contacts["completed"].id, "already_completed"),
            Skip(stranger.id, "not_found"),
            Skip(987654, "not_found"),
        ],
        key=lambda s: s.contact_id,
    )
    assert result.counts() == {
        "opted_out": 1,
        "already_active": 1,
        "already_paused": 1,
        "already_completed": 1,
        "not_found": 2,
    }
    enrolled = {r.contact_id for r in enrollments_of(session, campaign, "active")}
    assert {contacts[n].id for n in ("fresh", "stopped", "unsubscribed")} <= enrolled
    # The contact of the other organization got nothing.
    assert session.query(DripEnrollment).filter_by(contact_id=stranger.id).count() == 0


def test_skips_are_reported_for_a_tag_too(session, crowd):
    campaign, contacts, _ = crowd
    result = enroll(session, campaign, tag="crowd", now=NOW)
    assert result.enrolled == 3  # fresh, stopped, unsubscribed (not opted out as a contact)
    assert {s.contact_id: s.reason for s in result.skipped} == {
        contacts["opted_out"].id: "opted_out",
        contacts["active"].id: "already_active",
        contacts["paused"].id: "already_paused",
        contacts["completed"].id: "already_completed",
    }


def test_an_opted_out_contact_already_active_is_reported_as_opted_out(session, crowd):
    campaign, contacts, _ = crowd
    contacts["active"].opted_out_at = NOW
    session.flush()
    result = enroll(session, campaign, contact_ids=[contacts["active"].id], now=NOW)
    assert result.skipped == [Skip(contacts["active"].id, "opted_out")]


def test_re_enrollment_allowed_starts_a_completed_contact_again(session, crowd):
    campaign, contacts, _ = crowd
    campaign.allow_reenrollment = True
    session.flush()
    result = enroll(session, campaign, contact_ids=[contacts["completed"].id], now=NOW)
    assert (result.enrolled, result.skipped) == (1, [])
    rows = [
        r for r in enrollments_of(session, campaign) if r.contact_id == contacts["completed"].id
    ]
    assert sorted(r.status for r in rows) == ["active", "completed"]


def test_re_enrollment_allowed_still_skips_live_ones(session, crowd):
    campaign, contacts, _ = crowd
    campaign.allow_reenrollment = True
    session.flush()
    result = enroll(session, campaign, contact_ids=[contacts["active"].id], now=NOW)
    assert result.skipped == [Skip(contacts["active"].id, "already_active")]


def test_enrolling_in_another_campaign_is_independent(session, crowd, org_a):
    _, contacts, _ = crowd
    other = make_campaign(session, org_a.org_id, name="Other")
    result = enroll(session, other, contact_ids=[contacts["active"].id], now=NOW)
    assert (result.enrolled, result.skipped) == (1, [])


def test_long_id_lists_go_in_chunks(session, org_a, monkeypatch):
    monkeypatch.setattr(enrolling, "BATCH_SIZE", 2)
    campaign = make_campaign(session, org_a.org_id)
    contacts = make_contacts(session, org_a.org_id, 5)
    result = enroll(session, campaign, contact_ids=[*ids(contacts), 99999991, 99999992], now=NOW)
    assert result.enrolled == 5
    assert result.skipped == [Skip(99999991, "not_found"), Skip(99999992, "not_found")]


def test_a_large_tag_goes_in_batches(session, org_a, monkeypatch):
    monkeypatch.setattr(enrolling, "BATCH_SIZE", 2)
    campaign = make_campaign(session, org_a.org_id)
    contacts = make_contacts(session, org_a.org_id, 5, tag="vip")
    contacts[2].opted_out_at = NOW
    session.flush()
    result = enroll(session, campaign, tag="vip", now=NOW)
    assert result.enrolled == 4
    assert result.skipped == [Skip(contacts[2].id, "opted_out")]


def blind_to_live_enrollments(monkeypatch, times: int) -> list:
    """Make the first `times` classifications miss live enrollments, as when another
    transaction enrolls the same contacts between our look and our insert."""
    real = enrolling._classify
    attempts = []

    def racing(session, campaign, batch):
        attempts.append(1)
        rows = real(session, campaign, batch)
        if len(attempts) <= times:
            rows = [SimpleNamespace(**{**row._asdict(), "live": None}) for row in rows]
        return rows

    monkeypatch.setattr(enrolling, "_classify", racing)
    return attempts


def test_a_concurrent_enrollment_is_caught_by_the_index_and_reported(session, org_a, monkeypatch):
    """The unique index refuses the insert; the batch is looked at again and the contact
    reported."""
    campaign = make_campaign(session, org_a.org_id)
    contacts = make_contacts(session, org_a.org_id, 3)
    existing(session, campaign, contacts[0], "active")
    session.commit()
    attempts = blind_to_live_enrollments(monkeypatch, times=1)
    result = enroll(session, campaign, contact_ids=ids(contacts), now=NOW)
    session.commit()
    assert len(attempts) == 2
    assert result.enrolled == 2
    assert result.skipped == [Skip(contacts[0].id, "already_active")]
    assert len(enrollments_of(session, campaign)) == 3


def test_a_race_lost_every_time_is_a_conflict(session, org_a, monkeypatch):
    campaign = make_campaign(session, org_a.org_id)
    contacts = make_contacts(session, org_a.org_id, 2)
    existing(session, campaign, contacts[0], "active")
    session.commit()
    blind_to_live_enrollments(monkeypatch, times=99)
    with pytest.raises(Conflict):
        enroll(session, campaign, contact_ids=ids(contacts), now=NOW)


def test_bulk_statements_are_planned_for_the_data_they_meet(session, org_a, monkeypatch):
    """On PostgreSQL, enroll runs without psycopg's prepared statements: a generic plan made
    while drip_enrollments was small would rescan it for every contact once it has grown."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("psycopg prepared statements are a PostgreSQL matter")
    campaign = make_campaign(session, org_a.org_id)
    contacts = make_contacts(session, org_a.org_id, 2)
    seen = []
    real = enrolling._classify

    def watching(session, campaign, batch):
        seen.append(session.connection().connection.dbapi_connection.prepare_threshold)
        return real(session, campaign, batch)

    monkeypatch.setattr(enrolling, "_classify", watching)
    before = session.connection().connection.dbapi_connection.prepare_threshold
    enroll(session, campaign, contact_ids=ids(contacts), now=NOW)
    assert seen == [None]
    assert session.connection().connection.dbapi_connection.prepare_threshold == before


# --- scheduling at enrollment ----------------------------------------------------------------


def test_the_first_send_moves_into_the_send_window(session, org_a):
    campaign = make_campaign(
        session,
        org_a.org_id,
        steps=((0, "minutes"),),
        window_start=time(9),
        window_end=time(17),
        window_weekdays=[1, 2, 3, 4, 5],
        window_timezone="America/New_York",
    )
    (contact,) = make_contacts(session, org_a.org_id, 1)
    saturday = datetime(2030, 1, 12, 15, 0, tzinfo=UTC)
    enroll(session, campaign, contact_ids=[contact.id], now=saturday)
    row = one_enrollment(session, campaign, contact)
    assert row.next_send_at == datetime(2030, 1, 14, 14, 0, tzinfo=UTC)  # Monday 09:00 EST


def test_each_contact_gets_the_window_on_their_own_clock(session, org_a):
    set_org_timezone(session, org_a.org_id, "Europe/Paris")
    campaign = make_campaign(
        session,
        org_a.org_id,
        steps=((0, "minutes"),),
        window_start=time(9),
        window_end=time(10),
        window_timezone="contact",
    )
    tokyo, new_york, unknown, invalid = (
        make_contacts(session, org_a.org_id, 1, timezone=zone)[0]
        for zone in ("Asia/Tokyo", "America/New_York", None, "Not/AZone")
    )
    result = enroll(
        session, campaign, contact_ids=ids([tokyo, new_york, unknown, invalid]), now=NOW
    )
    assert result.enrolled == 4
    due = {r.contact_id: r.next_send_at for r in enrollments_of(session, campaign)}
    assert due[tokyo.id] == datetime(2030, 1, 8, 0, 0, tzinfo=UTC)  # Tue 09:00 JST
    assert due[new_york.id] == datetime(2030, 1, 7, 14, 0, tzinfo=UTC)  # Mon 09:00 EST
    # No zone, or a zone that does not exist: the organization's (Tue 09:00 CET).
    assert due[unknown.id] == due[invalid.id] == datetime(2030, 1, 8, 8, 0, tzinfo=UTC)


# --- pause, resume, stop ---------------------------------------------------------------------


@pytest.fixture
def running(session, org_a):
    """An enrollment at step 2 of a 9:00-17:00 UTC campaign; step 1 went out on 1 January."""
    campaign = make_campaign(
        session,
        org_a.org_id,
        steps=((0, "minutes"), (1, "days"), (2, "days")),
        window_start=time(9),
        window_end=time(17),
    )
    (contact,) = make_contacts(session, org_a.org_id, 1)
    step_2 = live_steps(session, campaign)[1]
    sent = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
    row = existing(
        session,
        campaign,
        contact,
        "active",
        step=step_2,
        last_sent_at=sent,
        next_send_at=sent + timedelta(days=1),
    )
    session.commit()
    return campaign, row, step_2


def test_pause_keeps_the_place(session, org_a, running):
    campaign, row, step_2 = running
    paused = pause(session, org_a.org_id, campaign.id, row.id, now=NOW)
    session.commit()
    assert paused.status == "paused"
    assert paused.paused_at == NOW
    assert paused.next_send_at is None  # nothing is due while paused
    assert paused.current_step_id == step_2.id
    assert paused.last_sent_at == datetime(2030, 1, 1, 10, 0, tzinfo=UTC)


def test_resume_sends_an_overdue_step_in_the_next_window(session, org_a, running):
    campaign, row, step_2 = running
    pause(session, org_a.org_id, campaign.id, row.id, now=datetime(2030, 1, 1, 12, tzinfo=UTC))
    evening = datetime(2030, 1, 7, 20, 0, tzinfo=UTC)  # outside 09:00-17:00
    resumed = resume(session, org_a.org_id, campaign.id, row.id, now=evening)
    assert resumed.status == "active"
    assert resumed.paused_at is None
    assert resumed.current_step_id == step_2.id
    assert resumed.next_send_at == datetime(2030, 1, 8, 9, 0, tzinfo=UTC)


def test_resume_inside_the_window_sends_an_overdue_step_now(session, org_a, running):
    campaign, row, _ = running
    pause(session, org_a.org_id, campaign.id, row.id, now=NOW - timedelta(days=5))
    resumed = resume(session, org_a.org_id, campaign.id, row.id, now=NOW)
    assert resumed.next_send_at == NOW


def test_resume_before_the_step_is_due_keeps_the_original_time(session, org_a, running):
    campaign, row, _ = running
    pause(session, org_a.org_id, campaign.id, row.id, now=datetime(2030, 1, 1, 11, tzinfo=UTC))
    resumed = resume(
        session, org_a.org_id, campaign.id, row.id, now=datetime(2030, 1, 1, 15, tzinfo=UTC)
    )
    # Still counted from the last send, not from the pause or the resume.
    assert resumed.next_send_at == datetime(2030, 1, 2, 10, 0, tzinfo=UTC)


def test_stop_ends_the_enrollment(session, org_a, running):
    campaign, row, _ = running
    stopped = stop(session, org_a.org_id, campaign.id, row.id, now=NOW)
    assert (stopped.status, stopped.stop_reason, stopped.stopped_at) == ("stopped", "manual", NOW)
    assert stopped.next_send_at is None
    with pytest.raises(Conflict):
        resume(session, org_a.org_id, campaign.id, row.id, now=NOW)
    with pytest.raises(Conflict):
        pause(session, org_a.org_id, campaign.id, row.id, now=NOW)


def test_actions_repeated_change_nothing(session, org_a, running):
    campaign, row, _ = running
    pause(session, org_a.org_id, campaign.id, row.id, now=NOW)
    again = pause(session, org_a.org_id, campaign.id, row.id, now=NOW + timedelta(hours=1))
    assert again.paused_at == NOW
    resume(session, org_a.org_id, campaign.id, row.id, now=NOW)
    assert resume(session, org_a.org_id, campaign.id, row.id, now=NOW).status == "active"
    stop(session, org_a.org_id, campaign.id, row.id, now=NOW)
    assert stop(session, org_a.org_id, campaign.id, row.id, now=NOW).stopped_at == NOW


def test_a_finished_enrollment_cannot_be_paused(session, org_a, running):
    campaign, row, _ = running
    row.status, row.completed_at, row.current_step_id = "completed", NOW, None
    session.flush()
    for action in (pause, resume, stop):
        with pytest.raises(Conflict):
            action(session, org_a.org_id, campaign.id, row.id, now=NOW)


def test_apply_action_checks_the_action_after_the_owner(session, org_a, org_b, running):
    campaign, row, _ = running
    with pytest.raises(NotFound):
        apply_action(session, org_b.org_id, campaign.id, row.id, "bogus")
    with pytest.raises(ValidationError):
        apply_action(session, org_a.org_id, campaign.id, row.id, "bogus")
    assert apply_action(session, org_a.org_id, campaign.id, row.id, "pause").status == "paused"


def test_another_organization_or_campaign_cannot_touch_an_enrollment(
    session, org_a, org_b, running
):
    campaign, row, _ = running
    other = make_campaign(session, org_a.org_id, name="Other")
    for action in (pause, resume, stop):
        with pytest.raises(NotFound):
            action(session, org_b.org_id, campaign.id, row.id)
        with pytest.raises(NotFound):
            action(session, org_a.org_id, other.id, row.id)
    session.expire_all()
    assert session.get(DripEnrollment, row.id).status == "active"


# --- the list --------------------------------------------------------------------------------


def test_list_filters_by_status_and_pages(session, org_a, org_b):
    campaign = make_campaign(session, org_a.org_id)
    contacts = make_contacts(session, org_a.org_id, 5, last_name="Lovelace")
    for i, contact in enumerate(contacts):
        existing(
            session,
            campaign,
            contact,
            "paused" if i % 2 else "active",
            enrolled_at=NOW + timedelta(minutes=i),
        )
    session.commit()

    rows, total = list_enrollments(session, org_a.org_id, campaign.id, page=1, per_page=2)
    assert total == 5
    assert [r.enrollment.contact_id for r in rows] == [contacts[4].id, contacts[3].id]
    assert rows[0].contact_name == f"{contacts[4].first_name} Lovelace"
    assert rows[0].contact_phone == contacts[4].phone
    assert (rows[0].step_name, rows[0].step_position) == ("Step 1", 1)
    rows, total = list_enrollments(session, org_a.org_id, campaign.id, page=3, per_page=2)
    assert ([r.enrollment.contact_id for r in rows], total) == ([contacts[0].id], 5)

    rows, total = list_enrollments(session, org_a.org_id, campaign.id, status="paused")
    assert total == 2 and {r.enrollment.status for r in rows} == {"paused"}
    with pytest.raises(ValidationError):
        list_enrollments(session, org_a.org_id, campaign.id, status="sleeping")
    with pytest.raises(NotFound):
        list_enrollments(session, org_b.org_id, campaign.id)


# --- triggers --------------------------------------------------------------------------------


def test_contact_created_trigger_enrolls_in_active_campaigns_only(session, org_a, org_b):
    triggered = make_campaign(session, org_a.org_id, trigger_type="contact_created")
    draft = make_campaign(session, org_a.org_id, trigger_type="contact_created", status="draft")
    manual = make_campaign(session, org_a.org_id)
    elsewhere = make_campaign(session, org_b.org_id, trigger_type="contact_created")
    no_steps = make_campaign(session, org_a.org_id, trigger_type="contact_created", steps=())
    new = make_contacts(session, org_a.org_id, 2)
    (opted_out,) = make_contacts(session, org_a.org_id, 1, opted_out_at=NOW)

    on_contacts_created(session, org_a.org_id, [*ids(new), opted_out.id])

    assert {r.contact_id for r in enrollments_of(session, triggered)} == set(ids(new))
    for campaign in (draft, manual, elsewhere, no_steps):
        assert enrollments_of(session, campaign) == []


def test_tag_added_trigger_enrolls_in_campaigns_of_that_tag(session, org_a):
    vip_campaign = make_campaign(
        session, org_a.org_id, trigger_type="tag_added", trigger_value="vip"
    )
    other_tag = make_campaign(session, org_a.org_id, trigger_type="tag_added", trigger_value="x")
    contacts = make_contacts(session, org_a.org_id, 2)
    tag = tag_contacts(session, org_a.org_id, "vip", contacts)

    on_tags_added(session, org_a.org_id, tag.id, ids(contacts))

    assert {r.contact_id for r in enrollments_of(session, vip_campaign)} == set(ids(contacts))
    assert enrollments_of(session, other_tag) == []
    # Adding the tag again (or another trigger firing) skips the live ones.
    on_tags_added(session, org_a.org_id, tag.id, ids(contacts))
    assert len(enrollments_of(session, vip_campaign)) == 2


def test_a_tag_of_another_organization_triggers_nothing(session, org_a, org_b):
    campaign = make_campaign(session, org_a.org_id, trigger_type="tag_added", trigger_value="vip")
    contacts_b = make_contacts(session, org_b.org_id, 1)
    tag_b = tag_contacts(session, org_b.org_id, "vip", contacts_b)
    on_tags_added(session, org_a.org_id, tag_b.id, ids(contacts_b))
    on_tags_added(session, org_b.org_id, tag_b.id, ids(contacts_b))
    assert enrollments_of(session, campaign) == []


# --- editing a live campaign -----------------------------------------------------------------


@pytest.fixture
def live_campaign(session, org_a):
    """Steps 0 min / 1 day / 2 days; an active and a paused enrollment wait on step 2, another
    waits on step 3. Anchors are real times: the hooks schedule from the real clock."""
    campaign = make_campaign(
        session, org_a.org_id, steps=((0, "minutes"), (1, "days"), (2, "days"))
    )
    steps = live_steps(session, campaign)
    contacts = make_contacts(session, org_a.org_id, 3)
    sent = utcnow().replace(microsecond=0) - timedelta(hours=1)
    waiting = existing(
        session,
        campaign,
        contacts[0],
        "active",
        step=steps[1],
        last_sent_at=sent,
        next_send_at=sent + timedelta(days=1),
    )
    paused = existing(session, campaign, contacts[1], "paused", step=steps[1], last_sent_at=sent)
    later = existing(
        session,
        campaign,
        contacts[2],
        "active",
        step=steps[2],
        last_sent_at=sent,
        next_send_at=sent + timedelta(days=2),
    )
    session.commit()
    return campaign, steps, sent, waiting, paused, later


def test_deleting_a_step_moves_waiting_enrollments_to_the_next_one(session, live_campaign):
    campaign, steps, sent, waiting, paused, later = live_campaign  # noqa: RUF059
    steps[1].deleted_at = utcnow()
    on_step_deleted(session, steps[1])
    session.commit()
    session.expire_all()

    assert waiting.current_step_id == steps[2].id
    assert waiting.status == "active"
    assert waiting.last_sent_at == sent  # the anchor is kept
    assert waiting.next_send_at == sent + timedelta(days=2)  # step 3's delay from that anchor
    assert (paused.current_step_id, paused.status, paused.next_send_at) == (
        steps[2].id,
        "paused",
        None,
    )
    assert (later.current_step_id, later.next_send_at) == (steps[2].id, sent + timedelta(days=2))


def test_deleting_the_last_step_completes_those_waiting_on_it(session, live_campaign):
    campaign, steps, sent, waiting, paused, later = live_campaign  # noqa: RUF059
    steps[2].deleted_at = utcnow()
    on_step_deleted(session, steps[2])
    session.commit()
    session.expire_all()
    assert later.status == "completed"
    assert later.completed_at is not None
    assert (later.current_step_id, later.next_send_at) == (None, None)
    assert (waiting.status, waiting.current_step_id) == ("active", steps[1].id)


def test_a_deleted_step_is_never_the_next_one(session, live_campaign):
    campaign, steps, *_ = live_campaign
    steps[1].deleted_at = utcnow()
    session.flush()
    assert following_step(session, campaign.id, steps[0].position).id == steps[2].id
    assert following_step(session, campaign.id, steps[2].position) is None


def test_a_step_inserted_before_the_current_one_is_not_sent(session, live_campaign):
    campaign, steps, sent, waiting, *_ = live_campaign  # noqa: RUF059
    for step in steps:
        step.position += 1
    session.flush()
    inserted = add_step(session, campaign, 1, 0, "minutes")
    session.commit()
    session.expire_all()
    assert waiting.current_step_id == steps[1].id  # still waiting on the same step
    current = steps[1]
    following = following_step(session, campaign.id, current.position)
    assert following.id == steps[2].id
    assert following_step(session, campaign.id, steps[2].position) is None
    assert inserted.id not in {waiting.current_step_id, following.id}


def test_reordering_never_sends_a_step_twice(session, live_campaign):
    campaign, steps, sent, waiting, *_ = live_campaign  # noqa: RUF059
    a, b, c = steps
    session.add(
        DripMessageLog(
            organization_id=campaign.organization_id,
            enrollment_id=waiting.id,
            campaign_id=campaign.id,
            step_id=a.id,
            contact_id=waiting.contact_id,
            status="sent",
        )
    )
    # The order becomes B, A, C; the enrollment waits on B, then A comes after it.
    b.position, a.position = 1, 2
    session.flush()
    assert following_step(session, campaign.id, b.position).id == a.id
    # For this enrollment A already went out: the step after B is C.
    assert following_step(session, campaign.id, b.position, enrollment_id=waiting.id).id == c.id


def test_a_changed_delay_reschedules_those_waiting_on_the_step(session, live_campaign):
    campaign, steps, sent, waiting, paused, later = live_campaign  # noqa: RUF059
    steps[1].delay_amount, steps[1].delay_unit = 3, "hours"
    on_step_timing_changed(session, steps[1])
    session.commit()
    session.expire_all()
    assert waiting.next_send_at == sent + timedelta(hours=3)
    assert paused.next_send_at is None
    assert later.next_send_at == sent + timedelta(days=2)


def test_a_delay_shortened_into_the_past_is_due_now_not_in_the_past(session, live_campaign):
    campaign, steps, sent, waiting, *_ = live_campaign  # noqa: RUF059
    steps[1].delay_amount, steps[1].delay_unit = 10, "minutes"
    before = utcnow()
    on_step_timing_changed(session, steps[1])
    session.commit()
    session.expire_all()
    assert before <= waiting.next_send_at <= utcnow()


def test_a_window_change_moves_waiting_enrollments_into_the_new_window(session, live_campaign):
    campaign, steps, sent, waiting, paused, later = live_campaign  # noqa: RUF059
    campaign.window_start, campaign.window_end = time(9), time(10)
    on_window_changed(session, campaign)
    session.commit()
    session.expire_all()
    for row, days in ((waiting, 1), (later, 2)):
        due = sent + timedelta(days=days)
        nine = datetime.combine(due.date(), time(9), UTC)
        if due.time() < time(9):
            expected = nine
        elif due.time() < time(10):
            expected = due
        else:
            expected = nine + timedelta(days=1)
        assert row.next_send_at == expected
    assert paused.next_send_at is None
