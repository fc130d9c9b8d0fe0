"""Drip sends only to Meta's Graph API and the hosts the operator allowed
(WHATSAPP_API_ALLOWED_HOSTS), on both databases: any other API base URL is refused when saved
(settings page, CLI), an account already pointing elsewhere is paused at send time with nothing
sent, and a redirect is never followed."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select, update

from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import DripMessageLog, Organization, WhatsAppAccount
from app.tasks.processing import run_processing_pass
from app.whatsapp import HOST_NOT_ALLOWED, CloudApiClient, ErrorKind, SendError, VerificationError
from app.whatsapp.pool import new_http_client
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.enrollment_world import NOW, make_campaign, make_contacts
from tests.support.accounts import send_through_fake
from tests.support.window import wrote_to_us

ALLOWED = "WHATSAPP_API_ALLOWED_HOSTS"
FORM = {"phone_number_id": "100000000000001", "access_token": "fake-access-token"}
FORM |= {"app_secret": "s"}


@pytest.fixture
def fake():
    with FakeCloudApi() as server:
        yield server


def account(app) -> WhatsAppAccount | None:
    with app.app_context():
        row = db.session.scalar(select(WhatsAppAccount))
        if row is not None:
            db.session.expunge(row)
        return row


# --- refused when saved -------------------------------------------------------------------


def test_a_host_the_operator_did_not_allow_is_refused_on_the_settings_page(
    clean_app, client_a, fake, monkeypatch
):
    monkeypatch.setitem(clean_app.config, ALLOWED, ())  # production: Meta only
    page = client_a.post("/settings/whatsapp", data={**FORM, "api_base_url": fake.base_url})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "Drip sends only to https://graph.facebook.com" in text
    assert "is not one of them" in text
    assert account(clean_app) is None
    assert fake.lookups == fake.requests == 0  # not even asked: no request left Drip


@pytest.mark.parametrize(
    ("suffix", "words"),
    [
        ("/x?", "query (?) or a fragment (#)"),
        ("/x?next=", "query (?) or a fragment (#)"),
        ("#", "query (?) or a fragment (#)"),
    ],
)
def test_a_url_that_moves_drips_path_is_refused(clean_app, client_a, fake, suffix, words):
    url = fake.base_url + suffix
    page = client_a.post("/settings/whatsapp", data={**FORM, "api_base_url": url})
    assert page.status_code == 422 and words in page.get_data(as_text=True)
    assert account(clean_app) is None and fake.lookups == 0


def test_userinfo_is_refused_even_on_an_allowed_host(clean_app, client_a, fake):
    url = fake.base_url.replace("http://", "http://me:pw@")
    page = client_a.post("/settings/whatsapp", data={**FORM, "api_base_url": url})
    assert page.status_code == 422 and "user name or password" in page.get_data(as_text=True)
    assert account(clean_app) is None


def test_the_cli_refuses_an_internal_address(clean_app):
    runner = clean_app.test_cli_runner()
    runner.invoke(args=["create-org", "Initech"])
    args = ["set-whatsapp", "--org", "Initech", "--phone-number-id", "1", "--access-token", "t"]
    args += ["--app-secret", "s", "--api-base-url", "http://169.254.169.254/latest/meta-data"]
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert "WHATSAPP_API_ALLOWED_HOSTS" in result.output and "Traceback" not in result.output
    assert account(clean_app) is None


def test_an_allowed_host_is_saved(clean_app, client_a, fake):
    page = client_a.post("/settings/whatsapp", data={**FORM, "api_base_url": fake.base_url + "/"})
    assert page.status_code == 302
    assert account(clean_app).api_base_url == fake.base_url


# --- checked at send time: an existing account pointing elsewhere -------------------------


@pytest.fixture
def world(clean_app, org_a, fake):
    """Org A saved an account on the fake while it was allowed; three contacts due now."""
    clean_app.config["SEND_CONCURRENCY"] = 4
    with clean_app.app_context():
        session = db.session
        org = session.get(Organization, org_a.org_id)
        send_through_fake(clean_app, session, org, fake)
        campaign = make_campaign(session, org.id)
        contacts = make_contacts(session, org.id, 3)
        wrote_to_us(session, NOW)  # a text step: the contacts' window is open
        enrollment.enroll(session, campaign, contact_ids=[c.id for c in contacts], now=NOW)
        session.commit()


def run(app):
    with app.app_context():
        return run_processing_pass(NOW)


def test_an_account_on_a_host_no_longer_allowed_is_paused_and_nothing_is_sent(
    clean_app, world, fake, monkeypatch
):
    monkeypatch.setitem(clean_app.config, ALLOWED, ())  # the operator narrowed the list
    stats = run(clean_app)
    assert stats["sent"] == 0 and stats["paused_accounts"] >= 1
    assert fake.requests == 0
    paused = account(clean_app)
    assert paused.sending_paused_code == HOST_NOT_ALLOWED
    assert "is not one of them" in paused.sending_paused_reason
    assert "API base URL" in paused.sending_paused_reason
    # Paused: the next pass claims nothing of it, and the messages wait to be resent.
    assert run(clean_app)["claimed"] == 0 and fake.requests == 0
    with clean_app.app_context():
        assert {log.status for log in db.session.scalars(select(DripMessageLog))} == {"pending"}


def test_an_account_saved_before_the_rule_with_a_query_is_paused(clean_app, world, fake):
    # The `?` trick: Drip's /v21.0/{id}/messages would have become a query string.
    with clean_app.app_context():
        db.session.execute(
            update(WhatsAppAccount).values(api_base_url=fake.base_url + "/internal/api?x=")
        )
        db.session.commit()
    stats = run(clean_app)
    assert stats["sent"] == 0 and fake.requests == 0
    paused = account(clean_app)
    assert paused.sending_paused_code == HOST_NOT_ALLOWED
    assert "query (?)" in paused.sending_paused_reason


def test_the_settings_page_shows_why_sending_is_paused(clean_app, world, client_a, monkeypatch):
    monkeypatch.setitem(clean_app.config, ALLOWED, ())
    run(clean_app)
    text = client_a.get("/settings/").get_data(as_text=True)
    assert "Sending is paused" in text and "WHATSAPP_API_ALLOWED_HOSTS" in text


# --- redirects are never followed ---------------------------------------------------------


class _Redirect(BaseHTTPRequestHandler):
    """Answers every request with a redirect to `target` (set on the server)."""

    def _answer(self) -> None:
        self.send_response(self.server.status)
        self.send_header("Location", self.server.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture(params=[301, 302, 307, 308])
def redirector(request, fake):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    server.status, server.target = request.param, fake.base_url
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("follow", [False, True])
def test_a_redirect_is_an_error_that_stops_the_account_and_is_not_followed(
    redirector, fake, follow
):
    # Even an injected client set to follow redirects does not follow them for Drip.
    with httpx.Client(follow_redirects=follow) as http:
        client = CloudApiClient(
            redirector, "v21.0", "1", fake.access_token, http=http, allowed_hosts=["127.0.0.1"]
        )
        with pytest.raises(SendError) as caught:
            client.send_text("+447700900123", "hi", "log=1")
        with pytest.raises(VerificationError) as refused:
            client.phone_number()
    assert caught.value.kind is ErrorKind.STOP_ACCOUNT  # paused, not retried in a loop
    assert "redirect" in caught.value.reason and "does not follow" in caught.value.reason
    assert refused.value.field == "api_base_url" and "redirect" in refused.value.reason
    assert fake.requests == fake.lookups == 0


def test_the_shared_pool_does_not_follow_redirects():
    pool = new_http_client(1)
    try:
        assert pool.follow_redirects is False
    finally:
        pool.close()
