"""The roles' rules one by one: what a member cannot do, whose role an API key carries, and
that removing a user revokes the keys they made."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.drip import accounts
from app.drip.errors import Conflict, NotFound
from app.extensions import db
from app.models import ApiKey, User, WhatsAppAccount
from tests.conftest import login, make_user


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def signed_in(app, email):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def key_count(app, org_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(ApiKey).where(ApiKey.organization_id == org_id)
        )


def test_a_member_cannot_create_a_key(clean_app, org_a):
    member = make_user(clean_app, org_a, "member")
    client = signed_in(clean_app, member.email)
    before = key_count(clean_app, org_a.org_id)
    assert client.post("/settings/api-keys", data={"name": "mine"}).status_code == 403
    assert client.post("/api/api-keys", json={"name": "mine"}).status_code == 403
    api = clean_app.test_client()
    response = api.post("/api/api-keys", json={"name": "mine"}, headers=member.auth)
    assert response.status_code == 403
    assert response.json["error"] == {
        "code": "forbidden",
        "message": "Only an admin can manage API keys.",
    }
    assert key_count(clean_app, org_a.org_id) == before


def test_a_member_cannot_replace_the_whatsapp_credentials(clean_app, org_a):
    with clean_app.app_context():
        box = clean_app.extensions["drip_secret_box"]
        account = WhatsAppAccount(
            organization_id=org_a.org_id,
            phone_number_id="106540352242922",
            access_token_encrypted=box.encrypt("the-real-token"),
            app_secret_encrypted=box.encrypt("the-real-secret"),
        )
        db.session.add(account)
        db.session.commit()
        before = account.access_token_encrypted
    member = make_user(clean_app, org_a, "member")
    form = {
        "phone_number_id": "999999999999",
        "access_token": "attacker-token",
        "app_secret": "attacker-secret",
        "api_base_url": "https://attacker.example",
    }
    response = signed_in(clean_app, member.email).post("/settings/whatsapp", data=form)
    assert response.status_code == 403
    assert "Only an admin can change the WhatsApp account." in response.get_data(as_text=True)
    with clean_app.app_context():
        account = db.session.scalar(select(WhatsAppAccount))
        assert (account.phone_number_id, account.access_token_encrypted) == (
            "106540352242922",
            before,
        )
        assert account.api_base_url == "https://graph.facebook.com"


def test_a_member_cannot_revoke_an_admins_key(clean_app, org_a):
    member = make_user(clean_app, org_a, "member")
    client = signed_in(clean_app, member.email)
    api = clean_app.test_client()
    key_id = org_a.api_key_id
    assert client.post(f"/settings/api-keys/{key_id}/revoke").status_code == 403
    assert client.delete(f"/api/api-keys/{key_id}").status_code == 403
    assert api.delete(f"/api/api-keys/{key_id}", headers=member.auth).status_code == 403
    with clean_app.app_context():
        assert db.session.get(ApiKey, key_id).revoked_at is None
    assert api.get("/api/drip-campaigns", headers=org_a.auth).status_code == 200


def test_a_key_acts_with_its_creators_role_as_it_is_now(clean_app, org_a):
    member = make_user(clean_app, org_a, "member")
    api = clean_app.test_client()
    # A member's key runs campaigns but manages nothing.
    assert api.get("/api/drip-campaigns", headers=member.auth).status_code == 200
    created = api.post("/api/contacts", json={"phone": "+12025550160"}, headers=member.auth)
    assert created.status_code == 201
    assert api.get("/api/api-keys", headers=member.auth).status_code == 403
    # The role is read at each request: promoting the creator promotes their keys, and back.
    for role, status in (("admin", 200), ("member", 403)):
        with clean_app.app_context():
            db.session.get(User, member.user_id).role = role
            db.session.commit()
        assert api.get("/api/api-keys", headers=member.auth).status_code == status, role


def test_a_key_whose_creator_is_in_another_organization_acts_as_a_member(clean_app, org_a, org_b):
    """A key never gains rights from its creator: one that is not in the key's organization
    (only possible by editing rows by hand) leaves the key a member's."""
    outsider = make_user(clean_app, org_b, "admin", label="outsider")
    with clean_app.app_context():
        key, token = accounts.create_api_key(
            db.session, org_a.org_id, "odd", user_id=outsider.user_id
        )
        db.session.commit()
        assert accounts.api_key_role(db.session, key) == "member"
    api = clean_app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/api-keys", headers=auth).status_code == 403
    assert api.get("/api/drip-campaigns", headers=auth).status_code == 200


def test_a_command_line_key_acts_as_an_admin(clean_app, org_a):
    member = make_user(clean_app, org_a, "member")
    result = run(clean_app, "create-api-key", "--org", org_a.name, "--name", "operator")
    assert result.exit_code == 0, result.output
    auth = {"Authorization": f"Bearer {result.output.strip().splitlines()[-1]}"}
    api = clean_app.test_client()
    assert api.get("/api/api-keys", headers=auth).status_code == 200
    assert api.delete(f"/api/api-keys/{member.api_key_id}", headers=auth).status_code == 200


def test_an_api_key_cannot_create_keys(clean_app, org_a):
    """Not even an admin's or the operator's: a key made by a key would outlive its maker's
    revocation. Keys are made by a signed-in admin or on the command line."""
    admin = make_user(clean_app, org_a, "admin", label="second-admin")
    api = clean_app.test_client()
    before = key_count(clean_app, org_a.org_id)
    for auth in (org_a.auth, admin.auth):
        response = api.post("/api/api-keys", json={"name": "child"}, headers=auth)
        assert response.status_code == 403
        assert "An API key cannot create API keys" in response.json["error"]["message"]
    assert key_count(clean_app, org_a.org_id) == before
    # A signed-in admin can, and the key is theirs (it acts with their role).
    client = signed_in(clean_app, admin.email)
    created = client.post("/api/api-keys", json={"name": "mine"})
    assert created.status_code == 201
    with clean_app.app_context():
        key = db.session.get(ApiKey, created.json["data"]["id"])
        assert key.created_by_user_id == admin.user_id


def test_removing_a_user_revokes_their_keys(clean_app, org_a):
    member = make_user(clean_app, org_a, "member")
    other = make_user(clean_app, org_a, "member", label="other")
    browser = signed_in(clean_app, member.email)
    # Its own app context: requests made inside a held one would share flask.g (and the
    # signed-in user Flask-Login caches there).
    with clean_app.app_context():
        session = db.session
        revoked = accounts.remove_user(session, org_a.org_id, member.user_id)
        session.commit()
        assert revoked == 1
        assert session.get(User, member.user_id) is None
        assert session.get(ApiKey, member.api_key_id).revoked_at is not None
        assert session.get(ApiKey, other.api_key_id).revoked_at is None
        assert session.get(ApiKey, org_a.api_key_id).revoked_at is None
    api = clean_app.test_client()
    assert api.get("/api/drip-campaigns", headers=member.auth).status_code == 401
    assert api.get("/api/drip-campaigns", headers=other.auth).status_code == 200
    stranger = clean_app.test_client()
    login(stranger, member.email)
    assert "/login" in stranger.get("/campaigns/").headers["Location"]  # cannot sign in
    assert "/login" in browser.get("/campaigns/").headers["Location"]  # signed out


def test_removing_a_user_keeps_an_admin_and_the_organizations_apart(session, org_a, org_b):
    admin_a = session.scalar(select(User).where(User.organization_id == org_a.org_id))
    with pytest.raises(Conflict, match="last admin"):
        accounts.remove_user(session, org_a.org_id, admin_a.id)
    with pytest.raises(NotFound):
        accounts.remove_user(session, org_b.org_id, admin_a.id)
    session.rollback()
    assert session.get(User, admin_a.id) is not None


def test_remove_user_on_the_command_line(clean_app, org_a):
    member = make_user(clean_app, org_a, "member")
    result = run(clean_app, "remove-user", "--org", org_a.name, "--email", member.email.upper())
    assert result.exit_code == 0, result.output
    assert "1 API key" in result.output
    api = clean_app.test_client()
    assert api.get("/api/drip-campaigns", headers=member.auth).status_code == 401
    result = run(clean_app, "remove-user", "--org", org_a.name, "--email", member.email)
    assert result.exit_code != 0 and "No user" in result.output
    result = run(clean_app, "remove-user", "--org", org_a.name, "--email", org_a.email)
    assert result.exit_code != 0 and "last admin" in result.output
