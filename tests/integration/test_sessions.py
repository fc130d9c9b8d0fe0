"""Sessions end on the server, on both databases: a cookie copied before logout, log out
everywhere, a password change or the idle timeout no longer opens anything; a remember-me
cookie works once and is replaced; API keys are another matter and keep working."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app import create_app
from app.config import TestConfig
from app.drip import accounts
from app.drip.errors import ValidationError
from app.extensions import db
from app.models import User, UserSession, utcnow
from tests.conftest import TEST_PASSWORD, login

NEW_PASSWORD = "a brand new passphrase"


def login_remembered(client, email):
    return client.post("/login", data={"email": email, "password": TEST_PASSWORD, "remember": "y"})


def cookie(client, name: str) -> str | None:
    found = client.get_cookie(name)
    return found.value if found else None


def browser_with(app, **cookies):
    """Another browser, holding copies of some cookies."""
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


def assert_logged_out(client):
    page = client.get("/settings/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    api = client.get("/api/contacts")
    assert api.status_code == 401 and api.json["error"]["code"] == "unauthorized"


def assert_logged_in(client):
    assert client.get("/settings/").status_code == 200
    assert client.get("/api/contacts").status_code == 200


def session_rows(app):
    with app.app_context():
        rows = db.session.scalars(select(UserSession).order_by(UserSession.id)).all()
        db.session.expunge_all()
        return rows


def test_a_session_cookie_copied_before_logout_opens_nothing_after_it(clean_app, client_a):
    copied = cookie(client_a, "session")
    assert_logged_in(browser_with(clean_app, session=copied))
    assert client_a.post("/logout").status_code == 302
    assert_logged_out(client_a)
    assert_logged_out(browser_with(clean_app, session=copied))


def test_a_remember_cookie_copied_before_logout_opens_nothing_after_it(clean_app, org_a):
    client = clean_app.test_client()
    login_remembered(client, org_a.email)
    copied = cookie(client, "remember_token")
    assert copied
    client.post("/logout")
    copy = browser_with(clean_app, remember_token=copied)
    assert_logged_out(copy)
    assert cookie(copy, "remember_token") is None  # refused once, then dropped


def test_the_cookies_name_a_session_not_the_user(clean_app, org_a):
    """A cookie signed with SECRET_KEY that names the user's id (as before) opens nothing."""
    with clean_app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == org_a.email))
    forged = clean_app.test_client()
    with forged.session_transaction() as flask_session:
        flask_session["_user_id"] = str(user_id)
        flask_session["_fresh"] = True
    assert_logged_out(forged)


def test_a_remember_token_works_once_and_is_replaced(clean_app, org_a):
    client = clean_app.test_client()
    login_remembered(client, org_a.email)
    first = cookie(client, "remember_token")
    # The browser is closed: only the remember-me cookie is left.
    resumed = browser_with(clean_app, remember_token=first)
    assert resumed.get("/settings/").status_code == 200
    second = cookie(resumed, "remember_token")
    assert second and second != first
    assert_logged_in(resumed)
    # The old token is refused; the new one works (once), and it is still one session.
    assert_logged_out(browser_with(clean_app, remember_token=first))
    assert_logged_in(browser_with(clean_app, remember_token=second))
    assert len(session_rows(clean_app)) == 1


def test_log_out_everywhere_ends_every_browser_but_not_api_keys(clean_app, org_a, org_b):
    laptop, phone = clean_app.test_client(), clean_app.test_client()
    login(laptop, org_a.email)
    login_remembered(phone, org_a.email)
    phone_remember = cookie(phone, "remember_token")
    other_org = clean_app.test_client()
    login(other_org, org_b.email)
    response = laptop.post("/logout/everywhere")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for client in (laptop, phone, browser_with(clean_app, remember_token=phone_remember)):
        assert_logged_out(client)
    assert_logged_in(other_org)  # another user's sessions are theirs
    api = clean_app.test_client().get("/api/contacts", headers=org_a.auth)
    assert api.status_code == 200
    # Logging in again works.
    assert login(laptop, org_a.email).status_code == 302
    assert_logged_in(laptop)


def test_log_out_everywhere_is_a_form_with_the_csrf_token(app, clean_app, org_a):
    csrf_app = create_app(
        TestConfig(database_url=app.config["SQLALCHEMY_DATABASE_URI"], csrf_enabled=True)
    )
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post(
        "/login", data={"email": org_a.email, "password": TEST_PASSWORD, "csrf_token": token}
    )
    settings = client.get("/settings/").get_data(as_text=True)
    assert 'action="/logout/everywhere"' in settings
    assert client.post("/logout/everywhere").status_code == 400
    assert client.get("/settings/").status_code == 200  # still logged in
    response = client.post("/logout/everywhere", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/settings/").status_code == 302


def test_a_password_change_ends_every_session(clean_app, org_a):
    laptop, phone = clean_app.test_client(), clean_app.test_client()
    login(laptop, org_a.email)
    login_remembered(phone, org_a.email)
    phone_remember = cookie(phone, "remember_token")
    with clean_app.app_context():
        user = db.session.scalar(select(User).where(User.email == org_a.email))
        accounts.change_password(db.session, user, NEW_PASSWORD, utcnow())
        db.session.commit()
    for client in (laptop, phone, browser_with(clean_app, remember_token=phone_remember)):
        assert_logged_out(client)
    assert login(laptop, org_a.email).status_code == 400  # the old password
    assert login(laptop, org_a.email, NEW_PASSWORD).status_code == 302
    assert_logged_in(laptop)


def test_a_too_short_password_changes_nothing(clean_app, org_a, client_a):
    with clean_app.app_context():
        user = db.session.scalar(select(User).where(User.email == org_a.email))
        with pytest.raises(ValidationError) as raised:
            accounts.change_password(db.session, user, "short", utcnow())
        assert "password" in raised.value.details["fields"]
        db.session.rollback()
    assert_logged_in(client_a)
    assert login(clean_app.test_client(), org_a.email).status_code == 302


def set_last_seen(app, ago: timedelta) -> None:
    with app.app_context():
        db.session.execute(update(UserSession).values(last_seen_at=utcnow() - ago))
        db.session.commit()


def test_a_session_idle_past_the_timeout_is_refused(clean_app, org_a, client_a):
    assert clean_app.config["SESSION_IDLE_HOURS"] == 12
    remembered = clean_app.test_client()
    login_remembered(remembered, org_a.email)
    remember = cookie(remembered, "remember_token")
    set_last_seen(clean_app, timedelta(hours=11, minutes=59))
    assert_logged_in(client_a)
    assert_logged_in(remembered)
    set_last_seen(clean_app, timedelta(hours=12, minutes=1))
    assert_logged_out(client_a)
    assert_logged_out(browser_with(clean_app, remember_token=remember))


def test_activity_is_written_at_most_once_a_minute(clean_app, client_a):
    (row,) = session_rows(clean_app)
    client_a.get("/settings/")
    client_a.get("/api/contacts")
    assert session_rows(clean_app)[0].last_seen_at == row.last_seen_at
    set_last_seen(clean_app, timedelta(minutes=2))
    before = utcnow()
    client_a.get("/settings/")
    assert session_rows(clean_app)[0].last_seen_at >= before - timedelta(seconds=1)


def test_only_a_hash_of_the_token_is_stored(session, org_a):
    user = session.scalar(select(User).where(User.email == org_a.email))
    now = utcnow()
    token = accounts.start_session(session, user, now, timedelta(hours=12))
    row = session.scalar(select(UserSession))
    assert len(token) >= 40 and token not in row.token_hash
    assert (row.user_id, row.organization_id) == (user.id, org_a.org_id)
    found = accounts.find_session(session, token, now, timedelta(hours=12))
    assert found == (row, user)
    assert accounts.find_session(session, token + "x", now, timedelta(hours=12)) is None


def test_ended_and_idle_sessions_are_pruned_at_the_next_login(session, org_a):
    user = session.scalar(select(User).where(User.email == org_a.email))
    idle, t0 = timedelta(hours=12), utcnow()
    ended = accounts.start_session(session, user, t0, idle)
    accounts.start_session(session, user, t0, idle)  # left idle
    accounts.end_session(session, accounts.find_session(session, ended, t0, idle)[0], t0)
    accounts.start_session(session, user, t0 + timedelta(hours=13), idle)
    assert len(session.scalars(select(UserSession)).all()) == 1
