"""GET/PUT /api/rate-card and the settings page's "Prices" (SQLite and PostgreSQL)."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.models import AuditEvent, RateCardEntry
from tests.conftest import login, make_user

URL = "/api/rate-card"
PLAIN = (
    "market,category,price,currency,effective_from\n"
    "United Kingdom,MARKETING,0.0529,USD,2026-01-01\n"
    "United Kingdom,UTILITY,0.022,USD,2026-01-01\n"
)
META = (
    "WhatsApp Business Platform rate card (USD)\n"
    "\n"
    "Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service\n"
    "United Kingdom,USD,$0.0529,$0.0220,$0.0220,n/a,0\n"
    "Rest of Western Europe,USD,0.0592,0.0171,0.0171,,0\n"
)


def test_get_answers_the_default_card_without_rows(clean_app, org_a):
    body = clean_app.test_client().get(URL, headers=org_a.auth).get_json()["data"]
    assert body["source"] == "default" and body["sample"] is True
    assert body["effectiveDate"] == "2025-07-01" and "SAMPLE" in body["note"]
    uk = [r for r in body["rows"] if r["market"] == "United Kingdom"]
    assert {r["category"] for r in uk} == {"MARKETING", "UTILITY", "AUTHENTICATION", "SERVICE"}


def test_put_plain_csv_replaces_the_card_and_is_audited(clean_app, session, org_a):
    client = clean_app.test_client()
    headers = {**org_a.auth, "Content-Type": "text/csv"}
    response = client.put(URL, data=PLAIN, headers=headers)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert data["source"] == "organization" and len(data["rows"]) == 2
    assert client.put(URL, data=PLAIN, headers=headers).status_code == 200  # replaces
    rows = session.scalars(select(RateCardEntry)).all()
    assert len(rows) == 2
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "rate_card.replaced"))
    assert len(events.all()) == 2


def test_put_meta_csv_needs_a_date_and_reads_the_columns(clean_app, org_a):
    client = clean_app.test_client()
    headers = {**org_a.auth, "Content-Type": "text/csv"}
    missing = client.put(URL, data=META, headers=headers)
    assert missing.status_code == 422
    assert "effective_from" in missing.get_json()["error"]["message"]
    ok = client.put(URL + "?effectiveFrom=2026-04-01", data=META, headers=headers)
    assert ok.status_code == 200, ok.get_json()
    rows = ok.get_json()["data"]["rows"]
    assert len(rows) == 8
    uk = {r["category"]: r["price"] for r in rows if r["market"] == "United Kingdom"}
    assert uk == {"AUTHENTICATION": 0.022, "MARKETING": 0.0529, "SERVICE": 0, "UTILITY": 0.022}


def test_put_json_rows_and_errors_name_row_and_column(clean_app, org_a):
    client = clean_app.test_client()
    good = {"market": "Brazil", "category": "MARKETING", "price": 0.0625, "currency": "USD",
            "effectiveFrom": "2025-07-01"}  # fmt: skip
    assert client.put(URL, json={"rows": [good]}, headers=org_a.auth).status_code == 200
    for change, column in (
        ({"price": -1}, "price"),
        ({"price": "abc"}, "price"),
        ({"currency": "US"}, "currency"),
        ({"category": "PROMO"}, "category"),
        ({"effectiveFrom": "July"}, "effective_from"),
        ({"market": "x" * 65}, "market"),
    ):
        response = client.put(URL, json={"rows": [good, {**good, **change}]}, headers=org_a.auth)
        assert response.status_code == 422, change
        error = response.get_json()["error"]
        assert error["message"].startswith(f"Row 2, {column}:"), error
        camel = "effectiveFrom" if column == "effective_from" else column
        assert f"rows[2].{camel}" in error["details"]["fields"]
    bad_csv = PLAIN.replace("0.022,USD", "0.022,DOLLARS")
    response = client.put(URL, data=bad_csv, headers={**org_a.auth, "Content-Type": "text/csv"})
    assert response.get_json()["error"]["message"].startswith("Row 3, currency:")
    # Nothing changed by the refused ones.
    assert len(client.get(URL, headers=org_a.auth).get_json()["data"]["rows"]) == 1


def test_members_read_but_may_not_replace(clean_app, org_a):
    member = make_user(clean_app, org_a)
    client = clean_app.test_client()
    assert client.get(URL, headers=member.auth).status_code == 200
    response = client.put(URL, data=PLAIN, headers={**member.auth, "Content-Type": "text/csv"})
    assert response.status_code == 403
    browser = clean_app.test_client()
    login(browser, member.email)
    page = browser.get("/settings").get_data(as_text=True)
    assert 'id="prices"' in page and "sample rates" in page and 'id="prices-form"' not in page


def test_the_settings_page_loads_metas_csv(clean_app, session, client_a):
    page = client_a.get("/settings").get_data(as_text=True)
    assert 'id="prices-form"' in page and "the default card shipped with Drip" in page
    data = {"file": (io.BytesIO(META.encode()), "rates.csv"), "effective_from": "2026-04-01"}
    response = client_a.post("/settings/prices", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    page = client_a.get("/settings").get_data(as_text=True)
    assert "your organization's card" in page and "2026-04-01" in page
    bad = {"file": (io.BytesIO(PLAIN.replace("0.0529", "-2").encode()), "rates.csv")}
    response = client_a.post("/settings/prices", data=bad, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Row 2, price" in response.get_data(as_text=True)
