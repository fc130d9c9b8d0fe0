"""No browser or shared cache keeps an answer to an authenticated request: the one-time API key
page above all, every logged-in page and error, and every API answer to a key or a session.
Public answers (login page, short links, static files, plotly.js) keep their own caching."""

from __future__ import annotations

import re

from app.extensions import db
from app.models import Link


def no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def test_the_one_time_api_key_page_is_never_stored(client_a):
    response = client_a.post("/settings/api-keys", data={"name": "Reporting"})
    assert response.status_code == 201
    assert re.search(r"drip_[\w-]{20,}", response.get_data(as_text=True))  # the key is shown
    assert response.headers["Cache-Control"] == "no-store"


def test_logged_in_pages_and_errors_are_never_stored(client_a):
    for url in ("/", "/contacts/", "/campaigns/", "/settings/", "/analytics", "/campaigns/999"):
        response = client_a.get(url)
        assert response.status_code in (200, 302, 404), url
        assert response.headers["Cache-Control"] == "no-store", url


def test_api_answers_to_a_key_or_a_session_are_never_stored(clean_app, client_a, org_a):
    api = clean_app.test_client()
    for response in (
        api.get("/api/contacts", headers=org_a.auth),
        client_a.get("/api/contacts"),
        api.get("/api/drip-campaigns/999", headers=org_a.auth),
    ):
        assert response.headers["Cache-Control"] == "no-store"


def test_public_answers_keep_their_caching(clean_app, org_a, client_a):
    with clean_app.app_context():
        db.session.add(
            Link(organization_id=org_a.org_id, code="cachecheck1", url="https://x.test/")
        )
        db.session.commit()
    anonymous = clean_app.test_client()
    plotly = next(
        r.rule for r in clean_app.url_map.iter_rules() if r.endpoint.endswith("plotly_js")
    )
    assert not no_store(anonymous.get("/login"))
    assert not no_store(client_a.get("/static/css/drip.css"))  # logged in, still cacheable
    assets = client_a.get(plotly)
    assert "immutable" in assets.headers["Cache-Control"] and not no_store(assets)
    # A short link is no-store of its own accord (every follow must be counted).
    assert anonymous.get("/l/cachecheck1").headers["Cache-Control"] == "no-store"
