"""The audit log on both databases: every change to a campaign, its steps and enrollments,
through the pages and the API, is recorded with who made it; the campaign page shows the
latest 20 in the organization's time zone, the activity page all of them."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.drip import audit
from app.extensions import db
from app.models import AuditEvent, DripAbTest, DripAbVariant, DripCampaign, Organization
from tests.integration.enrollment_world import make_contacts
from tests.integration.test_campaign_pages import SETTINGS, add_step, create
from tests.integration.test_isolation import rows_of_org


def events(app, campaign_id=None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if campaign_id is not None:
            query = query.where(AuditEvent.campaign_id == campaign_id)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def contacts_of(app, org_id, n, tag=None) -> list[int]:
    with app.app_context():
        ids = [c.id for c in make_contacts(db.session, org_id, n, tag=tag)]
        db.session.commit()
        return ids


def test_page_changes_are_recorded_with_the_user(clean_app, org_a, client_a):
    cid = create(client_a)
    assert add_step(client_a, cid, name="One").status_code == 302
    assert add_step(client_a, cid, name="Two").status_code == 302
    one, two = (e.details["stepId"] for e in events(clean_app, cid)[1:3])
    client_a.post(f"/campaigns/{cid}", data={**SETTINGS, "name": "Renamed", "window_end": "19:00"})
    client_a.post(
        f"/campaigns/{cid}/steps/{two}",
        data={"name": "Two", "delay_amount": "3", "delay_unit": "days", "message_type": "text",
              "message_content": "Changed"},
    )  # fmt: skip
    client_a.post(f"/campaigns/{cid}/steps/{two}/move", data={"direction": "up"})
    client_a.post(f"/campaigns/{cid}/steps/{one}/delete")
    for action in ("activate", "pause", "resume"):
        client_a.post(f"/campaigns/{cid}/status", data={"action": action})
    contact_ids = contacts_of(clean_app, org_a.org_id, 3, tag="vip")
    client_a.post(f"/campaigns/{cid}/enrollments", data={"target": "tag", "tag": "vip"})
    enrollment_id = _an_enrollment(clean_app, cid)
    client_a.post(f"/campaigns/{cid}/enrollments/{enrollment_id}", data={"action": "pause"})
    client_a.post(f"/campaigns/{cid}/status", data={"action": "archive"})

    rows = events(clean_app, cid)
    assert [e.action for e in rows] == [
        "campaign.created",
        "step.added",
        "step.added",
        "campaign.updated",
        "step.updated",
        "steps.reordered",
        "step.deleted",
        "campaign.activated",
        "campaign.paused",
        "campaign.resumed",
        "enrollments.added",
        "enrollment.paused",
        "campaign.archived",
    ]
    assert {(e.actor, e.user_id, e.api_key_id, e.organization_id) for e in rows} == {
        (org_a.email, _user_id(clean_app, org_a.email), None, org_a.org_id)
    }
    by_action = {e.action: e.details for e in rows}
    assert by_action["campaign.updated"]["changes"] == {
        "name": ["Onboarding", "Renamed"],
        "window_end": ["18:00", "19:00"],
    }
    assert by_action["step.updated"]["changes"] == {
        "delay_amount": [1, 3],
        "message_content": ["Hi {{first_name|there}}", "Changed"],
    }
    assert by_action["steps.reordered"] == {
        "stepId": two, "stepName": "Two", "position": 1, "direction": "up"
    }  # fmt: skip
    assert by_action["enrollments.added"] == {"enrolled": 3, "skipped": 0, "target": {"tag": "vip"}}
    assert by_action["enrollment.paused"]["enrollmentId"] == enrollment_id
    assert by_action["enrollment.paused"]["contactId"] in contact_ids


def test_api_changes_are_recorded_with_the_key(clean_app, org_a):
    api = clean_app.test_client()

    def call(method, url, body=None):
        response = api.open(url, method=method, json=body, headers=org_a.auth)
        assert response.status_code < 300, response.json
        return response.json["data"]

    cid = call("POST", "/api/drip-campaigns", {"name": "Api"})["id"]
    base = f"/api/drip-campaigns/{cid}"
    step = call("POST", f"{base}/steps", {"name": "S1", "messageContent": "Hi"})
    second = call("POST", f"{base}/steps", {"name": "S2", "messageContent": "Yo"})
    call("PATCH", base, {"stopOnReply": False})
    call("PATCH", f"{base}/steps/{step['id']}", {"name": "S1b"})
    call("POST", f"{base}/steps/reorder", {"stepIds": [second["id"], step["id"]]})
    call("DELETE", f"{base}/steps/{second['id']}")
    call("POST", f"{base}/status", {"action": "activate"})
    ids = contacts_of(clean_app, org_a.org_id, 2)
    call("POST", f"{base}/enrollments", {"contactIds": [*ids, 999999]})
    enrollment = call("GET", f"{base}/enrollments")[0]
    call("PATCH", f"{base}/enrollments/{enrollment['id']}", {"action": "stop"})

    rows = events(clean_app, cid)
    assert [e.action for e in rows] == [
        "campaign.created",
        "step.added",
        "step.added",
        "campaign.updated",
        "step.updated",
        "steps.reordered",
        "step.deleted",
        "campaign.activated",
        "enrollments.added",
        "enrollment.stopped",
    ]
    assert {(e.user_id, e.api_key_id) for e in rows} == {(None, org_a.api_key_id)}
    assert rows[0].actor.startswith("API key “test key” (drip_")
    assert org_a.api_key not in rows[0].actor
    details = {e.action: e.details for e in rows}
    assert details["steps.reordered"] == {"order": [second["id"], step["id"]]}
    assert details["enrollments.added"] == {"enrolled": 2, "skipped": 1, "target": {"contacts": 3}}
    assert details["campaign.updated"]["changes"] == {"stop_on_reply": [True, False]}


def test_ab_test_changes_through_the_api_are_recorded_with_the_key(clean_app, org_a):
    api = clean_app.test_client()

    def call(method, url, body=None):
        response = api.open(url, method=method, json=body, headers=org_a.auth)
        assert response.status_code < 300, response.json
        return response.json["data"]

    cid = call("POST", "/api/drip-campaigns", {"name": "Api"})["id"]
    base = f"/api/drip-campaigns/{cid}"
    step = call("POST", f"{base}/steps", {"name": "S1", "messageContent": "Hi"})
    tests = f"{base}/ab-tests"
    test = call(
        "POST", tests, {"name": "Hello test", "stepId": step["id"], "controlAllocation": 60}
    )
    url = f"{tests}/{test['id']}"
    variant = call("POST", f"{url}/variants", {"name": "B", "messageContent": "Hey"})
    call("PATCH", f"{url}/variants/{variant['id']}", {"messageContent": "Hey you"})
    call("PATCH", url, {"action": "start"})
    call("PATCH", url, {"action": "pause"})
    call("PATCH", url, {"action": "declare_winner", "winnerId": variant["id"]})
    call("DELETE", url)
    rows = [e for e in events(clean_app, cid) if e.action.startswith("ab_")]
    assert [(e.action, e.details.get("variantName")) for e in rows] == [
        ("ab_test.created", None),
        ("ab_variant.added", "B"),
        ("ab_variant.updated", "B"),
        ("ab_test.started", None),
        ("ab_test.paused", None),
        ("ab_test.winner_declared", "B"),
        ("ab_test.deleted", None),
    ]
    assert {(e.api_key_id, e.details["testName"]) for e in rows} == {
        (org_a.api_key_id, "Hello test")
    }
    assert rows[2].details["changes"] == {"message_content": ["Hey", "Hey you"]}


def test_a_refused_change_records_nothing(clean_app, org_a, client_a):
    cid = create(client_a)
    client_a.post(f"/campaigns/{cid}/status", data={"action": "activate"})  # no step yet
    api = clean_app.test_client()
    response = api.post(
        f"/api/drip-campaigns/{cid}/status", json={"action": "activate"}, headers=org_a.auth
    )
    assert response.status_code == 422
    assert [e.action for e in events(clean_app, cid)] == ["campaign.created"]


def test_a_deleted_campaign_keeps_its_history(clean_app, org_a, client_a):
    cid = create(client_a, name="Short-lived")
    client_a.post(f"/campaigns/{cid}/delete")
    rows = events(clean_app)
    assert [(e.action, e.campaign_id) for e in rows] == [
        ("campaign.created", None),  # the campaign's row is gone: SET NULL
        ("campaign.deleted", None),
    ]
    assert rows[1].details == {"campaignId": cid, "campaign": "Short-lived"}


def test_the_campaign_page_shows_the_latest_20_in_the_organizations_zone(
    clean_app, org_a, client_a
):
    with clean_app.app_context():
        db.session.get(Organization, org_a.org_id).timezone = "Asia/Tokyo"
        db.session.commit()
    cid = create(client_a)
    for n in range(24):
        client_a.post(f"/campaigns/{cid}", data={**SETTINGS, "name": f"Name {n}"})
    with clean_app.app_context():  # a known time: 03:00 UTC is 12:00 in Tokyo
        first = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).first()
        first.created_at = first.created_at.replace(hour=3, minute=0) - timedelta(days=400)
        db.session.commit()
    page = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    activity = page.split('id="activity"')[1]
    assert "When (Asia/Tokyo)" in activity
    assert activity.count("<tr><td>") == 20
    assert activity.count(org_a.email) == 20
    assert "changed the settings: name" in activity
    assert "created the campaign" not in activity  # the oldest, past the latest 20
    assert "All 25 changes" in activity
    log = client_a.get(f"/campaigns/{cid}/activity").get_data(as_text=True)
    assert log.count("<tr><td>") == 25
    assert re.search(
        r"<td>\d{4}-\d\d-\d\d 12:00 JST</td><td>[^<]+</td><td>created the campaign", log
    )


def test_the_activity_page_pages(clean_app, org_a, client_a):
    cid = create(client_a)
    with clean_app.app_context():
        campaign = db.session.get(DripCampaign, cid)
        for _ in range(60):
            audit.record(db.session, audit.SYSTEM, campaign, "campaign.updated", changes={})
        db.session.commit()
    first = client_a.get(f"/campaigns/{cid}/activity").get_data(as_text=True)
    assert first.count("<tr><td>") == 50 and "Page 1 of 2" in first
    second = client_a.get(f"/campaigns/{cid}/activity?page=2").get_data(as_text=True)
    assert second.count("<tr><td>") == 11 and "created the campaign" in second
    assert "saved the settings unchanged" in first and ">system<" in first


def test_names_in_the_activity_are_escaped(clean_app, org_a, client_a):
    cid = create(client_a)
    add_step(client_a, cid, name="<img src=x onerror=alert(1)>")
    page = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    activity = page.split('id="activity"')[1]
    assert "added step 1 “&lt;img src=x onerror=alert(1)&gt;”" in activity
    assert "<img src=x" not in page


def test_the_ab_test_helper_records_names_for_the_page(clean_app, org_a, client_a):
    """What the A/B test views call: audit.record_ab_test(session, actor, campaign, action,
    test, variant=...)."""
    with clean_app.app_context():
        ids = rows_of_org(org_a)
        campaign = db.session.get(DripCampaign, ids["id"])
        test = db.session.get(DripAbTest, ids["test_id"])
        variant = db.session.get(DripAbVariant, ids["variant_id"])
        actor = audit.Actor(org_a.email)
        audit.record_ab_test(db.session, actor, campaign, "ab_test.started", test)
        audit.record_ab_test(
            db.session, actor, campaign, "ab_test.winner_declared", test, variant=variant
        )
        db.session.commit()
    activity = client_a.get(f"/campaigns/{ids['id']}").get_data(as_text=True)
    assert "started A/B test “Test”" in activity
    assert "declared “Control” the winner of A/B test “Test”" in activity
    rows = events(clean_app, ids["id"])
    assert rows[-1].details == {
        "testId": ids["test_id"],
        "testName": "Test",
        "variantId": ids["variant_id"],
        "variantName": "Control",
    }


def _an_enrollment(app, campaign_id) -> int:
    with app.app_context():
        return db.session.scalar(
            db.text("SELECT min(id) FROM drip_enrollments WHERE campaign_id = :c"),
            {"c": campaign_id},
        )


def _user_id(app, email) -> int:
    with app.app_context():
        return db.session.scalar(db.text("SELECT id FROM users WHERE email = :e"), {"e": email})
