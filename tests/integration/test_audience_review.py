"""The pre-launch review (app.drip.enrollment.review_audience and GET .../audience), on SQLite
and PostgreSQL: its counts are what enrolling then does, a typo'd tag says so, the skip
reasons, first sends per time zone inside the send window, limits and other organizations."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from app.drip.enrollment import enroll, review_audience
from app.drip.errors import ValidationError
from app.extensions import db
from app.models import DripEnrollment
from tests.integration.enrollment_world import (
    NOW,
    enrollments_of,
    live_steps,
    make_campaign,
    make_contacts,
    set_org_timezone,
)


def existing(session, campaign, contact, status) -> None:
    step = live_steps(session, campaign)[0]
    session.add(
        DripEnrollment(
            organization_id=campaign.organization_id,
            campaign_id=campaign.id,
            contact_id=contact.id,
            status=status,
            current_step_id=step.id if status in ("active", "paused") else None,
            enrolled_at=NOW - timedelta(days=3),
        )
    )
    session.flush()


def crowd(session, org_id, **campaign_fields):
    """Seven "vip" contacts: three fresh (Tokyo, New York, no zone), one opted out, one active,
    one paused and one who completed the campaign; and a "vipers" tag nobody typos into."""
    campaign = make_campaign(
        session, org_id, steps=((0, "minutes"), (1, "days")), **campaign_fields
    )
    fresh = [
        *make_contacts(session, org_id, 1, tag="vip", timezone="Asia/Tokyo"),
        *make_contacts(session, org_id, 1, tag="vip", timezone="America/New_York"),
        *make_contacts(session, org_id, 1, tag="vip"),
    ]
    opted, active, paused, done = make_contacts(session, org_id, 4, tag="vip")
    opted.opted_out_at = NOW - timedelta(days=1)
    existing(session, campaign, active, "active")
    existing(session, campaign, paused, "paused")
    existing(session, campaign, done, "completed")
    make_contacts(session, org_id, 1, tag="vipers", first_name="Viper")
    session.flush()
    return campaign, fresh


@pytest.mark.parametrize("reenroll", [False, True])
def test_the_review_counts_what_enrolling_then_does(session, org_a, reenroll):
    campaign, _fresh = crowd(session, org_a.org_id, allow_reenrollment=reenroll)
    review = review_audience(session, campaign, tag="vip", now=NOW)
    result = enroll(session, campaign, tag="vip", now=NOW)

    assert review.matching == 7
    assert review.would_enroll == result.enrolled == (4 if reenroll else 3)
    assert review.skipped == result.counts()
    expected = {"opted_out": 1, "already_active": 1, "already_paused": 1}
    if not reenroll:
        expected["already_completed"] = 1
    assert review.skipped == expected
    assert review.tag_exists is True and review.message is None
    assert sum(row.contacts for row in review.by_timezone) == review.would_enroll


def test_search_and_ids_count_as_enrolling_does(session, org_a, org_b):
    campaign, fresh = crowd(session, org_a.org_id)
    (stranger,) = make_contacts(session, org_b.org_id, 1)
    ids = [fresh[0].id, stranger.id, fresh[1].id, 10**12]
    by_ids = review_audience(session, campaign, contact_ids=ids, now=NOW)
    searched = review_audience(session, campaign, search={"q": "person", "tag": "vip"}, now=NOW)
    assert (by_ids.matching, by_ids.would_enroll, by_ids.skipped) == (2, 2, {"not_found": 2})
    assert by_ids.sample_contact_id == fresh[0].id
    assert by_ids.message is None
    result = enroll(session, campaign, contact_ids=ids, now=NOW)
    assert (result.enrolled, result.counts()) == (by_ids.would_enroll, by_ids.skipped)

    after = review_audience(session, campaign, search={"q": "person", "tag": "vip"}, now=NOW)
    assert searched.would_enroll - after.would_enroll == 2
    assert after.skipped["already_active"] == searched.skipped["already_active"] + 2
    assert enroll(session, campaign, search={"q": "person", "tag": "vip"}, now=NOW).enrolled == (
        after.would_enroll
    )


def test_a_typod_tag_says_no_contact_has_it_and_suggests_close_ones(session, org_a):
    campaign, _fresh = crowd(session, org_a.org_id)
    review = review_audience(session, campaign, tag="vipp", now=NOW)
    assert (review.matching, review.would_enroll, review.skipped) == (0, 0, {})
    assert review.tag_exists is False
    assert review.suggestions[0] == "vip"
    assert review.message.startswith("No contact has the tag “vipp”. Did you mean “vip”")
    assert review.by_timezone == []

    searched = review_audience(session, campaign, search={"q": "person", "tag": "VIPP"}, now=NOW)
    assert searched.message.startswith("No contact has the tag “VIPP”. Did you mean “vip”")
    nobody = review_audience(session, campaign, search={"q": "zzz", "tag": "vip"}, now=NOW)
    assert nobody.message == "No contact matches this search."
    assert nobody.tag_exists is True


def test_first_sends_per_zone_respect_the_contacts_send_window(session, org_a):
    """09:00-17:00 on weekdays, each contact's clock, Monday 12:00 UTC: Tokyo (21:00) waits for
    Tuesday 09:00 JST, New York (07:00) for 09:00 EST, London (no zone: the organization's) now.
    Each is the next_send_at enrolling then sets."""
    set_org_timezone(session, org_a.org_id, "Europe/London")
    campaign, fresh = crowd(
        session,
        org_a.org_id,
        window_start=time(9),
        window_end=time(17),
        window_weekdays=[1, 2, 3, 4, 5],
        window_timezone="contact",
    )
    review = review_audience(session, campaign, tag="vip", now=NOW)
    times = {row.timezone: row.first_send_at for row in review.by_timezone}
    assert times == {
        "Asia/Tokyo": datetime(2030, 1, 8, 0, 0, tzinfo=UTC),
        "America/New_York": datetime(2030, 1, 7, 14, 0, tzinfo=UTC),
        "Europe/London": NOW,
    }
    assert review.organization_zone == "Europe/London"
    enroll(session, campaign, tag="vip", now=NOW)
    zone_of = {c.id: c.timezone or "Europe/London" for c in fresh}
    for row in enrollments_of(session, campaign, "active"):
        if row.contact_id in zone_of:
            assert row.next_send_at == times[zone_of[row.contact_id]]


def test_smaller_zones_are_summed(session, org_a):
    campaign, _fresh = crowd(session, org_a.org_id, window_start=time(9), window_end=time(17))
    review = review_audience(session, campaign, tag="vip", now=NOW, zones_shown=1)
    assert len(review.by_timezone) == 2
    rest = review.by_timezone[1]
    assert (rest.timezone, rest.contacts, rest.zones) == (None, 2, 2)
    assert rest.first_send_at <= rest.last_send_at


def test_the_review_refuses_what_enrolling_refuses(session, org_a):
    campaign, _fresh = crowd(session, org_a.org_id)
    for target, field in (
        ({}, "contactIds"),
        ({"tag": "x" * 65}, "tag"),
        ({"tag": "  "}, "tag"),
        ({"contact_ids": list(range(1, 10_002))}, "contactIds"),
        ({"search": {"q": "", "tag": None}}, "search"),
    ):
        with pytest.raises(ValidationError) as caught:
            review_audience(session, campaign, **target, now=NOW)
        assert field in caught.value.fields, target
    campaign.status = "archived"
    with pytest.raises(ValidationError, match="archived"):
        review_audience(session, campaign, tag="vip", now=NOW)


# --- the API ---------------------------------------------------------------------------------


@pytest.fixture
def world(clean_app, org_a, org_b):
    with clean_app.app_context():
        campaign, fresh = crowd(db.session, org_a.org_id)
        other, _ = crowd(db.session, org_b.org_id)
        db.session.commit()
        return {"campaign": campaign.id, "other": other.id, "fresh": [c.id for c in fresh]}


def audience(client, campaign_id, query, headers):
    return client.get(
        f"/api/drip-campaigns/{campaign_id}/audience", query_string=query, headers=headers
    )


def test_api_counts_equal_the_enrollment_it_then_makes(clean_app, org_a, world):
    client = clean_app.test_client()
    response = audience(client, world["campaign"], {"tag": "vip"}, org_a.auth)
    assert response.status_code == 200, response.json
    data = response.json["data"]
    assert (data["matching"], data["wouldEnroll"], data["tagExists"]) == (7, 3, True)
    assert data["skipped"] == {
        "already_active": 1,
        "already_completed": 1,
        "already_paused": 1,
        "opted_out": 1,
    }
    assert data["skippedText"]["opted_out"] == "opted out"
    assert sum(row["contacts"] for row in data["byTimezone"]) == 3
    assert all(row["firstSendAt"].endswith("Z") for row in data["byTimezone"])
    tokyo = next(row for row in data["byTimezone"] if row["timezone"] == "Asia/Tokyo")
    assert tokyo["firstSendAtLocal"].endswith("+09:00")
    assert data["firstStep"]["position"] == 1

    enrolled = client.post(
        f"/api/drip-campaigns/{world['campaign']}/enrollments",
        json={"tag": "vip"},
        headers=org_a.auth,
    ).json["data"]
    assert enrolled["enrolled"] == data["wouldEnroll"]
    skipped: dict = {}
    for skip in enrolled["skipped"]:
        skipped[skip["reason"]] = skipped.get(skip["reason"], 0) + 1
    assert skipped == data["skipped"]


def test_api_typod_tag_search_and_ids(clean_app, org_a, world):
    client = clean_app.test_client()
    typo = audience(client, world["campaign"], {"tag": "vipp"}, org_a.auth).json["data"]
    assert (typo["matching"], typo["tagExists"]) == (0, False)
    assert typo["message"].startswith("No contact has the tag “vipp”.")
    assert "vip" in typo["suggestions"]
    searched = audience(
        client, world["campaign"], {"q": "viper", "searchTag": "", "tag": ""}, org_a.auth
    ).json["data"]
    assert (searched["matching"], searched["wouldEnroll"], searched["tagExists"]) == (1, 1, None)
    ids = ",".join(map(str, world["fresh"][:2]))
    by_ids = audience(client, world["campaign"], {"contactIds": ids}, org_a.auth).json["data"]
    assert by_ids["wouldEnroll"] == 2 and by_ids["sampleContactId"] == world["fresh"][0]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "contactIds"),
        ({"tag": "v" * 65}, "tag"),
        ({"q": "q" * 201}, "search"),
        ({"contactIds": "1,x"}, "contactIds"),
        ({"contactIds": ",".join(map(str, range(1, 10_002)))}, "contactIds"),
        ({"tag": "vip", "q": "a"}, "contactIds"),
    ],
)
def test_api_limits_and_bad_targets_are_422_in_words(clean_app, org_a, world, query, field):
    response = audience(clean_app.test_client(), world["campaign"], query, org_a.auth)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["details"]["fields"]
    assert response.json["error"]["message"]


def test_api_another_organizations_campaign_is_404(clean_app, org_a, world):
    client = clean_app.test_client()
    assert audience(client, world["other"], {"tag": "vip"}, org_a.auth).status_code == 404
    assert audience(client, world["campaign"], {"tag": "vip"}, {}).status_code == 401
