"""Login, logout, and that every route needs a login or a key unless it is public."""

from __future__ import annotations

import re

import pytest

from app import create_app
from app.config import TestConfig
from tests.conftest import TEST_PASSWORD, login

# Reachable without a login; everything else in url_map must refuse an anonymous caller.
PUBLIC_ENDPOINTS = {"static", "auth.login", "openapi.document", "analytics.plotly_js"}


def protected_rules(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in PUBLIC_ENDPOINTS or getattr(view, "drip_public", False):
            continue
        yield rule


def fill(rule) -> str:
    """A URL for the rule with 1 for every argument: auth is checked before any lookup."""
    return rule.build({arg: 1 for arg in rule.arguments})[1]


def methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def test_public_endpoints_are_only_the_known_ones(clean_app):
    public = {
        rule.endpoint
        for rule in clean_app.url_map.iter_rules()
        if getattr(clean_app.view_functions[rule.endpoint], "drip_public", False)
    }
    # Adding a public route is a decision: name it here.
    assert public <= PUBLIC_ENDPOINTS | {"webhooks.whatsapp", "cron.drip_processor", "links.follow"}


def test_every_page_redirects_anonymous_users_to_login(clean_app):
    client = clean_app.test_client()
    checked = 0
    for rule in protected_rules(clean_app):
        if rule.rule.startswith("/api"):
            continue
        for method in methods(rule):
            response = client.open(fill(rule), method=method)
            assert response.status_code == 302, (method, rule.rule, response.status_code)
            assert "/login" in response.headers["Location"], rule.rule
            checked += 1
    assert checked >= 6


def test_every_api_route_answers_401_json_without_credentials(clean_app):
    client = clean_app.test_client()
    checked = 0
    for rule in protected_rules(clean_app):
        if not rule.rule.startswith("/api"):
            continue
        for method in methods(rule):
            response = client.open(fill(rule), method=method, json={})
            assert response.status_code == 401, (method, rule.rule)
            assert response.json["error"]["code"] == "unauthorized"
            checked += 1
    assert checked >= 3


def test_api_rejects_a_wrong_or_malformed_bearer(clean_app, org_a):
    client = clean_app.test_client()
    for header in ("Bearer drip_not-a-key", "Bearer ", "Basic abc", org_a.api_key):
        response = client.get("/api/api-keys", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json["error"]["code"] == "unauthorized"


def test_login_with_the_right_password_opens_the_dashboard(clean_app, org_a):
    client = clean_app.test_client()
    assert client.get("/login").status_code == 200
    response = login(client, org_a.email)
    assert response.status_code == 302
    page = client.get("/campaigns")
    assert page.status_code == 200
    assert org_a.email.encode() in page.data


def test_login_with_a_wrong_password_is_refused(clean_app, org_a):
    client = clean_app.test_client()
    response = login(client, org_a.email, "wrong password")
    assert response.status_code == 400
    assert b"Wrong email or password" in response.data
    assert client.get("/campaigns").status_code == 302
    response = login(client, "nobody@example.com", TEST_PASSWORD)
    assert b"Wrong email or password" in response.data


def test_email_is_case_insensitive(clean_app, org_a):
    client = clean_app.test_client()
    assert login(client, org_a.email.upper()).status_code == 302


def test_logout_ends_the_session(client_a):
    assert client_a.get("/campaigns").status_code == 200
    assert client_a.post("/logout").status_code == 302
    assert client_a.get("/campaigns").status_code == 302


def test_next_only_redirects_within_the_site(clean_app, org_a):
    client = clean_app.test_client()
    response = client.post(
        "/login?next=/settings/", data={"email": org_a.email, "password": TEST_PASSWORD}
    )
    assert response.headers["Location"].endswith("/settings/")
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client = clean_app.test_client()
        response = client.post(
            "/login",
            query_string={"next": evil},
            data={"email": org_a.email, "password": TEST_PASSWORD},
        )
        assert "evil" not in response.headers["Location"], evil


def test_session_cookie_is_httponly_and_samesite(clean_app, org_a):
    client = clean_app.test_client()
    response = login(client, org_a.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


@pytest.fixture
def csrf_app(app):
    """The same database with CSRF protection on, as in production."""
    config = TestConfig(database_url=app.config["SQLALCHEMY_DATABASE_URI"], csrf_enabled=True)
    return create_app(config)


def csrf_token_from(html: bytes) -> str:
    return re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1).decode()


def test_forms_refuse_a_post_without_the_csrf_token(csrf_app, clean_app, org_a):
    client = csrf_app.test_client()
    response = client.post("/login", data={"email": org_a.email, "password": TEST_PASSWORD})
    assert client.get("/campaigns").status_code == 302  # not logged in
    token = csrf_token_from(client.get("/login").data)
    response = client.post(
        "/login", data={"email": org_a.email, "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert client.get("/campaigns").status_code == 200
    # Logged in, a settings form without the token changes nothing.
    response = client.post("/settings/api-keys", data={"name": "sneaky"})
    assert response.status_code == 400
    assert b"Your form expired or was sent from another site" in response.data
    assert b"sneaky" not in client.get("/settings/").data


def test_session_api_writes_need_the_csrf_header(csrf_app, clean_app, org_a):
    client = csrf_app.test_client()
    page = client.get("/login")
    token = csrf_token_from(page.data)
    client.post(
        "/login", data={"email": org_a.email, "password": TEST_PASSWORD, "csrf_token": token}
    )
    response = client.post("/api/api-keys", json={"name": "from the browser"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "csrf_failed"
    response = client.post(
        "/api/api-keys", json={"name": "from the browser"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 201
    # Bearer callers are not browsers: no CSRF token needed. (Not on /api/api-keys: an API
    # key cannot create keys, tests/integration/test_role_rules.py.)
    response = client.post("/api/drip-campaigns", json={"name": "script"}, headers=org_a.auth)
    assert response.status_code == 201
