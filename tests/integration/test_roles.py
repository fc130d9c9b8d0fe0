"""Roles over every route of app.url_map: admins manage the organization (settings, WhatsApp
account, API keys, users); members run campaigns, contacts and A/B tests.

A member (signed in, or through a key they created) gets 403 on every admin-only route and
nothing changes; an admin (signed in, a key an admin created, a command-line key) does not; a
member gets no 403 anywhere else. The routes are read from the app, as the isolation test
does, so a route added later is covered without touching this file.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.drip import accounts
from app.extensions import db
from app.models import ApiKey, Organization, WhatsAppAccount
from tests.conftest import login, make_user
from tests.integration.test_auth import methods, protected_rules
from tests.integration.test_isolation import build, rows_of_org

# Every route of these blueprints is an admin's, but for the ones members may read.
ADMIN_AREAS = {"settings", "api_keys"}
MEMBER_READABLE = {"settings.index"}
# Routes an API key may not call even as an admin: a key made by a key would outlive it.
NOT_FOR_KEYS = {"api_keys.create_key"}


def admin_only_rules(app):
    """Rules that need an admin: those of ADMIN_AREAS and any view marked @admin_only."""
    for rule in protected_rules(app):
        area = rule.endpoint.split(".")[0]
        marked = getattr(app.view_functions[rule.endpoint], "drip_admin_only", None)
        if (area in ADMIN_AREAS and rule.endpoint not in MEMBER_READABLE) or marked:
            yield rule


def other_rules(app):
    """The rest, but logging out (it would end the walking member's session)."""
    admin = {rule.endpoint for rule in admin_only_rules(app)}
    return [
        rule
        for rule in protected_rules(app)
        if rule.endpoint not in admin and not rule.endpoint.startswith("auth.logout")
    ]


def fresh_ids(org, n: int) -> dict[str, int]:
    """Rows of every kind, and a spare key: a revoke tried on a route revokes that one."""
    ids = rows_of_org(org, n)
    key, _token = accounts.create_api_key(db.session, org.org_id, f"spare {n}")
    db.session.commit()
    return {**ids, "key_id": key.id}


def callers(url: str, session_client, key_auth: dict, api) -> list:
    if url.startswith("/api/"):
        return [(session_client, {}), (api, key_auth)]
    return [(session_client, {})]


def assert_refused(response, where) -> None:
    assert response.status_code == 403, (where, response.status_code)
    if where[1].startswith("/api/"):
        assert response.json["error"]["code"] == "forbidden", where
        assert response.json["error"]["message"].startswith("Only an admin can"), where
    else:
        assert b"Only an admin can" in response.data, where
        assert b"Traceback" not in response.data, where


def key_state(org_id: int) -> list[tuple]:
    keys = db.session.scalars(select(ApiKey).where(ApiKey.organization_id == org_id))
    return sorted((k.id, k.name, k.created_by_user_id, k.revoked_at) for k in keys)


def org_state(org_id: int) -> tuple:
    org = db.session.get(Organization, org_id)
    account = db.session.scalar(select(WhatsAppAccount.id))
    return org.default_region, org.timezone, account, key_state(org_id)


@pytest.fixture
def member_a(clean_app, org_a):
    return make_user(clean_app, org_a, "member")


@pytest.fixture
def member_client(clean_app, member_a):
    client = clean_app.test_client()
    assert login(client, member_a.email).status_code == 302
    return client


def test_the_admin_areas_are_marked_admin_only(clean_app):
    """A route added to settings or the keys API later is an admin's unless named above."""
    rules = list(admin_only_rules(clean_app))
    assert {rule.endpoint for rule in rules} >= {
        "settings.save_organization",
        "settings.create_api_key",
        "settings.revoke_api_key",
        "settings.save_whatsapp",
        "api_keys.list_keys",
        "api_keys.create_key",
        "api_keys.revoke_key",
    }
    unmarked = [
        rule.endpoint
        for rule in rules
        if not getattr(clean_app.view_functions[rule.endpoint], "drip_admin_only", None)
    ]
    assert not unmarked, f"mark these @admin_only: {unmarked}"


def test_a_member_gets_403_on_every_admin_route_and_nothing_changes(
    clean_app, org_a, member_a, member_client
):
    api = clean_app.test_client()
    with clean_app.app_context():
        ids = fresh_ids(org_a, 1)
        ids["key_id"] = org_a.api_key_id  # the admin's own key
        before = org_state(org_a.org_id)
    checked = 0
    for rule in admin_only_rules(clean_app):
        url = build(rule, ids)
        for method in methods(rule):
            for client, headers in callers(url, member_client, member_a.auth, api):
                body = {"name": "sneaky", "phone_number_id": "123", "access_token": "t"}
                response = client.open(url, method=method, headers=headers, json=body)
                assert_refused(response, (method, url))
                checked += 1
    assert checked >= 9
    with clean_app.app_context():
        assert org_state(org_a.org_id) == before


def test_an_admin_is_not_refused_on_admin_routes(clean_app, org_a, client_a):
    """Signed in, through a key an admin created, and through a command-line key."""
    admin_key = make_user(clean_app, org_a, "admin", label="second-admin")
    api = clean_app.test_client()
    checked = 0
    for n, rule in enumerate(admin_only_rules(clean_app), start=1):
        for method in methods(rule):
            with clean_app.app_context():
                url = build(rule, fresh_ids(org_a, n * 10 + checked % 10))
            keys = [admin_key.auth, org_a.auth] if url.startswith("/api/") else []
            response = client_a.open(url, method=method, json={"name": "by an admin"})
            assert response.status_code != 403, (method, url)
            for auth in keys:
                response = api.open(url, method=method, headers=auth, json={"name": "k"})
                if rule.endpoint in NOT_FOR_KEYS:
                    assert response.status_code == 403, (method, url)
                    assert "API key cannot" in response.json["error"]["message"]
                else:
                    assert response.status_code != 403, (method, url, response.json)
            checked += 1
    assert checked >= 7


def test_a_member_is_not_refused_anywhere_else(clean_app, org_a, member_a, member_client):
    api = clean_app.test_client()
    checked = 0
    for n, rule in enumerate(other_rules(clean_app), start=1):
        for method in methods(rule):
            with clean_app.app_context():
                url = build(rule, rows_of_org(org_a, n * 10 + checked % 10))
            for client, headers in callers(url, member_client, member_a.auth, api):
                response = client.open(url, method=method, headers=headers, json={})
                assert response.status_code not in (401, 403), (method, url, headers)
                checked += 1
    assert checked >= 60


def test_another_organizations_ids_answer_404_not_403(clean_app, org_a, org_b):
    """Role 403s are for the caller's own organization: A's key ids stay 404 to B's member."""
    member_b = make_user(clean_app, org_b, "member")
    client = clean_app.test_client()
    assert login(client, member_b.email).status_code == 302
    api = clean_app.test_client()
    checked = 0
    for rule in admin_only_rules(clean_app):
        if not rule.arguments:
            continue
        url = build(rule, {"key_id": org_a.api_key_id})
        for method in methods(rule):
            for caller, headers in callers(url, client, member_b.auth, api):
                response = caller.open(url, method=method, headers=headers, json={})
                assert response.status_code == 404, (method, url, response.status_code)
                checked += 1
    assert checked >= 3


def test_the_settings_page_shows_a_member_no_admin_forms(clean_app, member_client, client_a):
    page = member_client.get("/settings/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Only an admin can" in html
    for action in ("/settings/organization", "/settings/api-keys", "/settings/whatsapp"):
        assert f'action="{action}' not in html, action
    assert "test key" not in html  # nor the keys' names
    admin_html = client_a.get("/settings/").get_data(as_text=True)
    for action in ("/settings/organization", "/settings/api-keys", "/settings/whatsapp"):
        assert f'action="{action}' in admin_html, action
