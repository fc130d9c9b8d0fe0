"""The pre-launch forecast (app.drip.campaigns.forecast): per step the messages, inside or
outside the contact's 24-hour window, billable by Meta's rule, cost by market on the
organization's rate card; a tag, contact ids or the live enrollments; the API route and the
page panels (activation confirm, review and activate, the enroll form)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.drip import campaigns, enrollment
from app.drip.errors import ValidationError
from app.extensions import db
from app.models import (
    Contact,
    DripCampaign,
    DripEnrollment,
    RateCardEntry,
    WhatsAppAccount,
    WhatsAppTemplate,
    utcnow,
)
from tests.integration.enrollment_world import NOW, live_steps, make_campaign, tag_contacts

PRICES = {
    ("United Kingdom", "MARKETING"): "0.05",
    ("United Kingdom", "UTILITY"): "0.02",
    ("Brazil", "MARKETING"): "0.0625",
    ("Brazil", "UTILITY"): "0.008",
    ("India", "MARKETING"): "0.011",
    ("India", "UTILITY"): "0.0014",
}


@pytest.fixture
def client(clean_app):
    """An API client (requests carry org_a.auth)."""
    return clean_app.test_client()


def catalog(session, org_id, name, category):
    session.add(
        WhatsAppTemplate(
            organization_id=org_id,
            name=name,
            language="en_US",
            category=category,
            status="APPROVED",
            quality_score="GREEN",
            parameters=[],
            synced_at=utcnow(),
        )
    )


def use_template(step, name):
    step.message_type = "template"
    step.message_content = None
    step.template_name = name
    step.template_language = "en_US"
    step.template_parameters = []


def contact(session, org_id, phone, last_inbound_at=None, **fields):
    row = Contact(organization_id=org_id, phone=phone, last_inbound_at=last_inbound_at, **fields)
    session.add(row)
    session.flush()
    return row


def world(session, org_id, now=NOW, *, status="draft"):
    """Steps: 1 text at once with a UTILITY fallback, 2 UTILITY template 2 hours later,
    3 MARKETING template 1 day later, 4 text 1 day later without a fallback. Tagged "vip":
    uk (wrote 1 h ago), brazil (never wrote), india (wrote 23 h ago), germany (wrote 1 h ago,
    no price on the card), opted (opted out). Not tagged: late (Brazil, wrote 30 min ago)."""
    for (market, category), price in PRICES.items():
        session.add(
            RateCardEntry(
                organization_id=org_id,
                market=market,
                category=category,
                price=Decimal(price),
                currency="USD",
                effective_from=date(2020, 1, 1),
            )
        )
    # A later rate is not used before its date.
    session.add(
        RateCardEntry(
            organization_id=org_id,
            market="United Kingdom",
            category="MARKETING",
            price=Decimal("9"),
            currency="USD",
            effective_from=date(2100, 1, 1),
        )
    )
    catalog(session, org_id, "drip_update", "UTILITY")
    catalog(session, org_id, "drip_receipt", "UTILITY")
    catalog(session, org_id, "drip_offer", "MARKETING")
    campaign = make_campaign(
        session,
        org_id,
        status=status,
        steps=((0, "minutes"), (2, "hours"), (1, "days"), (1, "days")),
    )
    steps = live_steps(session, campaign)
    steps[0].fallback_template_name = "drip_update"
    steps[0].fallback_template_language = "en_US"
    use_template(steps[1], "drip_receipt")
    use_template(steps[2], "drip_offer")
    people = {
        "uk": contact(session, org_id, "+442079460001", now - timedelta(hours=1)),
        "brazil": contact(session, org_id, "+5511987654321"),
        "india": contact(session, org_id, "+919876543210", now - timedelta(hours=23)),
        "germany": contact(session, org_id, "+4915123456789", now - timedelta(hours=1)),
        "opted": contact(session, org_id, "+442079460002", opted_out_at=now),
        "late": contact(session, org_id, "+5511987654322", now - timedelta(minutes=30)),
    }
    tag_contacts(session, org_id, "vip", [people[k] for k in ("uk", "brazil", "india", "germany")])
    tag_contacts(session, org_id, "vip", [people["opted"]])
    session.flush()
    return campaign, people


def figures(result):
    return [
        (
            s.position,
            s.messages,
            s.inside_window,
            s.outside_window,
            s.stopped,
            s.billable,
            s.cost,
            s.unpriced,
        )
        for s in result.steps
    ]


EXPECTED_VIP = [
    # uk, india, germany inside (SERVICE); brazil outside: the UTILITY fallback, billed
    (1, 4, 3, 1, 0, 1, Decimal("0.008"), 0),
    # 2 hours later india's window has closed: UTILITY billed for brazil and india, free inside
    (2, 4, 2, 2, 0, 2, Decimal("0.0094"), 0),
    # MARKETING always billed; germany has no price on the card
    (3, 4, 0, 4, 0, 4, Decimal("0.1235"), 1),
    # free text outside everyone's window, no fallback: stopped, not sent, not billed
    (4, 0, 0, 0, 4, 0, Decimal(0), 0),
]


def test_forecast_of_a_tag_by_market_window_and_category(session, org_a):
    campaign, _ = world(session, org_a.org_id)
    result = campaigns.forecast(session, campaign, tag="vip", now=NOW)
    assert result.audience == 4  # the opted-out contact is left out, as enrolling skips it
    assert figures(result) == EXPECTED_VIP
    assert [(s.category, s.fallback_category) for s in result.steps] == [
        ("SERVICE", "UTILITY"),
        ("UTILITY", None),
        ("MARKETING", None),
        ("SERVICE", None),
    ]
    assert result.total_cost == Decimal("0.1409") and result.currency == "USD"
    assert (result.billable, result.messages) == (7, 12)
    assert result.rate_card_date == date(2020, 1, 1) and result.rate_card_source == "organization"
    # No WhatsApp account: no limit, the first step is not spread.
    assert (result.messaging_limit, result.first_step_outside) == (None, 1)
    assert result.days_for_first_step is None


def test_forecast_of_contact_ids_and_the_messaging_limit(session, org_a, org_b):
    campaign, people = world(session, org_a.org_id)
    stranger = contact(session, org_b.org_id, "+442079460099")
    session.add(
        WhatsAppAccount(
            organization_id=org_a.org_id,
            phone_number_id="106540352242922",
            access_token_encrypted="x",
            app_secret_encrypted="x",
            messaging_limit=250,
        )
    )
    ids = [people["brazil"].id, people["late"].id, people["opted"].id, stranger.id]
    result = campaigns.forecast(session, campaign, contact_ids=ids, now=NOW)
    assert result.audience == 2  # another organization's contact and the opted out are not
    step1 = result.steps[0]
    assert (step1.messages, step1.inside_window, step1.billable) == (2, 1, 1)
    # late wrote 30 minutes ago: its UTILITY step 2 hours later is inside the window, free.
    step2 = result.steps[1]
    assert (step2.inside_window, step2.billable, step2.cost) == (1, 1, Decimal("0.008"))
    assert (result.messaging_limit, result.first_step_outside) == (250, 1)
    assert result.days_for_first_step == 1


def test_days_for_the_first_step_under_the_limit():
    def days(limit, outside, messages):
        return campaigns.Forecast(
            audience=messages,
            steps=[],
            currency=None,
            rate_card_date=None,
            rate_card_source="default",
            rate_card_sample=True,
            messaging_limit=limit,
            first_step_outside=outside,
            first_step_messages=messages,
            new_enrollment=True,
        ).days_for_first_step

    assert days(250, 1000, 1200) == 4
    assert days(250, 1001, 1200) == 5
    assert days(250, 0, 10) == 1  # all inside their window: one day
    assert days(250, 0, 0) == 0  # nothing sent
    assert days(None, 5000, 5000) is None  # no limit


def test_live_enrollments_forecast_as_the_same_tag_did(session, org_a):
    campaign, people = world(session, org_a.org_id)
    before = campaigns.forecast(session, campaign, tag="vip", now=NOW)
    enrolled = enrollment.enroll(session, campaign, tag="vip", now=NOW)
    assert enrolled.enrolled == 4
    live = campaigns.forecast(session, campaign, now=NOW)
    assert not live.new_enrollment and live.audience == 4
    assert figures(live) == figures(before) == EXPECTED_VIP
    # Enrolled already: a new enrollment of the tag would add nobody.
    assert campaigns.forecast(session, campaign, tag="vip", now=NOW).audience == 0
    # The uk contact moved on to step 3 (due in a day): counted from there only.
    uk = session.query(DripEnrollment).filter_by(contact_id=people["uk"].id).one()
    uk.current_step_id = live_steps(session, campaign)[2].id
    uk.next_send_at = NOW + timedelta(days=1)
    session.flush()
    moved = campaigns.forecast(session, campaign, now=NOW)
    assert [s.messages + s.stopped for s in moved.steps] == [3, 3, 4, 4]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"contact_ids": []}, "contactIds"),
        ({"contact_ids": ["1"]}, "contactIds"),
        ({"contact_ids": [2**63]}, "contactIds"),
        ({"contact_ids": [1], "tag": "vip"}, "contactIds"),
        ({"tag": "  "}, "tag"),
        ({"tag": "x" * 65}, "tag"),
        ({"search": {"q": " "}}, "search"),
    ],
)
def test_bad_targets_are_refused(session, org_a, kwargs, field):
    campaign, _ = world(session, org_a.org_id)
    with pytest.raises(ValidationError) as refused:
        campaigns.forecast(session, campaign, now=NOW, **kwargs)
    assert field in refused.value.fields


# --- the API -------------------------------------------------------------------------------


def api_world(app, org_id, **kwargs):
    with app.app_context():
        campaign, people = world(db.session, org_id, utcnow(), **kwargs)
        db.session.commit()
        return campaign.id, {k: v.id for k, v in people.items()}


def test_api_forecast_of_a_tag(clean_app, client, org_a):
    cid, _ = api_world(clean_app, org_a.org_id)
    answer = client.get(f"/api/drip-campaigns/{cid}/forecast?tag=vip", headers=org_a.auth)
    assert answer.status_code == 200
    data = answer.json["data"]
    assert data["audience"] == 4 and data["newEnrollment"] is True
    assert [
        (s["position"], s["category"], s["messages"], s["insideWindow"], s["billable"])
        for s in data["steps"]
    ] == [
        (1, "SERVICE", 4, 3, 1),
        (2, "UTILITY", 4, 2, 2),
        (3, "MARKETING", 4, 0, 4),
        (4, "SERVICE", 0, 0, 0),
    ]
    assert data["steps"][3]["stopped"] == 4
    assert data["totalCost"] == pytest.approx(0.1409)
    assert (data["currency"], data["rateCardDate"]) == ("USD", "2020-01-01")
    assert (data["messagingLimit"], data["daysForFirstStep"]) == (None, None)


def test_api_forecast_of_contact_ids_and_of_live_enrollments(clean_app, client, org_a):
    cid, people = api_world(clean_app, org_a.org_id)
    ids = f"{people['brazil']},{people['late']}"
    data = client.get(
        f"/api/drip-campaigns/{cid}/forecast?contactIds={ids}", headers=org_a.auth
    ).json["data"]
    assert data["audience"] == 2 and data["steps"][0]["billable"] == 1
    live = client.get(f"/api/drip-campaigns/{cid}/forecast", headers=org_a.auth).json["data"]
    assert live["audience"] == 0 and live["newEnrollment"] is False
    assert live["totalCost"] == 0


def test_api_forecast_of_another_organizations_campaign_is_404(clean_app, client, org_a, org_b):
    cid, _ = api_world(clean_app, org_b.org_id)
    answer = client.get(f"/api/drip-campaigns/{cid}/forecast?tag=vip", headers=org_a.auth)
    assert answer.status_code == 404


@pytest.mark.parametrize(
    "query", ["contactIds=1,x", "contactIds=", "contactIds=-3", "contactIds=1&tag=vip", "tag="]
)
def test_api_forecast_refuses_bad_targets(clean_app, client, org_a, query):
    cid, _ = api_world(clean_app, org_a.org_id)
    answer = client.get(f"/api/drip-campaigns/{cid}/forecast?{query}", headers=org_a.auth)
    assert answer.status_code == 422
    fields = answer.json["error"]["details"]["fields"]
    assert set(fields) <= {"contactIds", "tag"} and fields


def test_openapi_documents_the_forecast(clean_app, client):
    document = client.get("/api/openapi.json").json
    operation = document["paths"]["/api/drip-campaigns/{id}/forecast"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"id", "tag", "contactIds"}
    assert set(operation["responses"]) == {"200", "401", "404", "422"}


# --- the pages -----------------------------------------------------------------------------


def cells(html, position):
    row = re.search(rf'<tr id="forecast-step-{position}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]


def test_enroll_form_forecasts_before_enrolling(clean_app, client_a, org_a):
    cid, _ = api_world(clean_app, org_a.org_id)
    page = client_a.get(f"/campaigns/{cid}/enrollments").get_data(as_text=True)
    assert f'formaction="/campaigns/{cid}/enrollments/forecast"' in page
    answer = client_a.post(
        f"/campaigns/{cid}/enrollments/forecast",
        data={"target": "tag", "tag": "vip"},
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Forecast: if you enroll them now" in html
    assert "<strong>4 contacts</strong>" in html
    assert cells(html, 3) == ["3", "MARKETING", "4", "0", "4", "0", "4", "0.1235 + 1 unpriced"]
    assert cells(html, 1)[1] == "SERVICE, outside: UTILITY"
    assert cells(html, 4)[5] == "4"  # stopped
    assert 'id="forecast-cost">0.1409 USD' in html
    assert 'value="vip"' in html  # the form keeps the tag: Enroll enrolls the same people
    with clean_app.app_context():
        assert db.session.query(DripEnrollment).count() == 0  # nothing enrolled
    bad = client_a.post(
        f"/campaigns/{cid}/enrollments/forecast",
        data={"target": "ids", "contact_ids": "1, two"},
    )
    assert bad.status_code == 422 and "Not a contact id: two" in bad.get_data(as_text=True)


def test_review_page_shows_the_forecast_before_activating(clean_app, client_a, org_a):
    cid, _ = api_world(clean_app, org_a.org_id)
    with clean_app.app_context():
        campaign = db.session.get(DripCampaign, cid)
        enrollment.enroll(db.session, campaign, tag="vip")
        db.session.commit()
    show = client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert f'href="/campaigns/{cid}/review">Review and activate</a>' in show
    html = client_a.get(f"/campaigns/{cid}/review").get_data(as_text=True)
    assert "Review and activate" in html and "What activating sends" in html
    assert cells(html, 2)[2:7] == ["4", "2", "2", "0", "2"]
    assert "4 enrolled contacts would be stopped" in html
    assert '<input type="hidden" name="confirm" value="1">' in html
    with clean_app.app_context():
        assert db.session.get(DripCampaign, cid).status == "draft"  # the review changes nothing


def test_activation_confirm_shows_the_forecast(clean_app, client_a, org_a):
    cid, _ = api_world(clean_app, org_a.org_id)
    with clean_app.app_context():
        enrollment.enroll(db.session, db.session.get(DripCampaign, cid), tag="vip")
        db.session.commit()
    asked = client_a.post(f"/campaigns/{cid}/status", data={"action": "activate"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "4 enrolled contacts would be stopped" in html
    assert 'id="forecast"' in html
    assert cells(html, 1)[2:7] == ["4", "3", "1", "0", "1"]
    assert "No messaging limit is set" in html
