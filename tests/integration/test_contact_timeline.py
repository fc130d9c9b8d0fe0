"""A contact's timeline on SQLite and PostgreSQL, after a real processing pass through the fake
Cloud API and Meta's signed webhooks: an entry of every kind with its words, newest first,
pages, the API's envelope and limits, and another organization's contact a 404."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.drip.contacts import TIMELINE_KINDS, contact_timeline
from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import DripCampaignStep, DripMessageLog, Link, Organization, utcnow
from app.tasks.processing import run_processing_pass
from app.whatsapp.webhook import signature_for
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.enrollment_world import make_campaign, make_contacts
from tests.support.accounts import send_through_fake
from tests.support.window import wrote_to_us

APP_SECRET = "s"  # send_through_fake's
REPLY = "Do you ship to Porto?"


@pytest.fixture
def fake():
    with FakeCloudApi() as server:
        yield server


@pytest.fixture
def world(clean_app, org_a, fake):
    """Ada in two campaigns, an hour ago: Welcome (one step with a tracked link) was sent,
    delivered, read and its link clicked, and is completed; Nudge's first message failed
    (131049) and Ada replied to it (stopped: replied), then opted out with STOP. Bob, in the
    same organization, was sent Welcome too (none of it is Ada's)."""
    start = utcnow().replace(microsecond=0) - timedelta(hours=1)
    clean_app.config["PUBLIC_BASE_URL"] = "https://drip.example.test/"
    with clean_app.app_context():
        session = db.session
        org = session.get(Organization, org_a.org_id)
        send_through_fake(clean_app, session, org, fake)
        welcome = make_campaign(session, org.id, steps=((0, "minutes"),), track_links=True)
        step = session.scalar(
            select(DripCampaignStep).where(DripCampaignStep.campaign_id == welcome.id)
        )
        step.name, step.message_content = "Hello", "Hi {{first_name}}, see https://shop.example/a"
        nudge = make_campaign(session, org.id, name="Nudge")
        ada, bob = make_contacts(session, org.id, 2)
        wrote_to_us(session, start, organization_id=org.id)
        enrollment.enroll(session, welcome, contact_ids=[ada.id, bob.id], now=start)
        enrollment.enroll(session, nudge, contact_ids=[ada.id], now=start)
        session.commit()
        ids = {"org": org.id, "ada": ada.id, "bob": bob.id, "phone": ada.phone}
        ids |= {"welcome": welcome.id, "nudge": nudge.id}
    with clean_app.app_context():
        assert run_processing_pass(start)["sent"] == 3
        logs = db.session.scalars(
            select(DripMessageLog).where(DripMessageLog.contact_id == ids["ada"])
        ).all()
        wamid = {log.campaign_id: log.wamid for log in logs}
        code = db.session.scalar(
            select(Link.code).join(DripMessageLog, DripMessageLog.id == Link.message_log_id)
            .where(DripMessageLog.contact_id == ids["ada"])
        )  # fmt: skip
    client = clean_app.test_client()
    at = lambda minutes: str(int((start + timedelta(minutes=minutes)).timestamp()))  # noqa: E731
    phone = ids["phone"].lstrip("+")
    statuses = [
        {"id": wamid[ids["welcome"]], "status": "delivered", "timestamp": at(1)},
        {"id": wamid[ids["welcome"]], "status": "read", "timestamp": at(2)},
        {
            "id": wamid[ids["nudge"]],
            "status": "failed",
            "timestamp": at(3),
            "errors": [{"code": 131049, "title": "This message was not delivered"}],
        },
    ]
    for s in statuses:
        s["recipient_id"] = phone
    assert webhook(client, fake, statuses=statuses).status_code == 200
    messages = [
        {"from": phone, "id": "wamid.IN.1", "timestamp": at(4), "type": "text",
         "text": {"body": REPLY}, "context": {"from": "1555", "id": wamid[ids["nudge"]]}},
        {"from": phone, "id": "wamid.IN.2", "timestamp": at(5), "type": "text",
         "text": {"body": "STOP"}},
    ]  # fmt: skip
    assert webhook(client, fake, messages=messages).status_code == 200
    assert client.get(f"/l/{code}").status_code == 302  # now: after all of the above
    return ids


def webhook(client, fake, *, statuses=(), messages=()):
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "1555", "phone_number_id": fake.phone_number_id},
    }  # fmt: skip
    if statuses:
        value["statuses"] = list(statuses)
    if messages:
        value["contacts"] = [{"profile": {"name": "Ada"}, "wa_id": m["from"]} for m in messages]
        value["messages"] = list(messages)
    entry = {"id": "800", "changes": [{"field": "messages", "value": value}]}
    body = json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature_for(body, APP_SECRET),
    }
    return client.post("/api/webhooks/whatsapp", data=body, headers=headers)


def timeline(app, ids, contact="ada", page=1, per_page=50):
    with app.app_context():
        return contact_timeline(db.session, ids["org"], ids[contact], page, per_page)


def test_every_kind_in_words_newest_first(clean_app, world):
    result = timeline(clean_app, world)
    entries = result.entries
    assert result.total == len(entries)
    # Events and conversions: tests/integration/test_holdout_enrolling.py.
    assert {e.kind for e in entries} == set(TIMELINE_KINDS) - {"event", "converted"}
    times = [e.at for e in entries]
    assert times == sorted(times, reverse=True)
    assert all(e.at.utcoffset() == timedelta(0) for e in entries)
    # Newest first: the click (now), the opt-out and the STOP that caused it (at one instant:
    # the cause listed after), the stop the first reply caused, that reply.
    kinds = ["click", "opt_out", "reply", "stopped", "reply"]
    assert [e.kind for e in entries[:5]] == kinds
    click, opt_out, stop_word, stopped, reply = entries[:5]
    assert stop_word.text == "STOP" and stop_word.campaign_id is None
    assert click.text == "https://shop.example/a" and click.campaign_id == world["welcome"]
    assert click.details["stepName"] == "Hello" and click.details["stepPosition"] == 1
    assert opt_out.text == "Opted out: sent an opt-out keyword"
    assert stopped.campaign_id == world["nudge"] and stopped.status == "stopped"
    assert stopped.text == "replied (the campaign stops on a reply)"
    assert stopped.details["stopReason"] == "replied"
    assert reply.text == REPLY and reply.campaign_id == world["nudge"]
    assert reply.details["campaignName"] == "Nudge"

    by_status = {e.status: e for e in entries if e.kind == "status"}
    assert set(by_status) == {"sent", "delivered", "read", "failed"}
    failed = by_status["failed"]
    assert failed.campaign_id == world["nudge"]
    assert failed.details["errorCode"] == "131049"
    assert failed.text.startswith("Failed: ") and "131049" not in failed.text
    assert failed.details["error"] == failed.text.removeprefix("Failed: ")
    assert by_status["read"].text == "Read"

    messages = {e.campaign_id: e for e in entries if e.kind == "message"}
    assert messages[world["welcome"]].status == "read"
    assert messages[world["welcome"]].text == "Hi {{first_name}}, see https://shop.example/a"
    assert messages[world["nudge"]].status == "failed"
    enrolled = [e for e in entries if e.kind == "enrolled"]
    assert {e.text for e in enrolled} == {"Enrolled in Welcome", "Enrolled in Nudge"}
    (completed,) = [e for e in entries if e.kind == "completed"]
    assert completed.campaign_id == world["welcome"] and completed.text == "Completed Welcome"
    # At one instant, what followed comes first: the message's status after the message,
    # the message after the enrollment.
    welcome = [e.kind for e in entries if e.campaign_id == world["welcome"]]
    assert welcome[-3:] == ["status", "message", "enrolled"]


def test_another_contact_sees_only_their_own(clean_app, world):
    bob = timeline(clean_app, world, "bob").entries
    assert {e.kind for e in bob} == {"enrolled", "message", "status", "completed"}
    assert {e.campaign_id for e in bob} == {world["welcome"]}


def test_pages_cut_the_same_order(clean_app, world):
    whole = timeline(clean_app, world).entries
    pages = [timeline(clean_app, world, page=n, per_page=4) for n in range(1, 6)]
    assert pages[0].total == len(whole) and pages[0].pages == -(-len(whole) // 4)
    seen = [(e.kind, e.at, e.status) for p in pages for e in p.entries]
    assert seen == [(e.kind, e.at, e.status) for e in whole]


def test_api_envelope_paging_and_limits(clean_app, world, org_a):
    client = clean_app.test_client()
    url = f"/api/contacts/{world['ada']}/timeline"
    whole = client.get(url, headers=org_a.auth)
    assert whole.status_code == 200
    body = whole.get_json()
    assert body["meta"] == {"page": 1, "perPage": 50, "total": len(body["data"])}
    first = body["data"][0]
    assert set(first) == {"at", "kind", "campaignId", "stepId", "text", "status", "details"}
    assert first["kind"] == "click" and re.fullmatch(r"\d{4}-.*Z", first["at"])
    assert REPLY in [e["text"] for e in body["data"] if e["kind"] == "reply"]
    second = client.get(url + "?page=2&perPage=3", headers=org_a.auth).get_json()
    assert second["meta"] == {"page": 2, "perPage": 3, "total": len(body["data"])}
    assert second["data"] == body["data"][3:6]
    assert client.get(url + "?perPage=500", headers=org_a.auth).status_code == 200
    for bad in ("perPage=501", "perPage=0", "page=x"):
        refused = client.get(f"{url}?{bad}", headers=org_a.auth)
        assert refused.status_code == 422, bad
        assert refused.get_json()["error"]["code"]


def test_another_organizations_contact_is_not_found(clean_app, world, org_b):
    client = clean_app.test_client()
    for contact_id in (world["ada"], 10**9):
        response = client.get(f"/api/contacts/{contact_id}/timeline", headers=org_b.auth)
        assert response.status_code == 404
        assert "error" in response.get_json()
    # 404 before a refused page: nothing is said about another organization's contact.
    url = f"/api/contacts/{world['ada']}/timeline?perPage=501"
    assert client.get(url, headers=org_b.auth).status_code == 404


def test_an_empty_timeline(clean_app, org_a, client_a):
    with clean_app.app_context():
        (contact,) = make_contacts(db.session, org_a.org_id, 1)
        db.session.commit()
        contact_id = contact.id
    data = (
        clean_app.test_client()
        .get(f"/api/contacts/{contact_id}/timeline", headers=org_a.auth)
        .get_json()
    )
    assert data == {"data": [], "meta": {"page": 1, "perPage": 50, "total": 0}}
    page = client_a.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "Nothing has happened to this contact yet" in page


def test_the_contact_page_shows_the_timeline(clean_app, world, client_a):
    html = client_a.get(f"/contacts/{world['ada']}").get_data(as_text=True)
    assert 'id="contact-timeline"' in html
    assert REPLY in html
    assert "replied (the campaign stops on a reply)" in html
    assert '<span class="badge badge-active">read</span>' in html
    assert "(code 131049)" in html
    assert " UTC</time>" in html  # the organization's zone (the viewer has none)
    past = client_a.get(f"/contacts/{world['ada']}?page=9").get_data(as_text=True)
    assert "This page is past the end of the timeline" in past
