"""The enrollment API (with an API key, and with a logged-in session) and the enrollment pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.models import DripCampaign, DripEnrollment, User, utcnow
from tests.integration.enrollment_world import (
    enrollments_of,
    live_steps,
    make_campaign,
    make_contacts,
    set_org_timezone,
)

ENROLLMENT_KEYS = {
    "id",
    "contactId",
    "status",
    "currentStepId",
    "nextSendAt",
    "enrolledAt",
    "completedAt",
    "stopReason",
}


@pytest.fixture
def world(clean_app, org_a, org_b):
    """Org A: a campaign, three "vip" contacts (one opted out), one other; org B: a contact."""
    with clean_app.app_context():
        session = db.session
        campaign = make_campaign(session, org_a.org_id, steps=((1, "hours"), (1, "days")))
        vips = make_contacts(session, org_a.org_id, 3, tag="vip")
        vips[2].opted_out_at = utcnow()
        (other,) = make_contacts(session, org_a.org_id, 1, first_name="Grace")
        (stranger,) = make_contacts(session, org_b.org_id, 1)
        session.commit()
        return {
            "campaign": campaign.id,
            "vips": [c.id for c in vips],
            "other": other.id,
            "stranger": stranger.id,
            "step_1": live_steps(session, campaign)[0].id,
        }


def url(world, *rest) -> str:
    return "/".join([f"/api/drip-campaigns/{world['campaign']}/enrollments", *map(str, rest)])


def enroll(client, world, body, headers=None):
    return client.post(url(world), json=body, headers=headers or {})


def test_enroll_by_tag_and_list(clean_app, org_a, world):
    client = clean_app.test_client()
    response = enroll(client, world, {"tag": "vip"}, org_a.auth)
    assert response.status_code == 200, response.json
    assert response.json["data"] == {
        "enrolled": 2,
        "skipped": [{"contactId": world["vips"][2], "reason": "opted_out"}],
        "heldOut": 0,  # the campaign has no holdout (issue 19)
    }

    listed = client.get(url(world), headers=org_a.auth)
    assert listed.status_code == 200
    assert listed.json["meta"] == {"page": 1, "perPage": 50, "total": 2}
    row = listed.json["data"][0]
    assert ENROLLMENT_KEYS <= set(row)
    assert row["status"] == "active"
    assert row["currentStepId"] == world["step_1"]
    assert row["currentStepName"] == "Step 1"
    assert row["contactPhone"].startswith("+44")
    assert row["nextSendAt"].endswith("Z") and row["enrolledAt"].endswith("Z")
    sent_at = datetime.fromisoformat(row["nextSendAt"].replace("Z", "+00:00"))
    enrolled_at = datetime.fromisoformat(row["enrolledAt"].replace("Z", "+00:00"))
    assert sent_at - enrolled_at == timedelta(hours=1)


def test_enroll_by_ids_reports_each_skip(clean_app, org_a, world):
    client = clean_app.test_client()
    body = {"contactIds": [world["vips"][0], world["stranger"], world["vips"][2]]}
    assert enroll(client, world, body, org_a.auth).json["data"]["enrolled"] == 1
    again = enroll(client, world, {"contactIds": [world["vips"][0], world["other"]]}, org_a.auth)
    assert again.json["data"] == {
        "enrolled": 1,
        "skipped": [{"contactId": world["vips"][0], "reason": "already_active"}],
        "heldOut": 0,
    }
    first = enroll(client, world, body, org_a.auth)
    assert {(s["contactId"], s["reason"]) for s in first.json["data"]["skipped"]} == {
        (world["vips"][0], "already_active"),
        (world["stranger"], "not_found"),
        (world["vips"][2], "opted_out"),
    }


def test_enroll_by_search(clean_app, org_a, world):
    client = clean_app.test_client()
    response = enroll(client, world, {"search": {"q": "grace"}}, org_a.auth)
    assert response.json["data"] == {"enrolled": 1, "skipped": [], "heldOut": 0}


def test_a_logged_in_session_can_use_the_api(client_a, world):
    assert enroll(client_a, world, {"tag": "vip"}).json["data"]["enrolled"] == 2
    assert client_a.get(url(world)).json["meta"]["total"] == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not json", 400),
        ([1, 2], 400),
        ({"contactIds": "1,2"}, 400),
        ({"contactIds": ["1"]}, 400),
        ({"tag": 5}, 400),
        ({"search": "grace"}, 400),
        ({"search": {"q": 5}}, 400),
        ({}, 422),
        ({"contactIds": []}, 422),
        ({"tag": "vip", "contactIds": [1]}, 422),
        ({"tag": ""}, 422),
    ],
)
def test_bad_bodies(clean_app, org_a, world, body, status):
    client = clean_app.test_client()
    if isinstance(body, str):
        response = client.post(url(world), data=body, headers=org_a.auth)
    else:
        response = enroll(client, world, body, org_a.auth)
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] in ("bad_request", "validation_error")
    if status == 422:
        assert response.json["error"]["details"]["fields"]


def test_an_archived_campaign_answers_422(clean_app, org_a, world):
    with clean_app.app_context():
        campaign = make_campaign(db.session, org_a.org_id, status="archived")
        db.session.commit()
        campaign_id = campaign.id
    response = clean_app.test_client().post(
        f"/api/drip-campaigns/{campaign_id}/enrollments",
        json={"tag": "vip"},
        headers=org_a.auth,
    )
    assert response.status_code == 422
    assert "campaign" in response.json["error"]["details"]["fields"]


def test_pause_resume_stop(clean_app, org_a, world):
    client = clean_app.test_client()
    enroll(client, world, {"contactIds": [world["vips"][0]]}, org_a.auth)
    enrollment_id = client.get(url(world), headers=org_a.auth).json["data"][0]["id"]

    paused = client.patch(url(world, enrollment_id), json={"action": "pause"}, headers=org_a.auth)
    assert paused.status_code == 200
    assert paused.json["data"]["status"] == "paused"
    assert paused.json["data"]["nextSendAt"] is None
    assert paused.json["data"]["pausedAt"].endswith("Z")
    assert paused.json["data"]["currentStepId"] == world["step_1"]

    resumed = client.patch(url(world, enrollment_id), json={"action": "resume"}, headers=org_a.auth)
    assert resumed.json["data"]["status"] == "active"
    assert resumed.json["data"]["nextSendAt"] is not None

    listed = client.get(url(world) + "?status=paused", headers=org_a.auth)
    assert listed.json["meta"]["total"] == 0

    stopped = client.patch(url(world, enrollment_id), json={"action": "stop"}, headers=org_a.auth)
    assert stopped.json["data"]["status"] == "stopped"
    assert stopped.json["data"]["stopReason"] == "manual"
    again = client.patch(url(world, enrollment_id), json={"action": "pause"}, headers=org_a.auth)
    assert again.status_code == 409
    assert client.get(url(world) + "?status=stopped", headers=org_a.auth).json["meta"]["total"] == 1


def test_patch_errors(clean_app, org_a, world):
    client = clean_app.test_client()
    enroll(client, world, {"contactIds": [world["vips"][0]]}, org_a.auth)
    enrollment_id = client.get(url(world), headers=org_a.auth).json["data"][0]["id"]
    assert client.patch(url(world, enrollment_id), json={}, headers=org_a.auth).status_code == 400
    bogus = client.patch(url(world, enrollment_id), json={"action": "nap"}, headers=org_a.auth)
    assert bogus.status_code == 422
    assert "action" in bogus.json["error"]["details"]["fields"]
    assert (
        client.patch(url(world, 999999), json={"action": "pause"}, headers=org_a.auth).status_code
        == 404
    )


def test_list_rejects_an_unknown_status_and_pages(clean_app, org_a, world):
    client = clean_app.test_client()
    enroll(client, world, {"tag": "vip"}, org_a.auth)
    bad = client.get(url(world) + "?status=sleeping", headers=org_a.auth)
    assert bad.status_code == 422
    page_2 = client.get(url(world) + "?perPage=1&page=2", headers=org_a.auth)
    assert page_2.json["meta"] == {"page": 2, "perPage": 1, "total": 2}
    assert len(page_2.json["data"]) == 1


def test_another_organization_sees_nothing(clean_app, org_a, org_b, world):
    client = clean_app.test_client()
    enroll(client, world, {"tag": "vip"}, org_a.auth)
    enrollment_id = client.get(url(world), headers=org_a.auth).json["data"][0]["id"]
    assert client.get(url(world), headers=org_b.auth).status_code == 404
    assert enroll(client, world, {"tag": "vip"}, org_b.auth).status_code == 404
    response = client.patch(url(world, enrollment_id), json={"action": "stop"}, headers=org_b.auth)
    assert response.status_code == 404
    with clean_app.app_context():
        assert db.session.get(DripEnrollment, enrollment_id).status == "active"


def test_requests_without_a_key_get_401(clean_app, world):
    client = clean_app.test_client()
    assert client.get(url(world)).status_code == 401
    assert enroll(client, world, {"tag": "vip"}).status_code == 401
    assert client.patch(url(world, 1), json={"action": "stop"}).status_code == 401


def test_the_openapi_document_covers_the_routes(clean_app):
    paths = clean_app.test_client().get("/api/openapi.json").json["paths"]
    assert set(paths["/api/drip-campaigns/{id}/enrollments"]) == {"get", "post"}
    patch = paths["/api/drip-campaigns/{id}/enrollments/{enrollmentId}"]["patch"]
    assert {p["name"] for p in patch["parameters"]} == {"id", "enrollmentId"}
    assert {"200", "401", "404", "409"} <= set(patch["responses"])


# --- pages -----------------------------------------------------------------------------------


def page_url(world, *rest) -> str:
    return "/".join([f"/campaigns/{world['campaign']}/enrollments", *map(str, rest)])


def test_the_page_enrolls_by_tag_and_shows_skips(client_a, world):
    response = client_a.post(page_url(world), data={"target": "tag", "tag": "vip"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Enrolled 2, skipped 1" in html
    assert "opted out" in html
    assert str(world["vips"][2]) in html
    assert len(re.findall(r'<tr id="enrollment-\d+">', html)) == 2


def test_the_page_enrolls_pasted_ids_and_by_search(client_a, world):
    ids = f"{world['vips'][0]}, {world['stranger']}\n{world['other']}"
    html = client_a.post(page_url(world), data={"target": "ids", "contact_ids": ids}).get_data(
        as_text=True
    )
    assert "Enrolled 2, skipped 1" in html and "not one of your contacts" in html
    html = client_a.post(
        page_url(world), data={"target": "search", "q": "person", "search_tag": "vip"}
    ).get_data(as_text=True)
    assert "Enrolled 1, skipped 2" in html  # one already active, one opted out


def test_the_page_shows_form_errors(client_a, world):
    bad_ids = client_a.post(page_url(world), data={"target": "ids", "contact_ids": "12, abc"})
    assert bad_ids.status_code == 422
    assert "Not a contact id: abc" in bad_ids.get_data(as_text=True)
    empty = client_a.post(page_url(world), data={"target": "search"})
    assert empty.status_code == 422
    assert "Give a search text or a tag." in empty.get_data(as_text=True)


def test_the_page_lists_times_in_the_viewers_zone(clean_app, client_a, org_a, world):
    with clean_app.app_context():
        set_org_timezone(db.session, org_a.org_id, "America/New_York")
        db.session.commit()
    client_a.post(page_url(world), data={"target": "tag", "tag": "vip"})
    with clean_app.app_context():
        row = enrollments_of(db.session, db.session.get(DripCampaign, world["campaign"]))[0]
        row.next_send_at = datetime(2030, 7, 1, 16, 30, tzinfo=UTC)
        db.session.commit()
    html = client_a.get(page_url(world)).get_data(as_text=True)
    assert "America/New_York" in html
    assert "2030-07-01 12:30 EDT" in html  # 16:30 UTC on the organization's clock

    with clean_app.app_context():
        db.session.query(User).filter_by(organization_id=org_a.org_id).update(
            {"timezone": "Asia/Tokyo"}
        )
        db.session.commit()
    html = client_a.get(page_url(world)).get_data(as_text=True)
    assert "Asia/Tokyo" in html and "2030-07-02 01:30 JST" in html


def test_the_page_pauses_resumes_and_stops(clean_app, client_a, world):
    client_a.post(page_url(world), data={"target": "ids", "contact_ids": str(world["other"])})
    with clean_app.app_context():
        enrollment_id = db.session.query(DripEnrollment.id).scalar()

    response = client_a.post(page_url(world, enrollment_id), data={"action": "pause"})
    assert response.status_code == 302
    html = client_a.get(page_url(world) + "?status=paused").get_data(as_text=True)
    assert "Enrollment paused" in html and f'id="enrollment-{enrollment_id}"' in html
    assert 'value="resume"' in html

    client_a.post(page_url(world, enrollment_id), data={"action": "resume"})
    client_a.post(page_url(world, enrollment_id), data={"action": "stop"})
    with clean_app.app_context():
        assert db.session.get(DripEnrollment, enrollment_id).status == "stopped"
    html = client_a.get(page_url(world)).get_data(as_text=True)
    # Nothing left to do with a stopped enrollment: its row has no action form.
    assert f'/enrollments/{enrollment_id}"' not in html

    again = client_a.post(
        page_url(world, enrollment_id), data={"action": "pause"}, follow_redirects=True
    )
    assert "cannot be paused" in again.get_data(as_text=True)


def test_the_page_filters_and_pages(clean_app, client_a, org_a, world):
    with clean_app.app_context():
        contacts = make_contacts(db.session, org_a.org_id, 55)
        db.session.commit()
        ids = " ".join(str(c.id) for c in contacts)
    client_a.post(page_url(world), data={"target": "ids", "contact_ids": ids})
    first = client_a.get(page_url(world)).get_data(as_text=True)
    assert "55 enrollments" in first and "Page 1 of 2" in first
    second = client_a.get(page_url(world) + "?page=2").get_data(as_text=True)
    assert len(re.findall(r'id="enrollment-\d+"', second)) == 5
    completed = client_a.get(page_url(world) + "?status=completed").get_data(as_text=True)
    assert "No enrollments with status completed" in completed


def test_the_page_needs_csrf_when_csrf_is_on(clean_app, client_a, world):
    clean_app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client_a.post(page_url(world), data={"target": "tag", "tag": "vip"})
        assert response.status_code in (302, 400)
        with clean_app.app_context():
            assert db.session.query(DripEnrollment).count() == 0
    finally:
        clean_app.config["WTF_CSRF_ENABLED"] = False


def test_another_organization_gets_404_on_the_pages(client_b, world):
    assert client_b.get(page_url(world)).status_code == 404
    assert client_b.post(page_url(world), data={"target": "tag", "tag": "vip"}).status_code == 404
