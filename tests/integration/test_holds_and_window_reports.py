"""What the marketer sees of template holds (campaign page, Sending panel, API), RED quality
warnings, the activation window report (page confirm flow, API 409 unless confirm) and stop
reasons in words. Held and window data are set directly: the processor is not run here."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.drip import campaigns, templates
from app.drip.enrollment import STOP_REASON_OUTSIDE_WINDOW
from app.drip.sending import queue_health
from app.extensions import db
from app.models import DripCampaign, DripEnrollment, WhatsAppTemplate, utcnow
from tests.integration.enrollment_world import live_steps, make_campaign, make_contacts


@pytest.fixture
def client(clean_app):
    """An API client (requests carry org_a.auth)."""
    return clean_app.test_client()


def catalog(session, org_id, name, *, status="APPROVED", quality="GREEN", reason=None):
    template = WhatsAppTemplate(
        organization_id=org_id,
        name=name,
        language="en_US",
        category="MARKETING",
        status=status,
        quality_score=quality,
        reason=reason,
        parameters=[],
        synced_at=utcnow(),
    )
    session.add(template)
    session.flush()
    return template


def use_template(step, name):
    step.message_type = "template"
    step.message_content = None
    step.template_name = name
    step.template_language = "en_US"
    step.template_parameters = []


def enroll(session, campaign, step, contact, **fields):
    row = DripEnrollment(
        organization_id=campaign.organization_id,
        campaign_id=campaign.id,
        contact_id=contact.id,
        status=fields.pop("status", "active"),
        current_step_id=step.id,
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def held_world(session, org_id, now):
    """A campaign whose step 3 uses drip_offer (PAUSED): 3 held there since now-2h and now-1h,
    plus 1 held at step 2 on ghost_offer (not in the catalog), 1 due, 1 held but stopped."""
    campaign = make_campaign(
        session, org_id, name="Offers", steps=((0, "minutes"), (1, "days"), (2, "days"))
    )
    _, step2, step3 = live_steps(session, campaign)
    paused = catalog(session, org_id, "drip_offer", status="PAUSED", reason="Low quality")
    use_template(step3, "drip_offer")
    use_template(step2, "ghost_offer")
    people = make_contacts(session, org_id, 6)
    for i, at in enumerate((now - timedelta(hours=2), now - timedelta(hours=1), now)):
        enroll(
            session,
            campaign,
            step3,
            people[i],
            next_send_at=at,
            held_at=at,
            held_template_id=paused.id,
        )
    enroll(session, campaign, step2, people[3], next_send_at=now, held_at=now - timedelta(hours=5))
    enroll(session, campaign, step3, people[4], next_send_at=now - timedelta(minutes=1))
    enroll(
        session,
        campaign,
        step3,
        people[5],
        status="stopped",
        held_at=now,
        held_template_id=paused.id,
    )
    session.flush()
    return campaign, paused


def test_holds_report_by_campaign_and_organization(session, org_a, org_b):
    now = utcnow()
    campaign, paused = held_world(session, org_a.org_id, now)
    held_world(session, org_b.org_id, now)  # another organization's holds stay out
    holds = templates.campaign_holds(session, org_a.org_id, [campaign.id])[campaign.id]
    shown = [(h.name, h.language, h.status, h.contacts, h.position, h.reason) for h in holds]
    assert shown == [
        ("ghost_offer", "en_US", templates.NOT_IN_CATALOG, 1, 2, None),
        ("drip_offer", "en_US", "PAUSED", 3, 3, "Low quality"),
    ]
    assert holds[1].since == now - timedelta(hours=2) and holds[1].template_id == paused.id
    org = templates.organization_holds(session, org_a.org_id)
    assert [(h.name, h.status, h.contacts) for h in org] == [
        ("ghost_offer", templates.NOT_IN_CATALOG, 1),
        ("drip_offer", "PAUSED", 3),
    ]


def test_sending_panel_counts_held_apart_from_due(clean_app, client_a, org_a):
    with clean_app.app_context():
        now = utcnow()
        held_world(db.session, org_a.org_id, now)
        health = queue_health(db.session, org_a.org_id, now + timedelta(seconds=1))
        # Only the one unheld enrollment is due; the four held ones are told apart.
        assert (health.due_now, health.held_total) == (1, 4)
        db.session.commit()
    html = client_a.get("/campaigns").get_data(as_text=True)
    assert '<span class="tile-value">1</span><span class="tile-label">messages due now' in html
    assert '<span class="tile-value">4</span><span class="tile-label">held on a template' in html
    assert 'id="held-templates"' in html
    assert '<code>drip_offer</code> (en_US)</td><td>PAUSED <span class="muted">Low quality' in html
    assert '<td class="num">3</td>' in html


def test_campaign_page_warns_of_holds_and_low_quality(clean_app, client_a, org_a):
    with clean_app.app_context():
        campaign, _ = held_world(db.session, org_a.org_id, utcnow())
        first = live_steps(db.session, campaign)[0]
        use_template(first, "drip_tips")
        catalog(db.session, org_a.org_id, "drip_tips", quality="RED")
        catalog(db.session, org_a.org_id, "unused_red", quality="RED")
        db.session.commit()
        cid = campaign.id
    html = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert 'id="template-holds"' in html
    assert "<code>drip_offer</code> (en_US)\n    is PAUSED since" in html
    assert "3 contacts wait at step 3." in html
    assert "They will be sent when Meta approves it again." in html
    assert "<code>ghost_offer</code> (en_US)\n    is not in the catalog since" in html
    assert "1 contact waits at step 2." in html
    assert "Meta rates <code>drip_tips</code>'s quality low (en_US): it may pause it" in html
    assert "<code>unused_red</code>" not in html


def test_campaign_page_without_holds_shows_no_warning(clean_app, client_a, org_a):
    with clean_app.app_context():
        campaign = make_campaign(db.session, org_a.org_id)
        db.session.commit()
        cid = campaign.id
    html = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert 'id="template-holds"' not in html and "quality low" not in html


def test_api_campaign_answers_holds(clean_app, client, org_a):
    with clean_app.app_context():
        now = utcnow()
        campaign, _ = held_world(db.session, org_a.org_id, now)
        db.session.commit()
        cid = campaign.id
    one = client.get(f"/api/drip-campaigns/{cid}", headers=org_a.auth).json["data"]
    holds = one["holds"]
    assert [(h["template"], h["language"], h["status"], h["contacts"]) for h in holds] == [
        ("ghost_offer", "en_US", "not in the catalog", 1),
        ("drip_offer", "en_US", "PAUSED", 3),
    ]
    assert holds[1]["position"] == 3 and holds[1]["since"].startswith(
        (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    )
    listed = client.get("/api/drip-campaigns", headers=org_a.auth).json["data"]
    assert [len(c["holds"]) for c in listed] == [2]


# --- the activation window report -----------------------------------------------------------


def window_world(session, org_id, now, *, status="draft"):
    """Steps: 1 text at once, 2 text 1 day later (no fallback), 3 template 1 day later,
    4 text 1 day later with a fallback. Contacts' last messages: 1 hour ago (inside for step 1
    only), 30 minutes from their next send... see the test's figures."""
    campaign = make_campaign(
        session,
        org_id,
        status=status,
        steps=((0, "minutes"), (1, "days"), (1, "days"), (1, "days")),
    )
    steps = live_steps(session, campaign)
    catalog(session, org_id, "drip_offer")
    use_template(steps[2], "drip_offer")
    steps[3].fallback_template_name = "drip_offer"
    steps[3].fallback_template_language = "en_US"
    recent, old, never, fresh = make_contacts(session, org_id, 4)
    recent.last_inbound_at = now - timedelta(hours=1)  # inside at step 1, outside at step 2
    old.last_inbound_at = now - timedelta(days=3)  # outside from step 1 on
    # never wrote: outside from its step (3) on; templates are not stopped
    fresh.last_inbound_at = now + timedelta(hours=12)  # inside until step 3 (a reply to come)
    for contact in (recent, old, fresh):
        enroll(session, campaign, steps[0], contact, next_send_at=now - timedelta(minutes=5))
    enroll(session, campaign, steps[2], never, next_send_at=now + timedelta(hours=3))
    enroll(session, campaign, steps[0], make_contacts(session, org_id, 1)[0], status="completed")
    session.flush()
    return campaign


def figures(report):
    return [
        (s.position, s.message_type, s.outside_window, s.would_stop, s.has_fallback)
        for s in report.steps
    ]


def test_window_report_per_step(session, org_a):
    now = utcnow()
    campaign = window_world(session, org_a.org_id, now)
    report = campaigns.window_report(session, campaign, now)
    assert figures(report) == [
        (1, "text", 1, 1, False),  # old: stopped at step 1, reaches no later step
        (2, "text", 1, 1, False),  # recent: its window closed a day later
        (3, "template", 2, 0, False),  # never (at step 3) and fresh (window closes before)
        (4, "text", 2, 0, True),  # with a fallback nobody is stopped
    ]
    assert (report.would_stop, report.outside_window) == (2, 6)


def test_page_activation_asks_to_confirm_then_activates(clean_app, client_a, org_a):
    with clean_app.app_context():
        cid = window_world(db.session, org_a.org_id, utcnow()).id
        db.session.commit()
    asked = client_a.post(f"/campaigns/{cid}/status", data={"action": "activate"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "2 enrolled contacts would be stopped" in html
    assert (
        '<tr id="window-step-2"><td>2</td><td>free text, no fallback template</td>'
        '<td class="num">1</td><td class="num">1</td></tr>'
    ) in html
    assert '<input type="hidden" name="confirm" value="1">' in html
    with clean_app.app_context():
        assert db.session.get(DripCampaign, cid).status == "draft"  # nothing changed yet
    done = client_a.post(f"/campaigns/{cid}/status", data={"action": "activate", "confirm": "1"})
    assert done.status_code == 302
    with clean_app.app_context():
        assert db.session.get(DripCampaign, cid).status == "active"


def test_page_activation_without_stops_needs_no_confirm(clean_app, client_a, org_a):
    with clean_app.app_context():
        campaign = make_campaign(db.session, org_a.org_id, status="draft")
        db.session.commit()
        cid = campaign.id
    answer = client_a.post(f"/campaigns/{cid}/status", data={"action": "activate"})
    assert answer.status_code == 302
    with clean_app.app_context():
        assert db.session.get(DripCampaign, cid).status == "active"


@pytest.mark.parametrize("action, status", [("activate", "draft"), ("resume", "paused")])
def test_api_activation_refused_without_confirm(clean_app, client, org_a, action, status):
    with clean_app.app_context():
        cid = window_world(db.session, org_a.org_id, utcnow(), status=status).id
        db.session.commit()
    url = f"/api/drip-campaigns/{cid}/status"
    refused = client.post(url, json={"action": action}, headers=org_a.auth)
    assert refused.status_code == 409
    error = refused.json["error"]
    assert error["code"] == "confirmation_required"
    report = error["details"]["windowReport"]
    assert report["wouldStop"] == 2
    assert report["steps"][1] == {
        "stepId": report["steps"][1]["stepId"],
        "position": 2,
        "messageType": "text",
        "outsideWindow": 1,
        "wouldStop": 1,
        "hasFallback": False,
    }
    assert report["steps"][3]["hasFallback"] is True
    with clean_app.app_context():
        assert db.session.get(DripCampaign, cid).status == status
    bad = client.post(url, json={"action": action, "confirm": "yes"}, headers=org_a.auth)
    assert bad.status_code == 422 and "confirm" in bad.json["error"]["details"]["fields"]
    done = client.post(url, json={"action": action, "confirm": True}, headers=org_a.auth)
    assert done.status_code == 200
    data = done.json["data"]
    assert data["status"] == "active"
    assert [s["wouldStop"] for s in data["windowReport"]["steps"]] == [1, 1, 0, 0]


def test_api_activation_answers_the_report_when_nobody_stops(clean_app, client, org_a):
    with clean_app.app_context():
        # One step, sent now: inside the window of a contact who just wrote.
        campaign = make_campaign(db.session, org_a.org_id, status="draft", steps=((0, "hours"),))
        enroll(
            db.session,
            campaign,
            live_steps(db.session, campaign)[0],
            make_contacts(db.session, org_a.org_id, 1, last_inbound_at=utcnow())[0],
            next_send_at=utcnow(),
        )
        db.session.commit()
        cid = campaign.id
    url = f"/api/drip-campaigns/{cid}/status"
    done = client.post(url, json={"action": "activate"}, headers=org_a.auth)
    assert done.status_code == 200
    assert done.json["data"]["windowReport"]["steps"][0]["outsideWindow"] == 0
    paused = client.post(url, json={"action": "pause"}, headers=org_a.auth)
    assert "windowReport" not in paused.json["data"]


# --- stop reasons in words ------------------------------------------------------------------


def test_stop_reasons_in_words_on_the_page_and_in_the_api(clean_app, client_a, client, org_a):
    with clean_app.app_context():
        campaign = make_campaign(db.session, org_a.org_id)
        step = live_steps(db.session, campaign)[0]
        (contact,) = make_contacts(db.session, org_a.org_id, 1)
        enroll(
            db.session,
            campaign,
            step,
            contact,
            status="stopped",
            stop_reason=STOP_REASON_OUTSIDE_WINDOW,
            stopped_at=utcnow(),
        )
        db.session.commit()
        cid = campaign.id
    words = "outside the 24-hour window: add a fallback template"
    html = client_a.get(f"/campaigns/{cid}/enrollments").get_data(as_text=True)
    assert f'<span class="muted stop-reason">{words}</span>' in html
    rows = client.get(f"/api/drip-campaigns/{cid}/enrollments", headers=org_a.auth).json["data"]
    assert (rows[0]["stopReason"], rows[0]["stopReasonText"]) == ("outside_window", words)
