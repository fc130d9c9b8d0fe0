"""Pricing from status webhooks through the real signed route (SQLite and PostgreSQL): Meta's
pricing object stored on the log, the market from the contact's phone (Meta's regions), the
cost from the rate card on the message's date; repeats and order change nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from app.drip import pricing
from tests.conftest import login
from tests.integration.enrollment_world import NOW
from tests.integration.test_webhook import PHONE_A, log_by_wamid, post, status_body, world

UK, US, AT = "+447700900123", "+15550002222", "+436641234567"
WAMIDS = ("wamid.P1", "wamid.P2", "wamid.P3")


def status(wamid, state="delivered", *, billable=True, category="marketing", at=NOW):
    return {
        "id": wamid,
        "status": state,
        "timestamp": str(int(at.timestamp())),
        "recipient_id": "447700900123",
        "pricing": {
            "billable": billable,
            "pricing_model": "PMP",
            "type": "regular" if billable else "free_customer_service",
            "category": category,
        },
    }


def _batch():
    return status_body(
        PHONE_A,
        [
            status(WAMIDS[0]),  # UK, marketing
            status(WAMIDS[1], billable=False, category="utility"),  # US, free utility
            status(WAMIDS[2]),  # Austria: Rest of Western Europe
        ],
    )


def test_pricing_webhook_stores_pricing_market_and_cost(clean_app, session, org_a):
    world(session, org_a.org_id, wamids=WAMIDS, phones=(UK, US, AT))
    client = clean_app.test_client()
    assert post(client, _batch()).status_code == 200
    card = pricing.default_card()
    uk = log_by_wamid(session, WAMIDS[0])
    assert (uk.pricing_billable, uk.pricing_model, uk.pricing_type) == (True, "PMP", "regular")
    assert (uk.pricing_category, uk.market) == ("MARKETING", "United Kingdom")
    expected = card.price("United Kingdom", "MARKETING", NOW.date())
    assert expected is not None and expected.amount > 0
    assert (uk.cost, uk.currency) == (expected.amount, expected.currency)
    us = log_by_wamid(session, WAMIDS[1])
    assert (us.pricing_billable, us.pricing_category, us.market) == (
        False,
        "UTILITY",
        "North America",
    )
    assert us.cost == Decimal(0) and us.currency == "USD"
    at = log_by_wamid(session, WAMIDS[2])
    assert at.market == "Rest of Western Europe"
    assert at.cost == card.price("Rest of Western Europe", "MARKETING", NOW.date()).amount


def test_replays_and_order_do_not_change_the_cost(clean_app, session, org_a):
    world(session, org_a.org_id, wamids=WAMIDS, phones=(UK, US, AT))
    client = clean_app.test_client()
    for _ in range(3):
        assert post(client, _batch()).status_code == 200
    first = [(log_by_wamid(session, w).cost, log_by_wamid(session, w).market) for w in WAMIDS]
    # A "sent" with the same pricing coming late (earlier time) and the read: nothing changes.
    late = [status(WAMIDS[0], "sent", at=NOW - timedelta(seconds=5)), status(WAMIDS[0], "read")]
    assert post(client, status_body(PHONE_A, late)).status_code == 200
    session.expire_all()
    again = [(log_by_wamid(session, w).cost, log_by_wamid(session, w).market) for w in WAMIDS]
    assert again == first


def test_the_organizations_own_card_and_its_dates(clean_app, session, org_a):
    world(session, org_a.org_id, wamids=WAMIDS, phones=(UK, US, AT))
    day = NOW.date()
    rows = [
        {
            "market": "United Kingdom",
            "category": "MARKETING",
            "price": "0.5",
            "currency": "GBP",
            "effective_from": (day - timedelta(days=30)).isoformat(),
        },
        {
            "market": "United Kingdom",
            "category": "MARKETING",
            "price": "0.7",
            "currency": "GBP",
            "effective_from": (day + timedelta(days=1)).isoformat(),
        },
    ]
    pricing.replace_rate_card(session, org_a.org_id, rows)
    session.commit()
    assert post(clean_app.test_client(), _batch()).status_code == 200
    uk = log_by_wamid(session, WAMIDS[0])
    assert (uk.cost, uk.currency) == (Decimal("0.5"), "GBP")
    # Austria has no row in the organization's card: no cost, but the pricing is kept.
    at = log_by_wamid(session, WAMIDS[2])
    assert at.cost is None and at.pricing_category == "MARKETING"


def test_default_card_is_used_without_rows_of_the_organization(clean_app, session, org_a):
    card = pricing.rate_card(session, org_a.org_id)
    assert card.source == pricing.DEFAULT_SOURCE and card.sample
    assert card.effective_date == date(2025, 7, 1)
    assert card.price("North America", "SERVICE", date(2026, 1, 1)).amount == 0


def test_funnel_engagement_series_csv_and_dashboard_show_the_cost(clean_app, session, org_a):
    campaign, _, _ = world(session, org_a.org_id, wamids=WAMIDS, phones=(UK, US, AT))
    client = clean_app.test_client()
    base = f"/api/drip-campaigns/{campaign.id}/analytics"
    before = client.get(base + "?type=engagement", headers=org_a.auth).get_json()["data"]
    assert before["cost"] is None and before["costPerRead"] is None
    assert post(client, _batch()).status_code == 200
    card = pricing.default_card()
    uk = card.price("United Kingdom", "MARKETING", NOW.date()).amount
    at = card.price("Rest of Western Europe", "MARKETING", NOW.date()).amount
    total = float(uk + at)
    funnel = client.get(base + "?type=funnel", headers=org_a.auth).get_json()["data"]
    assert funnel["currency"] == "USD" and abs(funnel["cost"] - total) < 1e-9
    costs = [s["cost"] for s in funnel["steps"]]
    assert [c for c in costs if c is not None] == [float(uk), 0, float(at)]
    engagement = client.get(base + "?type=engagement", headers=org_a.auth).get_json()["data"]
    assert abs(engagement["cost"] - total) < 1e-9 and engagement["currency"] == "USD"
    day = NOW.date().isoformat()
    series = client.get(
        base + f"?type=timeseries&from={day}&to={day}", headers=org_a.auth
    ).get_json()["data"]
    assert abs(series["days"][0]["cost"] - total) < 1e-9 and series["currency"] == "USD"
    csv_text = client.get(base + "?type=funnel&format=csv", headers=org_a.auth).get_data(True)
    assert ",cost,currency," in csv_text.splitlines()[0] + ","
    assert f"{uk:.6f},USD" in csv_text
    assert login(client, org_a.email).status_code == 302
    page = client.get(f"/campaigns/{campaign.id}/analytics").get_data(as_text=True)
    assert 'id="spend"' in page and f"USD {uk + at:,.4f}" in page
