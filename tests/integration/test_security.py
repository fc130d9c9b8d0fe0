"""Security headers on every response, pages without inline script, and the session cookie's
flags. (The browser check that the pages work under the CSP is tests/browser/test_csp.py.)"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app import create_app
from app.config import Config, TestConfig
from app.extensions import db
from app.models import Link
from app.security import CONTENT_SECURITY_POLICY
from tests.conftest import TEST_PASSWORD, login
from tests.integration.test_auth import PUBLIC_ENDPOINTS
from tests.integration.test_isolation import build, rows_of_org

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def csp_directives(value: str) -> dict[str, list[str]]:
    directives = {}
    for part in value.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_security_headers(response, url):
    assert response.headers.get("Content-Security-Policy") == CONTENT_SECURITY_POLICY, url
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (url, name)


def test_the_policy_runs_only_our_own_scripts():
    csp = csp_directives(CONTENT_SECURITY_POLICY)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no CDN
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]  # plotly.js styles its elements
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]


def test_every_kind_of_response_carries_the_headers(clean_app, client_a, org_a):
    anonymous = clean_app.test_client()
    plotly = next(
        r.rule for r in clean_app.url_map.iter_rules() if r.endpoint.endswith("plotly_js")
    )
    responses = {
        "login page": anonymous.get("/login"),
        "redirect to login": anonymous.get("/campaigns/"),
        "page": client_a.get("/campaigns/"),
        "404 page": client_a.get("/no-such-page"),
        "static file": client_a.get("/static/css/drip.css"),
        "plotly.js": anonymous.get(plotly),
        "api answer": client_a.get("/api/drip-campaigns", headers=org_a.auth),
        "api 401": anonymous.get("/api/drip-campaigns"),
        "api 404": anonymous.get("/api/drip-campaigns/999", headers=org_a.auth),
        "openapi": anonymous.get("/api/openapi.json"),
    }
    for name, response in responses.items():
        assert_security_headers(response, name)


def test_authenticated_api_answers_are_never_stored(clean_app, client_a, org_a):
    api = clean_app.test_client()
    for response in (
        api.get("/api/drip-campaigns", headers=org_a.auth),  # API key
        client_a.get("/api/drip-campaigns"),  # session
        api.get("/api/drip-campaigns/999", headers=org_a.auth),  # an error is data too
        api.post("/api/api-keys", json={"name": "k"}, headers=org_a.auth),
    ):
        assert response.headers["Cache-Control"] == "no-store"
    # Public, immutable assets keep their long cache.
    css = api.get("/static/css/drip.css")
    assert "no-store" not in css.headers.get("Cache-Control", "")


def test_a_view_keeps_a_stricter_header_of_its_own(clean_app, org_a):
    with clean_app.app_context():
        db.session.add(Link(organization_id=org_a.org_id, code="refcheck01", url="https://x.test/"))
        db.session.commit()
    response = clean_app.test_client().get("/l/refcheck01")
    assert response.status_code == 302
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


# --- no inline script: what the CSP would block ---------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def test_templates_hold_no_inline_script_or_event_handler():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, re.compile(r"javascript:", re.I)):
            offenders += [
                f"{path.relative_to(TEMPLATES)}: {m.group(0)!r}" for m in pattern.finditer(text)
            ]
    assert offenders == []


class ScriptFinder(HTMLParser):
    """Collects what a strict CSP refuses: inline scripts, on* attributes, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script" and not values.get("src") and values.get("type") != "application/json":
            self.problems.append("inline <script>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")


def html_get_rules(app):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if (
            "GET" in rule.methods
            and not rule.rule.startswith("/api")
            and rule.endpoint not in PUBLIC_ENDPOINTS
            and not getattr(view, "drip_public", False)
            and "<fmt>" not in rule.rule  # chart images: Chromium renders them, no HTML
        ):
            yield rule


def test_every_rendered_page_is_free_of_inline_script(clean_app, org_a, client_a):
    with clean_app.app_context():
        ids = rows_of_org(org_a)
    checked = 0
    for rule in html_get_rules(clean_app):
        url = build(rule, ids)
        response = client_a.get(url, follow_redirects=True)
        if response.mimetype != "text/html":
            continue
        finder = ScriptFinder()
        finder.feed(response.get_data(as_text=True))
        assert finder.problems == [], (url, finder.problems)
        checked += 1
    assert checked >= 10


# --- session cookies ------------------------------------------------------------------------


def cookies_of(response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


def login_remembered(client, email):
    return client.post("/login", data={"email": email, "password": TEST_PASSWORD, "remember": "y"})


def test_cookies_are_httponly_lax_and_not_secure_over_plain_http(clean_app, org_a):
    cookies = cookies_of(login_remembered(clean_app.test_client(), org_a.email))
    assert set(cookies) >= {"session", "remember_token"}
    for name in ("session", "remember_token"):
        assert "HttpOnly" in cookies[name], name
        assert "SameSite=Lax" in cookies[name], name
        assert "Secure" not in cookies[name], name


@pytest.fixture
def https_app(app):
    """The same database, configured as behind HTTPS (SESSION_COOKIE_SECURE=1)."""
    config = TestConfig(
        database_url=app.config["SQLALCHEMY_DATABASE_URI"], session_cookie_secure=True
    )
    return create_app(config)


def test_cookies_are_secure_behind_https(https_app, clean_app, org_a):
    client = https_app.test_client()
    cookies = cookies_of(login_remembered(client, org_a.email))
    for name in ("session", "remember_token"):
        assert "Secure" in cookies[name], name
        assert "HttpOnly" in cookies[name], name
        assert "SameSite=Lax" in cookies[name], name
    assert "Secure" in cookies_of(login(https_app.test_client(), org_a.email))["session"]


def test_session_cookie_secure_comes_from_the_environment(tmp_path):
    secure = Config.from_env({"SESSION_COOKIE_SECURE": "1", "SECRET_KEY": "k"}).flask_settings(
        tmp_path
    )
    assert secure["SESSION_COOKIE_SECURE"] is True
    assert secure["REMEMBER_COOKIE_SECURE"] is True
    plain = Config.from_env({"SECRET_KEY": "k"}).flask_settings(tmp_path)
    assert plain["SESSION_COOKIE_SECURE"] is False
    assert plain["REMEMBER_COOKIE_SECURE"] is False
    for settings in (secure, plain):
        assert settings["SESSION_COOKIE_HTTPONLY"] is True
        assert settings["REMEMBER_COOKIE_HTTPONLY"] is True
        assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
        assert settings["REMEMBER_COOKIE_SAMESITE"] == "Lax"
