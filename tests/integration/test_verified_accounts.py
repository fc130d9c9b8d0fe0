"""Verified accounts on the settings page, on both databases: what Meta reported is stored and
shown, the webhook URL and a generated verify token for Meta's dashboard, a test message sent
now through the fake Cloud API (real sockets) and counted nowhere, the way back to the sandbox,
and the banner every page shows once a processing pass's sends all failed."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.drip import sending
from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import (
    AuditEvent,
    Contact,
    DripCampaign,
    DripMessageLog,
    Organization,
    WhatsAppAccount,
)
from app.tasks.processing import run_processing_pass
from tests.conftest import login, make_user
from tests.fakes.cloud_api import FakeCloudApi
from tests.fakes.cloud_api_script import Rule
from tests.integration.enrollment_world import NOW, make_campaign, make_contacts
from tests.support.accounts import send_through_fake

PHONE_ID = "106540352242922"
TOKEN = "meta-token"
FORM = {"phone_number_id": PHONE_ID, "access_token": TOKEN, "app_secret": "s"}
TOKEN_REFUSED = "Meta refuses the access token (190): paste a new one in Settings &gt; WhatsApp."


@pytest.fixture
def member_client(clean_app, org_a):
    client = clean_app.test_client()
    assert login(client, make_user(clean_app, org_a, "member").email).status_code == 302
    return client


@pytest.fixture
def meta():
    with FakeCloudApi(access_token=TOKEN, phone_number_id=PHONE_ID) as fake:
        yield fake


def stored(app) -> WhatsAppAccount | None:
    with app.app_context():
        row = db.session.scalar(select(WhatsAppAccount))
        if row is not None:
            db.session.expunge(row)
        return row


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def events(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def connect(client, meta) -> None:
    saved = client.post("/settings/whatsapp", data={**FORM, "api_base_url": meta.base_url})
    assert saved.status_code == 302, saved.get_data(as_text=True)


# --- verification -------------------------------------------------------------------------


def test_a_refused_token_and_an_unknown_id_are_refused_in_metas_words(clean_app, client_a, meta):
    bad = client_a.post(
        "/settings/whatsapp",
        data={**FORM, "access_token": "EAAG-old", "api_base_url": meta.base_url},
    )
    assert bad.status_code == 422
    assert "refused the access token (invalid or expired)" in bad.get_data(as_text=True)
    unknown = client_a.post(
        "/settings/whatsapp",
        data={**FORM, "phone_number_id": "300000000000003", "api_base_url": meta.base_url},
    )
    assert unknown.status_code == 422
    assert "could not be verified for this account" in unknown.get_data(as_text=True)
    assert stored(clean_app) is None and meta.lookups == 2 and meta.requests == 0


def test_an_accepted_account_stores_and_shows_what_meta_reported(
    clean_app, client_a, member_client, meta
):
    connect(client_a, meta)
    account = stored(clean_app)
    assert (account.display_phone_number, account.verified_name, account.quality_rating) == (
        "+1 555-000-1111",
        "Fake Shop",
        "GREEN",
    )
    assert account.verified_at is not None and account.rate_limit_per_second == 80  # STANDARD
    for client in (client_a, member_client):
        html = client.get("/settings/").get_data(as_text=True)
        assert "+1 555-000-1111" in html and "Fake Shop" in html and "GREEN" in html
        assert account.verified_at.strftime("%Y-%m-%d %H:%M UTC") in html
    assert "whatsapp_account.saved" in events(clean_app)


# --- webhook URL and verify token ---------------------------------------------------------


def test_the_webhook_url_and_a_generated_verify_token_are_shown(
    clean_app, client_a, member_client, meta, monkeypatch
):
    # The app is shared by the tests of a worker: state the default, a loopback address.
    monkeypatch.setitem(clean_app.config, "PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    connect(client_a, meta)
    page = client_a.get("/settings/").get_data(as_text=True)
    assert "http://localhost/api/webhooks/whatsapp" in page  # the request's host
    assert "Verify token: <strong>none yet</strong>" in page
    monkeypatch.setitem(clean_app.config, "PUBLIC_BASE_URL", "https://drip.example.com")
    page = member_client.get("/settings/").get_data(as_text=True)
    assert "https://drip.example.com/api/webhooks/whatsapp" in page
    assert "/settings/whatsapp/verify-token" not in page  # a member gets no forms

    shown = client_a.post("/settings/whatsapp/verify-token")
    assert shown.status_code == 201
    html = shown.get_data(as_text=True)
    token = html.split('<pre class="secret" id="verify-token">', 1)[1].split("</pre>", 1)[0]
    assert len(token) >= 24
    handshake = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"}
    answer = clean_app.test_client().get("/api/webhooks/whatsapp", query_string=handshake)
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "42"
    again = client_a.get("/settings/").get_data(as_text=True)
    assert token not in again and "cannot be shown again" in again  # shown once
    assert "whatsapp_account.verify_token_changed" in events(clean_app)


# --- test message -------------------------------------------------------------------------


def test_a_test_message_goes_to_meta_now_and_counts_nowhere(clean_app, org_a, client_a, meta):
    connect(client_a, meta)
    with clean_app.app_context():
        campaign = make_campaign(db.session, org_a.org_id)
        db.session.commit()
        campaign_id = campaign.id
    sent = client_a.post(
        "/settings/whatsapp/test-message",
        data={"to": "+1 415 555 0143", "kind": "text", "body": "Hello from Drip"},
    )
    html = sent.get_data(as_text=True)
    assert sent.status_code == 200 and "WhatsApp accepted the test message" in html
    assert [r["body"] for r in meta.records()] == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "14155550143",
            "type": "text",
            "text": {"preview_url": False, "body": "Hello from Drip"},
        }
    ]
    assert count(clean_app, DripMessageLog) == 0
    with clean_app.app_context():
        sending.refresh_campaign_counters(db.session, NOW)
        db.session.commit()
        row = db.session.get(DripCampaign, campaign_id)
        assert (row.sent_count, row.failed_count, row.total_enrolled) == (0, 0, 0)
    assert events(clean_app)[-1] == "whatsapp_account.test_message_sent"


def test_a_refused_test_message_says_why(clean_app, client_a, meta):
    connect(client_a, meta)
    meta.fail(131026)
    page = client_a.post(
        "/settings/whatsapp/test-message",
        data={"to": "+14155550143", "kind": "template", "template_name": "hello_world"},
    )
    html = page.get_data(as_text=True)
    assert "WhatsApp did not take the test message (error 131026)" in html
    assert meta.records()[0]["body"]["template"] == {
        "name": "hello_world",
        "language": {"code": "en_US"},
    }
    assert count(clean_app, DripMessageLog) == 0
    assert events(clean_app)[-1] == "whatsapp_account.test_message_failed"


def test_a_sandbox_organization_sends_a_test_template_and_a_bad_number_is_a_field_error(
    clean_app, client_b
):
    ok = client_b.post(
        "/settings/whatsapp/test-message",
        data={
            "to": "+14155550143",
            "kind": "template",
            "template_name": "drip_welcome",
            "template_language": "en_US",
            "parameters": "Ana\nAcme",
        },
    )
    assert "WhatsApp accepted the test message" in ok.get_data(as_text=True)
    bad = client_b.post(
        "/settings/whatsapp/test-message", data={"to": "12", "kind": "text", "body": "x"}
    )
    assert bad.status_code == 422 and "not a valid phone number" in bad.get_data(as_text=True)
    assert count(clean_app, DripMessageLog) == 0


# --- the sandbox again ----------------------------------------------------------------------


def test_use_the_sandbox_again_removes_the_account(clean_app, client_a, member_client, meta):
    connect(client_a, meta)
    assert member_client.post("/settings/whatsapp/remove").status_code == 403
    page = client_a.get("/settings/").get_data(as_text=True)
    assert 'data-confirm="Remove the WhatsApp account?' in page
    removed = client_a.post("/settings/whatsapp/remove", follow_redirects=True)
    html = removed.get_data(as_text=True)
    assert "messages go to the sandbox again" in html and "go to the <strong>sandbox" in html
    assert stored(clean_app) is None
    assert events(clean_app)[-1] == "whatsapp_account.removed"


# --- the failure banner ---------------------------------------------------------------------


@pytest.fixture
def world(clean_app, org_a, client_a):
    """Org A sends through a fake Cloud API; three contacts due now, inside their window."""
    clean_app.config["SEND_CONCURRENCY"] = 4
    with FakeCloudApi() as fake:
        with clean_app.app_context():
            session = db.session
            org = session.get(Organization, org_a.org_id)
            send_through_fake(clean_app, session, org, fake)
            campaign = make_campaign(session, org.id)
            # They wrote an hour ago: inside their 24-hour window, the text steps go out.
            contacts = make_contacts(session, org.id, 3, last_inbound_at=NOW - timedelta(hours=1))
            enrollment.enroll(session, campaign, contact_ids=[c.id for c in contacts], now=NOW)
            session.commit()
        yield fake


def run(app, at=NOW):
    with app.app_context():
        return run_processing_pass(at)


def wrote_again(app, at):
    """The contacts wrote an hour before `at`: their window is open then."""
    with app.app_context():
        db.session.execute(update(Contact).values(last_inbound_at=at - timedelta(hours=1)))
        db.session.commit()
    return at


def banner(client) -> str | None:
    html = client.get("/contacts/").get_data(as_text=True)
    if 'id="account-banner"' not in html:
        return None
    return html.split('id="account-banner">', 1)[1].split("</div>", 1)[0]


def test_a_refused_token_puts_a_banner_on_every_page_until_a_new_token_is_saved(
    clean_app, client_a, client_b, world
):
    assert banner(client_a) is None
    world.add_rule(Rule("error", code=190))  # every send: the token is refused
    stats = run(clean_app)
    assert stats["paused_accounts"] >= 1
    shown = banner(client_a)
    assert shown is not None and TOKEN_REFUSED in shown
    assert banner(client_b) is None  # another organization's pages
    world.reset()
    fields = {"phone_number_id": world.phone_number_id, "access_token": world.access_token}
    resaved = client_a.post(
        "/settings/whatsapp", data={**fields, "app_secret": "s", "api_base_url": world.base_url}
    )
    assert resaved.status_code == 302 and banner(client_a) is None
    assert run(clean_app, wrote_again(clean_app, NOW + timedelta(days=1)))["sent"] == 3
    assert banner(client_a) is None


def test_an_unreachable_api_puts_a_banner_that_a_successful_pass_clears(
    clean_app, org_a, client_a, world
):
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with clean_app.app_context():
        db.session.execute(update(WhatsAppAccount).values(api_base_url=closed))
        db.session.commit()
    stats = run(clean_app)
    assert stats["retried"] == 3 and stats["sent"] == 0
    shown = banner(client_a)
    assert shown is not None and "cannot reach WhatsApp" in shown and "ConnectError" in shown
    with clean_app.app_context():
        db.session.execute(update(WhatsAppAccount).values(api_base_url=world.base_url))
        db.session.commit()
    assert run(clean_app, wrote_again(clean_app, NOW + timedelta(days=1)))["sent"] == 3
    assert banner(client_a) is None
    assert stored(clean_app).failing_since is None


def test_a_pass_with_one_accepted_send_puts_no_banner(clean_app, client_a, world):
    world.fail(131026, times=2)  # two contacts' numbers fail, one send is accepted
    run(clean_app)
    assert banner(client_a) is None
