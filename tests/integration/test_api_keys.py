"""API keys: created and shown once, stored hashed, accepted as Bearer, revocable."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import ApiKey, Organization


def test_key_is_shown_once_and_works_as_bearer(clean_app, client_a):
    created = client_a.post("/api/api-keys", json={"name": "Zapier"})
    assert created.status_code == 201
    token = created.json["data"]["key"]
    assert token.startswith("drip_")
    listing = client_a.get("/api/api-keys").json["data"]
    assert {k["name"] for k in listing} == {"test key", "Zapier"}
    assert all("key" not in k for k in listing)
    assert token not in client_a.get("/settings/").get_data(as_text=True)

    api = clean_app.test_client()
    response = api.get("/api/api-keys", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    used = next(k for k in response.json["data"] if k["name"] == "Zapier")
    assert used["lastUsedAt"] is not None


def test_only_a_hash_is_stored(clean_app, org_a):
    with clean_app.app_context():
        stored = db.session.scalars(select(ApiKey)).all()
        assert len(stored) == 1
        assert org_a.api_key not in (stored[0].key_hash, stored[0].prefix)
        assert len(stored[0].key_hash) == 64


def test_revoked_key_is_refused(clean_app, org_a):
    api = clean_app.test_client()
    assert api.get("/api/api-keys", headers=org_a.auth).status_code == 200
    revoked = api.delete(f"/api/api-keys/{org_a.api_key_id}", headers=org_a.auth)
    assert revoked.status_code == 200
    assert revoked.json["data"]["revokedAt"] is not None
    response = api.get("/api/api-keys", headers=org_a.auth)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_settings_page_creates_and_revokes(clean_app, client_a):
    response = client_a.post("/settings/api-keys", data={"name": "Reporting"})
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    token = html.split('id="new-api-key">')[1].split("<")[0]
    assert token.startswith("drip_")
    # Shown once: the next view of the page does not have it.
    assert token not in client_a.get("/settings/").get_data(as_text=True)
    with clean_app.app_context():
        key_id = db.session.scalar(select(ApiKey.id).where(ApiKey.name == "Reporting"))
    api = clean_app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/api-keys", headers=bearer).status_code == 200
    response = client_a.post(f"/settings/api-keys/{key_id}/revoke", follow_redirects=True)
    assert "revoked" in response.get_data(as_text=True)
    assert api.get("/api/api-keys", headers=bearer).status_code == 401


def test_bad_bodies_are_clear_errors(client_a):
    response = client_a.post("/api/api-keys", data="not json", content_type="text/plain")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_request"
    response = client_a.post("/api/api-keys", json={"name": ["list"]})
    assert response.status_code == 422
    assert "name" in response.json["error"]["details"]["fields"]
    response = client_a.post("/api/api-keys", json={"name": "x" * 121})
    assert response.status_code == 422


def test_organization_defaults_are_editable(clean_app, client_a, org_a):
    response = client_a.post(
        "/settings/organization", data={"default_region": "gb", "timezone": "Europe/London"}
    )
    assert response.status_code == 302
    with clean_app.app_context():
        org = db.session.get(Organization, org_a.org_id)
        assert (org.default_region, org.timezone) == ("GB", "Europe/London")
    # A local UK number is now read as +44.
    created = client_a.post("/api/contacts", json={"phone": "020 7946 0123"})
    assert created.json["data"]["phone"] == "+442079460123"
    bad = client_a.post(
        "/settings/organization", data={"default_region": "XX", "timezone": "Nowhere/City"}
    )
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "two-letter country code" in page and "IANA" in page
