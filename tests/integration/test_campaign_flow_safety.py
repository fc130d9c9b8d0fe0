"""Issue 18, the flow view and editor safety, on both databases: duplicating a campaign, the
campaign list's search and filter, an over-long text refused in words, the contacts without a
variable the message uses, deleting a step of a live campaign and undoing it, and another
organization's ids answered 404."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.drip import ab, campaigns, templates
from app.drip.audit import Actor
from app.drip.errors import Conflict
from app.extensions import db
from app.models import (
    AuditEvent,
    DripAbTest,
    DripCampaignStep,
    DripEnrollment,
    DripMessageLog,
    utcnow,
)
from tests.integration.enrollment_world import make_contacts
from tests.integration.test_template_steps import meta

ACTOR = Actor("ops@acme.example")
TEXT = {"name": "Hello", "delay_amount": 0, "delay_unit": "minutes", "message_content": "Hi"}


def sync_catalog(session, org_id):
    templates.sync_templates(
        session,
        org_id,
        [
            [
                meta("welcome_pos", "Hi {{1}}, welcome!"),
                meta("paused_one", "Hi {{1}}", status="PAUSED"),
            ]
        ],
        utcnow() - timedelta(days=1),
    )


def three_step_campaign(session, org_id, *, status="active"):
    campaign = campaigns.create_campaign(session, ACTOR, org_id, {"name": "Spring"})
    steps = [
        campaigns.add_step(session, ACTOR, campaign, {**TEXT, "name": name})
        for name in ("One", "Two", "Three")
    ]
    if status != "draft":
        campaigns.change_status(session, ACTOR, campaign, "activate")
    return campaign, steps


# --- duplicate ---------------------------------------------------------------------------


def test_duplicate_copies_settings_and_live_steps_not_enrollments_or_tests(session, org_a):
    sync_catalog(session, org_a.org_id)
    campaign = campaigns.create_campaign(
        session,
        ACTOR,
        org_a.org_id,
        {
            "name": "Spring",
            "description": "Welcome series",
            "trigger_type": "tag_added",
            "trigger_value": "vip",
            "stop_on_reply": False,
            "track_links": True,
            "window_start": "09:00",
            "window_end": "18:00",
            "window_weekdays": [1, 2, 3],
            "window_timezone": "Europe/Lisbon",
        },
    )
    text = campaigns.add_step(
        session,
        ACTOR,
        campaign,
        {
            **TEXT,
            "message_content": "Hi {{first_name|there}}",
            "fallback_template": {"name": "welcome_pos", "language": "en_US", "parameters": ["x"]},
        },
    )
    gone = campaigns.add_step(session, ACTOR, campaign, {**TEXT, "name": "Gone"})
    campaigns.add_step(
        session,
        ACTOR,
        campaign,
        {
            "name": "Tpl",
            "delay_amount": 2,
            "delay_unit": "days",
            "message_type": "template",
            "template": {"name": "welcome_pos", "language": "en_US", "parameters": ["{{phone}}"]},
        },
    )
    campaigns.delete_step(session, ACTOR, campaign, gone)
    ab.create_test(session, ACTOR, campaign, {"name": "Greeting", "step_id": text.id})
    campaigns.change_status(session, ACTOR, campaign, "activate")
    campaigns.enroll_contacts(
        session,
        ACTOR,
        campaign,
        {"contact_ids": [c.id for c in make_contacts(session, org_a.org_id, 2)]},
    )

    copy = campaigns.duplicate_campaign(session, ACTOR, campaign)
    session.flush()

    assert copy.id != campaign.id and copy.organization_id == org_a.org_id
    assert (copy.name, copy.status) == ("Copy of Spring", "draft")
    for field in (
        "description",
        "trigger_type",
        "trigger_value",
        "stop_on_reply",
        "track_links",
        "window_start",
        "window_end",
        "window_weekdays",
        "window_timezone",
    ):
        assert getattr(copy, field) == getattr(campaign, field), field
    assert copy.activated_at is None
    steps = campaigns.live_steps(session, copy.id)
    assert [(s.position, s.name, s.delay_amount, s.delay_unit) for s in steps] == [
        (1, "Hello", 0, "minutes"),
        (2, "Tpl", 2, "days"),
    ]
    assert steps[0].message_content == "Hi {{first_name|there}}"
    assert (steps[0].fallback_template_name, steps[0].fallback_template_parameters) == (
        "welcome_pos",
        ["x"],
    )
    assert (steps[1].template_name, steps[1].template_parameters) == ("welcome_pos", ["{{phone}}"])
    count = session.scalar(
        select(db.func.count())
        .select_from(DripEnrollment)
        .where(DripEnrollment.campaign_id == copy.id)
    )
    assert count == 0
    assert session.scalars(select(DripAbTest).where(DripAbTest.campaign_id == copy.id)).all() == []
    event = session.scalars(select(AuditEvent).where(AuditEvent.campaign_id == copy.id)).one()
    assert (event.action, event.details["fromCampaignId"]) == ("campaign.duplicated", campaign.id)


def test_duplicate_keeps_a_long_name_within_the_limit(session, org_a):
    campaign = campaigns.create_campaign(session, ACTOR, org_a.org_id, {"name": "x" * 200})
    copy = campaigns.duplicate_campaign(session, ACTOR, campaign)
    assert len(copy.name) == 200 and copy.name.startswith("Copy of x")


def test_duplicate_through_the_api_and_the_page(client_a, clean_app, org_a, org_b):
    created = client_a.post("/api/drip-campaigns", json={"name": "Spring"}, headers=org_a.auth)
    cid = created.get_json()["data"]["id"]
    client_a.post(
        f"/api/drip-campaigns/{cid}/steps", json={"messageContent": "Hi"}, headers=org_a.auth
    )

    answer = client_a.post(f"/api/drip-campaigns/{cid}/duplicate", headers=org_a.auth)
    assert answer.status_code == 201
    data = answer.get_json()["data"]
    assert (data["name"], data["status"], len(data["steps"])) == ("Copy of Spring", "draft", 1)
    assert data["steps"][0]["messageContent"] == "Hi"

    assert (
        client_a.post(f"/api/drip-campaigns/{cid}/duplicate", headers=org_b.auth).status_code == 404
    )

    page = client_a.post(f"/campaigns/{cid}/duplicate", follow_redirects=True)
    assert page.status_code == 200
    assert "Copy of Spring" in page.get_data(as_text=True)
    assert "draft copy with its settings and steps" in page.get_data(as_text=True)


def test_duplicate_of_another_organizations_campaign_is_a_404(client_b, client_a, org_a):
    cid = client_a.post(
        "/api/drip-campaigns", json={"name": "Mine"}, headers=org_a.auth
    ).get_json()["data"]["id"]
    assert client_b.post(f"/campaigns/{cid}/duplicate").status_code == 404


# --- the campaign list -------------------------------------------------------------------


def test_list_searches_names_and_filters_status(session, org_a, org_b):
    for name in ("Spring welcome", "Summer sale", "spring_win-back 100%"):
        campaigns.create_campaign(session, ACTOR, org_a.org_id, {"name": name})
    campaigns.create_campaign(session, ACTOR, org_b.org_id, {"name": "Spring elsewhere"})
    active, _ = three_step_campaign(session, org_a.org_id)
    active.name = "Spring live"
    session.flush()

    def names(**kw):
        return [c.name for c in campaigns.list_campaigns(session, org_a.org_id, **kw).rows]

    assert set(names(q="SPRING")) == {"Spring welcome", "spring_win-back 100%", "Spring live"}
    assert names(q="100%") == ["spring_win-back 100%"]
    assert names(q="_win") == ["spring_win-back 100%"]
    assert names(q="spring", status="active") == ["Spring live"]
    assert names(status="archived") == []
    page = campaigns.list_campaigns(session, org_a.org_id, page=2, per_page=3)
    assert (page.total, len(page.rows), page.pages) == (4, 1, 2)


def test_list_api_and_page_take_q_and_status(client_a, org_a):
    for name in ("Spring welcome", "Summer sale"):
        client_a.post("/api/drip-campaigns", json={"name": name}, headers=org_a.auth)
    answer = client_a.get("/api/drip-campaigns?q=spr&status=draft", headers=org_a.auth)
    assert [c["name"] for c in answer.get_json()["data"]] == ["Spring welcome"]
    assert answer.get_json()["meta"]["total"] == 1
    bad = client_a.get("/api/drip-campaigns?status=gone", headers=org_a.auth)
    assert bad.status_code == 422 and "status" in bad.get_json()["error"]["details"]["fields"]
    long = client_a.get("/api/drip-campaigns?q=" + "x" * 201, headers=org_a.auth)
    assert long.status_code == 422 and "201" in long.get_json()["error"]["message"]

    page = client_a.get("/campaigns/?q=summer").get_data(as_text=True)
    assert "Summer sale" in page and "Spring welcome" not in page
    empty = client_a.get("/campaigns/?q=nothing")
    assert "No campaign matches “nothing”" in empty.get_data(as_text=True)
    refused = client_a.get("/campaigns/?status=gone")
    assert refused.status_code == 422 and "Unknown status" in refused.get_data(as_text=True)


# --- over-long text ----------------------------------------------------------------------


def test_an_over_long_text_is_refused_in_words_not_cut(client_a, org_a):
    cid = client_a.post("/api/drip-campaigns", json={"name": "S"}, headers=org_a.auth).get_json()[
        "data"
    ]["id"]
    answer = client_a.post(
        f"/api/drip-campaigns/{cid}/steps", json={"messageContent": "a" * 5000}, headers=org_a.auth
    )
    assert answer.status_code == 422
    assert "5,000 characters; WhatsApp allows 4,096" in str(answer.get_json()["error"])

    page = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    textarea = re.search(r"<textarea[^>]*name=\"message_content\"[^>]*>", page)[0]
    assert "maxlength" not in textarea  # a browser would cut a long paste silently
    assert 'aria-describedby="message-length"' in textarea
    refused = client_a.post(
        f"/campaigns/{cid}/steps",
        data={
            "name": "Long",
            "delay_amount": "0",
            "delay_unit": "days",
            "message_type": "text",
            "message_content": "b" * 4097,
        },
    )
    assert refused.status_code == 422
    assert "4,097 characters; WhatsApp allows 4,096" in refused.get_data(as_text=True)
    steps = client_a.get(f"/api/drip-campaigns/{cid}/steps", headers=org_a.auth).get_json()["data"]
    assert steps == []


def test_the_preview_counts_the_length_with_the_longest_values(client_a, clean_app, org_a):
    with clean_app.app_context():
        make_contacts(db.session, org_a.org_id, 1, first_name="B" * 100)
        make_contacts(db.session, org_a.org_id, 1, first_name="Al")
        db.session.commit()
    cid = client_a.post("/api/drip-campaigns", json={"name": "S"}, headers=org_a.auth).get_json()[
        "data"
    ]["id"]
    text = "Hi {{first_name|there}}! " + "x" * 4070  # 4,095 typed
    answer = client_a.post(
        f"/api/drip-campaigns/{cid}/preview", json={"messageContent": text}, headers=org_a.auth
    ).get_json()["data"]
    assert answer["length"]["typed"] == len(text)
    assert answer["length"]["characters"] == len(text) - len("{{first_name|there}}") + 4  # Alex
    assert answer["length"]["longest"] == len(text) - len("{{first_name|there}}") + 100
    assert answer["length"]["longest"] > answer["length"]["limit"] == 4096


# --- contacts without a variable ---------------------------------------------------------


def test_missing_variables_are_counted_over_all_contacts_then_the_enrolled(
    client_a, clean_app, org_a
):
    with clean_app.app_context():
        named = make_contacts(db.session, org_a.org_id, 3, attributes={"city": "Lisbon"})
        blank = make_contacts(db.session, org_a.org_id, 2)
        for contact in blank:
            contact.first_name = None if contact is blank[0] else ""
        make_contacts(db.session, org_a.org_id, 1, opted_out_at=utcnow())  # not counted
        db.session.commit()
        named_ids, blank_ids = [c.id for c in named], [c.id for c in blank]
    cid = client_a.post("/api/drip-campaigns", json={"name": "S"}, headers=org_a.auth).get_json()[
        "data"
    ]["id"]
    body = {"messageContent": "Hi {{first_name|there}} from {{attributes.city}}, {{phone}}"}
    url = f"/api/drip-campaigns/{cid}/preview"
    data = client_a.post(url, json=body, headers=org_a.auth).get_json()["data"]
    assert data["audience"] == {"scope": "all", "total": 5}
    missing = {m["variable"]: m for m in data["missing"]}
    assert set(missing) == {"first_name", "attributes.city"}
    assert (missing["first_name"]["missing"], missing["first_name"]["total"]) == (2, 5)
    assert missing["first_name"]["text"] == (
        "2 of 5 contacts (all of them) have no first_name: they get the fallback “there”."
    )
    assert missing["attributes.city"]["missing"] == 2
    assert "left empty" in missing["attributes.city"]["text"]

    client_a.post(
        f"/api/drip-campaigns/{cid}/steps", json={"messageContent": "Hi"}, headers=org_a.auth
    )
    client_a.post(
        f"/api/drip-campaigns/{cid}/status", json={"action": "activate"}, headers=org_a.auth
    )
    client_a.post(
        f"/api/drip-campaigns/{cid}/enrollments",
        json={"contactIds": [*named_ids[:1], blank_ids[0]]},
        headers=org_a.auth,
    )
    data = client_a.post(url, json=body, headers=org_a.auth).get_json()["data"]
    assert data["audience"] == {"scope": "enrolled", "total": 2}
    first = next(m for m in data["missing"] if m["variable"] == "first_name")
    assert first["text"].startswith("1 of 2 contacts enrolled and waiting has no first_name")


# --- deleting a step of a live campaign, and undo ----------------------------------------


def enroll(session, campaign, count, org_id):
    contacts = make_contacts(session, org_id, count)
    campaigns.enroll_contacts(session, ACTOR, campaign, {"contact_ids": [c.id for c in contacts]})
    session.flush()
    return session.scalars(
        select(DripEnrollment)
        .where(DripEnrollment.campaign_id == campaign.id)
        .order_by(DripEnrollment.id)
    ).all()


def test_delete_moves_enrollments_and_undo_moves_back_those_that_did_not_progress(session, org_a):
    campaign, (one, two, three) = three_step_campaign(session, org_a.org_id)
    rows = enroll(session, campaign, 4, org_a.org_id)
    assert {r.current_step_id for r in rows} == {one.id}
    campaigns.change_enrollment(session, ACTOR, campaign, rows[3].id, "pause")
    move = campaigns.step_move(session, one)
    assert (move.waiting, move.to_step.id) == (4, two.id)

    moved = campaigns.delete_step(session, ACTOR, campaign, one)
    session.flush()
    assert moved["count"] == 4 and moved["toStepId"] == two.id
    for row in rows:
        session.refresh(row)
    assert {r.current_step_id for r in rows} == {two.id}
    # One has been sent step Two since: it stays where it went.
    session.add(
        DripMessageLog(
            organization_id=org_a.org_id,
            enrollment_id=rows[0].id,
            campaign_id=campaign.id,
            step_id=two.id,
            contact_id=rows[0].contact_id,
            status="sent",
        )
    )
    rows[0].current_step_id = three.id
    session.flush()
    offered = campaigns.deletion_event(session, campaign, utcnow())
    assert offered.details["stepId"] == one.id

    undone = campaigns.restore_step(session, ACTOR, campaign, one)
    session.flush()
    assert (undone.moved_back, undone.stayed) == (3, 1)
    assert [s.id for s in campaigns.live_steps(session, campaign.id)] == [one.id, two.id, three.id]
    for row in rows:
        session.refresh(row)
    assert [r.current_step_id for r in rows] == [three.id, one.id, one.id, one.id]
    assert [r.status for r in rows] == ["active", "active", "active", "paused"]
    assert rows[1].next_send_at is not None
    assert campaigns.deletion_event(session, campaign, utcnow()) is None
    with pytest.raises(Conflict):
        campaigns.restore_step(session, ACTOR, campaign, one)


def test_undo_of_the_last_step_takes_back_the_completions(session, org_a):
    campaign, (_, _, three) = three_step_campaign(session, org_a.org_id)
    rows = enroll(session, campaign, 2, org_a.org_id)
    for row in rows:
        row.current_step_id = three.id
    session.flush()
    campaigns.delete_step(session, ACTOR, campaign, three)
    session.flush()
    for row in rows:
        session.refresh(row)
    assert {r.status for r in rows} == {"completed"}
    undone = campaigns.restore_step(session, ACTOR, campaign, three)
    session.flush()
    for row in rows:
        session.refresh(row)
    assert undone.moved_back == 2
    assert {(r.status, r.current_step_id, r.completed_at) for r in rows} == {
        ("active", three.id, None)
    }


def test_undo_is_refused_after_ten_minutes(session, org_a):
    campaign, (one, _, _) = three_step_campaign(session, org_a.org_id)
    campaigns.delete_step(session, ACTOR, campaign, one)
    session.flush()
    with pytest.raises(Conflict, match="10 minutes"):
        campaigns.restore_step(session, ACTOR, campaign, one, now=utcnow() + timedelta(minutes=11))
    assert session.get(DripCampaignStep, one.id).deleted_at is not None


def test_delete_and_undo_on_the_page(client_a, client_b, clean_app, org_a):
    with clean_app.app_context():
        campaign, (one, _, _) = three_step_campaign(db.session, org_a.org_id)
        enroll(db.session, campaign, 3, org_a.org_id)
        db.session.commit()
        cid, one_id = campaign.id, one.id
    page = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert "The 3 contacts waiting for it move on to step 2 “Two”" in page

    deleted = client_a.post(f"/campaigns/{cid}/steps/{one_id}/delete", follow_redirects=True)
    text = deleted.get_data(as_text=True)
    assert "3 contacts waiting for it moved on to step “Two”" in text
    assert "Undo" in text and f"/steps/{one_id}/restore" in text

    assert client_b.post(f"/campaigns/{cid}/steps/{one_id}/restore").status_code == 404
    restored = client_a.post(f"/campaigns/{cid}/steps/{one_id}/restore", follow_redirects=True)
    text = restored.get_data(as_text=True)
    assert "Step “One” is back at position 1. 3 contacts moved back to it." in text
    assert f"/steps/{one_id}/restore" not in text
    with clean_app.app_context():
        currents = db.session.scalars(
            select(DripEnrollment.current_step_id).where(DripEnrollment.campaign_id == cid)
        ).all()
        assert set(currents) == {one_id}
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.campaign_id == cid).order_by(AuditEvent.id)
        ).all()
        assert actions[-2:] == ["step.deleted", "step.restored"]


# --- the flow ----------------------------------------------------------------------------


def test_the_flow_shows_figures_template_status_and_ab_badges(client_a, clean_app, org_a):
    with clean_app.app_context():
        sync_catalog(db.session, org_a.org_id)
        campaign = campaigns.create_campaign(db.session, ACTOR, org_a.org_id, {"name": "Spring"})
        text = campaigns.add_step(db.session, ACTOR, campaign, TEXT)
        campaigns.add_step(
            db.session,
            ACTOR,
            campaign,
            {
                "name": "Tpl",
                "delay_amount": 1,
                "delay_unit": "days",
                "message_type": "template",
                "template": {"name": "welcome_pos", "language": "en_US", "parameters": ["x"]},
            },
        )
        ab.create_test(db.session, ACTOR, campaign, {"name": "Greeting", "step_id": text.id})
        db.session.commit()
        cid = campaign.id
    page = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert 'class="steps flow"' in page
    assert "At once after enrollment" in page and "Wait 1 day after the previous step" in page
    assert "template welcome_pos: approved" in page
    assert "A/B test draft: Greeting" in page
    for label in ("sent", "read", "replied", "dropped"):
        assert f"<dt>{label}</dt>" in page
    # The catalog pauses the template: the badge says so.
    with clean_app.app_context():
        row = templates.find_template(db.session, org_a.org_id, "welcome_pos", "en_US")
        row.status = "PAUSED"
        db.session.commit()
    assert "template welcome_pos: paused" in client_a.get(f"/campaigns/{cid}").get_data(
        as_text=True
    )
