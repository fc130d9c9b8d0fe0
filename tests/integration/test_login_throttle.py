"""Login rate limiting on both databases: 5 failed logins for an email from one address (or 20
from an address, whatever the emails) within 15 minutes lock that email from that address (or
that address) out for 15 minutes, even with the right password. The email is never locked
everywhere: past 5 failures from anywhere each attempt for it waits (1 s, doubling up to 5 s),
and the right password from another address still gets in. A successful login resets its
email's count from its address; old attempts are pruned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import request
from sqlalchemy import func, select

from app import create_app
from app.auth import public
from app.config import TestConfig
from app.drip.accounts import login_throttle
from app.extensions import db
from app.models import LoginAttempt, utcnow
from app.web import auth_views
from tests.conftest import TEST_PASSWORD

T0 = utcnow().replace(microsecond=0)
LOCKED = b"Too many failed logins"


@pytest.fixture
def clock(monkeypatch):
    """The login view's clock, moved by the test."""
    now = {"at": T0}
    monkeypatch.setattr(auth_views, "utcnow", lambda: now["at"])
    return now


@pytest.fixture(autouse=True)
def waits(monkeypatch):
    """The seconds the login view waited, one entry per attempt (nobody actually waits)."""
    waited = []
    monkeypatch.setattr(auth_views, "sleep", waited.append)
    return waited


def attempt(app, email, password="wrong password", address="198.51.100.7"):
    client = app.test_client()
    response = client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    return response, client


def fail(app, email, times, address="198.51.100.7"):
    for _ in range(times):
        response, _ = attempt(app, email, address=address)
        assert response.status_code == 400
        assert b"Wrong email or password" in response.data


def test_five_failures_lock_the_email_from_that_address_even_for_the_right_password(
    clean_app, org_a, clock
):
    fail(clean_app, org_a.email, 5)
    clock["at"] = T0 + timedelta(minutes=1)
    response, client = attempt(clean_app, org_a.email, TEST_PASSWORD)
    assert response.status_code == 429
    assert LOCKED in response.data and b"15 more minutes" not in response.data
    assert b"14 more minutes" in response.data
    assert int(response.headers["Retry-After"]) == 14 * 60
    assert client.get("/campaigns/").status_code == 302  # not logged in
    # Case and spaces do not matter.
    response, _ = attempt(clean_app, f"  {org_a.email.upper()} ", TEST_PASSWORD)
    assert response.status_code == 429


def test_an_attacker_elsewhere_cannot_lock_the_user_out(clean_app, org_a, clock, waits):
    """Failing on purpose for someone's email, from one address or from several, locks only
    those addresses: the user logging in from their own gets in (after a short wait)."""
    for attacker in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        fail(clean_app, org_a.email, 5, address=attacker)
        assert attempt(clean_app, org_a.email, TEST_PASSWORD, attacker)[0].status_code == 429
    waits.clear()
    response, client = attempt(clean_app, org_a.email, TEST_PASSWORD, "198.51.100.20")
    assert response.status_code == 302
    assert client.get("/campaigns/").status_code == 200
    assert waits == [5.0]  # slowed, at most LOGIN_MAX_DELAY_SECONDS, never refused


def test_failures_for_an_email_from_anywhere_slow_every_attempt_for_it(
    clean_app, org_a, clock, waits
):
    assert clean_app.config["LOGIN_MAX_DELAY_SECONDS"] == 5
    for n in range(5):  # one failure from each of five addresses: none is locked
        fail(clean_app, org_a.email, 1, address=f"203.0.113.{n}")
    assert waits == [0.0] * 5
    waits.clear()
    for n in range(4):
        fail(clean_app, org_a.email, 1, address=f"192.0.2.{n}")
    assert waits == [1.0, 2.0, 4.0, 5.0]  # doubling, capped
    # Right or wrong, an attempt for the email waits alike; other emails do not wait.
    waits.clear()
    assert attempt(clean_app, org_a.email, TEST_PASSWORD, "198.51.100.20")[0].status_code == 302
    assert attempt(clean_app, "someone@else.example", address="198.51.100.20")[0].status_code == 400
    assert waits == [5.0, 0.0]
    # The failures age out of the window and the wait with them.
    clock["at"] = T0 + timedelta(minutes=15, seconds=1)
    waits.clear()
    assert attempt(clean_app, org_a.email, TEST_PASSWORD, "198.51.100.21")[0].status_code == 302
    assert waits == [0.0]


def test_a_success_elsewhere_does_not_reset_an_attackers_count(clean_app, org_a, clock):
    fail(clean_app, org_a.email, 4, address="203.0.113.1")
    assert attempt(clean_app, org_a.email, TEST_PASSWORD, "198.51.100.20")[0].status_code == 302
    fail(clean_app, org_a.email, 1, address="203.0.113.1")  # the fifth from there
    assert attempt(clean_app, org_a.email, TEST_PASSWORD, "203.0.113.1")[0].status_code == 429


def test_the_lock_ends_and_refused_attempts_do_not_extend_it(clean_app, org_a, clock):
    fail(clean_app, org_a.email, 5)
    for minutes in (5, 10, 14):
        clock["at"] = T0 + timedelta(minutes=minutes)
        assert attempt(clean_app, org_a.email)[0].status_code == 429
    clock["at"] = T0 + timedelta(minutes=15, seconds=1)
    response, client = attempt(clean_app, org_a.email, TEST_PASSWORD)
    assert response.status_code == 302
    assert client.get("/campaigns/").status_code == 200


def test_four_failures_do_not_lock_and_success_resets_the_count(clean_app, org_a, clock):
    fail(clean_app, org_a.email, 4)
    assert attempt(clean_app, org_a.email, TEST_PASSWORD)[0].status_code == 302
    # Without the reset these four would make eight.
    fail(clean_app, org_a.email, 4)
    assert attempt(clean_app, org_a.email, TEST_PASSWORD)[0].status_code == 302


def test_failures_spread_over_more_than_the_window_do_not_lock(clean_app, org_a, clock):
    for minute in (0, 4, 8, 12, 16):
        clock["at"] = T0 + timedelta(minutes=minute)
        fail(clean_app, org_a.email, 1)
    assert attempt(clean_app, org_a.email, TEST_PASSWORD)[0].status_code == 302


def test_other_emails_are_not_locked_by_one_email(clean_app, org_a, org_b, clock):
    fail(clean_app, org_a.email, 5)
    assert attempt(clean_app, org_b.email, TEST_PASSWORD)[0].status_code == 302


def test_an_address_trying_many_emails_is_locked(clean_app, org_a, clock, monkeypatch):
    # 20 by default (LOGIN_MAX_FAILURES_PER_ADDRESS); fewer here, each login hashes a password.
    assert clean_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] == 20
    monkeypatch.setitem(clean_app.config, "LOGIN_MAX_FAILURES_PER_ADDRESS", 3)
    for n in range(3):
        fail(clean_app, f"guess{n}@example.com", 1, address="192.0.2.50")
    response, _ = attempt(clean_app, org_a.email, TEST_PASSWORD, "192.0.2.50")
    assert response.status_code == 429 and LOCKED in response.data
    # The same user from elsewhere is not locked: the email had no failures.
    assert attempt(clean_app, org_a.email, TEST_PASSWORD, "192.0.2.51")[0].status_code == 302


def test_unknown_emails_are_counted_like_known_ones(clean_app, org_a, clock):
    fail(clean_app, "nobody@example.com", 5)
    response, _ = attempt(clean_app, "nobody@example.com")
    assert response.status_code == 429


def test_old_attempts_are_pruned_on_write(session, org_a):
    limits = login_throttle.Limits()
    old = T0 - timedelta(hours=2)
    for n in range(3):
        login_throttle.record_failure(session, f"old{n}@x.test", "192.0.2.1", old, limits)
    login_throttle.record_failure(session, "new@x.test", "192.0.2.1", T0, limits)
    emails = session.scalars(select(LoginAttempt.email)).all()
    assert emails == ["new@x.test"]
    login_throttle.record_failure(session, "new@x.test", "192.0.2.2", T0, limits)
    login_throttle.record_success(session, "NEW@x.test ", "192.0.2.1")
    # The email's failure from the other address stays.
    assert session.execute(select(LoginAttempt.email, LoginAttempt.address)).all() == [
        ("new@x.test", "192.0.2.2")
    ]
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 1


def test_a_limit_of_zero_turns_it_off(session, org_a):
    limits = login_throttle.Limits(max_failures=0, max_per_address=0)
    for _ in range(30):
        login_throttle.record_failure(session, "a@x.test", "192.0.2.1", T0, limits)
    assert login_throttle.locked_until(session, "a@x.test", "192.0.2.1", T0, limits) is None
    assert login_throttle.login_delay(session, "a@x.test", T0, limits) == timedelta(0)
    no_delay = login_throttle.Limits(max_delay=timedelta(0))
    assert login_throttle.login_delay(session, "a@x.test", T0, no_delay) == timedelta(0)
    strict = login_throttle.Limits()
    until = login_throttle.locked_until(session, "a@x.test", "192.0.2.1", T0, strict)
    assert until == T0 + strict.lock
    assert login_throttle.login_delay(session, "a@x.test", T0, strict) == strict.max_delay
    # Another address is not locked: neither the email's lock nor the address's applies there.
    assert login_throttle.locked_until(session, "a@x.test", "192.0.2.2", T0, strict) is None


def test_attempts_are_committed_with_the_failed_login(clean_app, org_a, clock):
    fail(clean_app, org_a.email, 2)
    with clean_app.app_context():
        rows = db.session.execute(select(LoginAttempt.email, LoginAttempt.address)).all()
    assert rows == [(org_a.email, "198.51.100.7")] * 2


@pytest.mark.parametrize("trusted", [0, 1])
def test_the_client_address_comes_through_a_trusted_proxy_only(clean_app, org_a, trusted):
    """TRUSTED_PROXIES=1 (one HTTPS proxy in front): the address counted is the client's from
    X-Forwarded-For, and https from X-Forwarded-Proto; with 0, both headers are ignored, since
    any client could forge them."""
    url = clean_app.config["SQLALCHEMY_DATABASE_URI"]
    app = create_app(TestConfig(database_url=url, trusted_proxies=trusted))
    seen = {}

    @app.get("/_scheme")
    @public
    def scheme():
        seen["scheme"] = request.scheme
        return ""

    client = app.test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    client.post(
        "/login",
        data={"email": org_a.email, "password": "wrong password"},
        headers=forwarded,
        environ_base=proxy,
    )
    client.get("/_scheme", headers=forwarded, environ_base=proxy)
    with app.app_context():
        address = db.session.scalar(select(LoginAttempt.address))
        db.session.remove()
    assert (address, seen["scheme"]) == (
        ("203.0.113.9", "https") if trusted else ("10.0.0.2", "http")
    )
