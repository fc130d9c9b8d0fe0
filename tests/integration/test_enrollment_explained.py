"""Enrollments that explain themselves, on both databases: why each one waits (in words, in
the API and on the page), the next send on the contact's clock, search by name or phone, the
funnel's drop-off filters (the list's count equals the funnel's figure), and bulk pause /
resume / stop of chosen ids or of all matching, with their limits and one audit event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.drip import analytics
from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import AuditEvent, DripEnrollment, utcnow
from tests.integration.enrollment_world import live_steps, make_campaign, make_contacts


def api(campaign_id, suffix=""):
    return f"/api/drip-campaigns/{campaign_id}/enrollments{suffix}"


@pytest.fixture
def world(clean_app, org_a, org_b):
    """Org A: a two-step campaign with five enrollments (Ada in New York, Grace, and three
    others); org B: a campaign with one enrollment."""
    with clean_app.app_context():
        s = db.session
        campaign = make_campaign(s, org_a.org_id, steps=((1, "hours"), (1, "days")))
        (ada,) = make_contacts(s, org_a.org_id, 1, first_name="Ada", timezone="America/New_York")
        (grace,) = make_contacts(s, org_a.org_id, 1, first_name="Grace")
        others = make_contacts(s, org_a.org_id, 3)
        contacts = [ada, grace, *others]
        enrollment.enroll(s, campaign, contact_ids=[c.id for c in contacts])
        theirs = make_campaign(s, org_b.org_id)
        (stranger,) = make_contacts(s, org_b.org_id, 1)
        enrollment.enroll(s, theirs, contact_ids=[stranger.id])
        s.commit()
        ids = {
            e.contact_id: e.id
            for e in s.scalars(
                select(DripEnrollment).where(DripEnrollment.campaign_id == campaign.id)
            )
        }
        (foreign,) = s.scalars(
            select(DripEnrollment.id).where(DripEnrollment.campaign_id == theirs.id)
        ).all()
        return {
            "campaign": campaign.id,
            "steps": [step.id for step in live_steps(s, campaign)],
            "enrollments": [ids[c.id] for c in contacts],
            "ada_phone": ada.phone,
            "foreign": foreign,
            "their_campaign": theirs.id,
        }


def set_rows(app, ids, **values):
    with app.app_context():
        db.session.execute(
            update(DripEnrollment).where(DripEnrollment.id.in_(ids)).values(**values)
        )
        db.session.commit()


def listed(client, world, headers, **query):
    answer = client.get(api(world["campaign"]), query_string=query, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


# --- why it waits ------------------------------------------------------------------------


def test_each_wait_reason_in_words_in_the_api_and_on_the_page(clean_app, org_a, world, client_a):
    e = world["enrollments"]
    now = utcnow()
    set_rows(clean_app, [e[1]], wait_reason="frequency_cap", next_send_at=now + timedelta(days=2))
    set_rows(clean_app, [e[2]], retry_count=2, next_send_at=now + timedelta(minutes=5))
    set_rows(clean_app, [e[3]], next_send_at=now - timedelta(minutes=1))
    client_a.post(f"/campaigns/{world['campaign']}/enrollments/{e[4]}", data={"action": "pause"})
    rows = {r["id"]: r for r in listed(clean_app.test_client(), world, org_a.auth)["data"]}
    assert rows[e[0]]["waitingFor"] == "step_delay"
    assert rows[e[0]]["waitReasonText"] == "waiting for step 1's delay: 1 hour after enrolling"
    assert rows[e[1]]["waitingFor"] == "frequency_cap"
    assert "frequency cap" in rows[e[1]]["waitReasonText"]
    assert rows[e[2]]["waitingFor"] == "retry"
    assert "2 failed attempts" in rows[e[2]]["waitReasonText"]
    assert rows[e[3]]["waitingFor"] == "due"
    assert rows[e[4]]["waitingFor"] == "paused"
    # The next send on the contact's own clock: Ada lives in New York.
    assert rows[e[0]]["contactTimezone"] == "America/New_York"
    assert rows[e[0]]["nextSendAtContactTime"].endswith(("-05:00", "-04:00"))
    page = client_a.get(f"/campaigns/{world['campaign']}/enrollments").get_data(as_text=True)
    assert "waiting for step 1&#39;s delay: 1 hour after enrolling" in page
    assert "paused by hand: nothing is sent until it is resumed" in page
    assert "for the contact" in page  # Ada's own time beside the viewer's


def test_send_window_wait_and_stopped_at_in_words(clean_app, org_a, world, client_a):
    """A campaign whose only sending day is two days away: its step waits for the hours."""
    with clean_app.app_context():
        s = db.session
        day = (utcnow() + timedelta(days=2)).isoweekday()
        campaign = make_campaign(
            s, org_a.org_id, steps=((0, "minutes"),), window_weekdays=[day], name="Weekly"
        )
        contacts = make_contacts(s, org_a.org_id, 2)
        enrollment.enroll(s, campaign, contact_ids=[c.id for c in contacts])
        s.commit()
        first, second = (
            e.id
            for e in s.scalars(
                select(DripEnrollment)
                .where(DripEnrollment.campaign_id == campaign.id)
                .order_by(DripEnrollment.id)
            )
        )
        campaign_id = campaign.id
    set_rows(
        clean_app,
        [second],
        status="stopped",
        stop_reason="send_failed:131026",
        stopped_at=utcnow(),
        next_send_at=None,
    )
    body = clean_app.test_client().get(api(campaign_id), headers=org_a.auth).get_json()
    rows = {r["id"]: r for r in body["data"]}
    assert rows[first]["waitingFor"] == "send_window"
    assert "sending hours" in rows[first]["waitReasonText"]
    assert rows[second]["waitingFor"] is None and rows[second]["stoppedAt"]
    assert rows[second]["stopReasonText"].startswith("a message could not be sent: ")
    page = client_a.get(f"/campaigns/{campaign_id}/enrollments").get_data(as_text=True)
    assert "waiting for the campaign&#39;s sending hours" in page
    assert "send_failed:131026" not in page and "a message could not be sent: " in page


def test_sending_panel_says_what_each_error_code_means(clean_app, org_a, world, client_a):
    from app.models import DripMessageLog

    with clean_app.app_context():
        e = db.session.get(DripEnrollment, world["enrollments"][0])
        db.session.add(
            DripMessageLog(
                organization_id=org_a.org_id,
                enrollment_id=e.id,
                campaign_id=e.campaign_id,
                step_id=world["steps"][0],
                contact_id=e.contact_id,
                status="failed",
                error_code="131026",
                failed_at=utcnow(),
            )
        )
        db.session.commit()
    from app.whatsapp import describe_code

    page = client_a.get("/campaigns/").get_data(as_text=True)
    assert "<code>131026</code>" in page
    assert str(describe_code("131026")).split(":")[0] in page


# --- search and the funnel's drop-off filters ----------------------------------------------


def test_search_by_name_or_phone(clean_app, org_a, world, client_a):
    client = clean_app.test_client()
    assert listed(client, world, org_a.auth, q="ada")["meta"]["total"] == 1
    digits = world["ada_phone"][-6:]
    (row,) = listed(client, world, org_a.auth, q=digits)["data"]
    assert row["contactName"] == "Ada"
    assert listed(client, world, org_a.auth, q="nobody")["meta"]["total"] == 0
    page = client_a.get(f"/campaigns/{world['campaign']}/enrollments?q=grace").get_data(
        as_text=True
    )
    assert "1 enrollment" in page and "Grace" in page and "Ada" not in page


def test_drop_off_filters_count_what_the_funnel_counts(clean_app, org_a, world, client_a):
    e, (step1, step2) = world["enrollments"], world["steps"]
    set_rows(clean_app, e, last_step_id=step1)
    set_rows(clean_app, [e[0]], status="stopped", stop_reason="replied", next_send_at=None)
    set_rows(clean_app, [e[1]], status="stopped", stop_reason="manual", next_send_at=None)
    set_rows(clean_app, [e[2]], status="unsubscribed", stop_reason="opted_out")
    set_rows(clean_app, [e[3]], wait_reason="marketing_cap")
    set_rows(clean_app, [e[4]], last_step_id=step2, status="failed", stop_reason="send_failed")
    with clean_app.app_context():
        funnel = analytics.funnel(db.session, org_a.org_id, world["campaign"])
    client = clean_app.test_client()
    checked = 0
    for step in funnel["steps"]:
        for reason, figure in step["dropOffReasons"].items():
            got = listed(client, world, org_a.auth, step=step["stepId"], reason=reason)
            assert got["meta"]["total"] == figure, (step["position"], reason)
            checked += figure
        everyone = listed(client, world, org_a.auth, step=step["stepId"])["meta"]["total"]
        assert everyone == sum(step["dropOffReasons"].values())
    assert checked == 5
    before = listed(client, world, org_a.auth, step=0)["meta"]["total"]
    assert before == sum(funnel["beforeFirstStep"]["dropOffReasons"].values()) == 0
    page = client_a.get(
        f"/campaigns/{world['campaign']}/enrollments?step={step1}&reason=replied"
    ).get_data(as_text=True)
    assert "1 enrollment" in page and "went no further than step 1" in page
    bad = client.get(api(world["campaign"]), query_string={"reason": "x"}, headers=org_a.auth)
    assert bad.status_code == 422 and "reason" in bad.get_json()["error"]["details"]["fields"]


# --- bulk ---------------------------------------------------------------------------------


def bulk(client, campaign_id, body, headers):
    return client.post(api(campaign_id, "/bulk"), json=body, headers=headers)


def test_bulk_pause_resume_stop_by_ids(clean_app, org_a, world):
    client, e = clean_app.test_client(), world["enrollments"]
    body = {"action": "pause", "enrollmentIds": [e[0], e[1], world["foreign"]]}
    answer = bulk(client, world["campaign"], body, org_a.auth)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["data"] == {
        "action": "pause",
        "matched": 2,
        "changed": 2,
        "skipped": 0,
        "notFound": 1,
    }
    again = bulk(
        client, world["campaign"], {"action": "pause", "enrollmentIds": [e[0]]}, org_a.auth
    )
    assert again.get_json()["data"]["skipped"] == 1
    resumed = bulk(
        client, world["campaign"], {"action": "resume", "enrollmentIds": [e[0], e[2]]}, org_a.auth
    ).get_json()["data"]
    assert (resumed["changed"], resumed["skipped"]) == (1, 1)
    with clean_app.app_context():
        rows = {r.id: r for r in db.session.scalars(select(DripEnrollment))}
        assert rows[e[0]].status == "active" and rows[e[0]].next_send_at is not None
        assert rows[e[1]].status == "paused" and rows[e[1]].next_send_at is None
        assert rows[world["foreign"]].status == "active"  # another organization's: untouched
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(ev.action, ev.details["changed"]) for ev in events] == [
            ("enrollments.paused", 2),
            ("enrollments.resumed", 1),
        ]


def test_bulk_stop_of_all_matching_a_filter(clean_app, org_a, world):
    client = clean_app.test_client()
    body = {"action": "stop", "filter": {"q": "ada"}}
    data = bulk(client, world["campaign"], body, org_a.auth).get_json()["data"]
    assert (data["matched"], data["changed"]) == (1, 1)
    everyone = {"action": "stop", "filter": {}}
    data = bulk(client, world["campaign"], everyone, org_a.auth).get_json()["data"]
    assert (data["matched"], data["changed"], data["skipped"]) == (5, 4, 1)
    with clean_app.app_context():
        statuses = {
            r.status
            for r in db.session.scalars(
                select(DripEnrollment).where(DripEnrollment.campaign_id == world["campaign"])
            )
        }
        assert statuses == {"stopped"}
        (event, _) = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert event.details == {"changed": 1, "skipped": 0, "target": {"q": "ada"}}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"action": "pause"}, 422),  # neither ids nor a filter
        ({"action": "pause", "enrollmentIds": [1], "filter": {}}, 422),  # both
        ({"action": "pause", "enrollmentIds": list(range(1, 1002))}, 422),  # over 1,000
        ({"action": "pause", "enrollmentIds": []}, 422),
        ({"action": "explode", "enrollmentIds": [1]}, 422),
        ({"action": "pause", "enrollmentIds": ["1"]}, 400),
        ({"action": "pause", "filter": {"reason": "bored"}}, 422),
        ({"action": "pause", "filter": {"step": "two"}}, 422),
        ({"action": "pause", "filter": []}, 400),
        ({"action": 3, "enrollmentIds": [1]}, 400),
    ],
)
def test_bulk_refuses_bad_bodies_and_changes_nothing(clean_app, org_a, world, body, status):
    answer = bulk(clean_app.test_client(), world["campaign"], body, org_a.auth)
    assert answer.status_code == status, answer.get_json()
    assert answer.get_json()["error"]["message"]
    with clean_app.app_context():
        assert {r.status for r in db.session.scalars(select(DripEnrollment))} == {"active"}


def test_bulk_on_another_organizations_campaign_is_404(clean_app, org_a, world):
    body = {"action": "stop", "filter": {}}
    answer = bulk(clean_app.test_client(), world["their_campaign"], body, org_a.auth)
    assert answer.status_code == 404
    with clean_app.app_context():
        assert db.session.get(DripEnrollment, world["foreign"]).status == "active"


def test_bulk_from_the_page_ticked_then_all_matching_with_a_confirm(clean_app, world, client_a):
    e, page = world["enrollments"], f"/campaigns/{world['campaign']}/enrollments"
    answer = client_a.post(
        f"{page}/bulk",
        data={"action": "pause", "scope": "selected", "ids": [str(e[0]), str(e[1])]},
        follow_redirects=True,
    )
    assert "Paused 2 enrollments." in answer.get_data(as_text=True)
    ask = client_a.post(f"{page}/bulk", data={"action": "stop", "scope": "matching", "q": "ada"})
    html = ask.get_data(as_text=True)
    assert ask.status_code == 200 and "Stop 1 enrollment?" in html
    with clean_app.app_context():
        assert db.session.get(DripEnrollment, e[0]).status == "paused"  # nothing yet
    done = client_a.post(
        f"{page}/bulk",
        data={"action": "stop", "scope": "matching", "q": "ada", "confirmed": "1"},
        follow_redirects=True,
    )
    assert "Stopped 1 enrollment." in done.get_data(as_text=True)
    everyone = client_a.post(f"{page}/bulk", data={"action": "stop", "scope": "matching"})
    assert "Stop 5 enrollments?" in everyone.get_data(as_text=True)
    none = client_a.post(f"{page}/bulk", data={"action": "pause"}, follow_redirects=True)
    assert "Tick at least one enrollment first." in none.get_data(as_text=True)
    with clean_app.app_context():
        assert db.session.get(DripEnrollment, e[0]).status == "stopped"
        assert db.session.get(DripEnrollment, e[1]).status == "paused"
