"""Secrets stay secret: API keys and WhatsApp credentials never reach the logs (captured at
DEBUG) or a page (but for the one-time showing of a new API key), and every check of a secret
sent to us (cron secret, webhook signature, verify token) is a constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
from flask import current_app

from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.tasks.processing import run_processing_pass
from app.whatsapp.webhook import signature_for
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.enrollment_world import NOW, make_campaign, make_contacts
from tests.support.window import wrote_to_us

ACCESS_TOKEN = "EAAGsecretAccessToken0123456789"
APP_SECRET = "appsecret-5f3c9d2e8a7b"
VERIFY_TOKEN = "verify-token-7e1d44"
PHONE_ID = "100000000000001"


def assert_absent(secrets: list[str], caplog, *pages: str):
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    for secret in secrets:
        assert secret not in logged, f"{secret[:6]}… is in the logs"
        for page in pages:
            assert secret not in page, f"{secret[:6]}… is on a page"


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_api_keys_are_shown_once_and_never_logged(clean_app, org_a, client_a, debug_logs):
    created = client_a.post("/settings/api-keys", data={"name": "CI"})
    assert created.status_code == 201
    page_key = created.get_data(as_text=True).split('id="new-api-key">')[1].split("<")[0]
    assert page_key.startswith("drip_")  # the one intended showing
    api_key = client_a.post("/api/api-keys", json={"name": "script"}).json["data"]["key"]
    api = clean_app.test_client()
    for key in (page_key, api_key, org_a.api_key):
        bearer = {"Authorization": f"Bearer {key}"}
        assert api.get("/api/drip-campaigns", headers=bearer).status_code == 200
        assert api.get("/api/drip-campaigns/999", headers=bearer).status_code == 404
        assert api.post("/api/drip-campaigns", json={}, headers=bearer).status_code == 422
    # A wrong key's 401 does not echo it either.
    wrong = "drip_" + "x" * 43
    response = api.get("/api/drip-campaigns", headers={"Authorization": f"Bearer {wrong}"})
    assert response.status_code == 401
    settings = client_a.get("/settings/").get_data(as_text=True)
    keys_list = json.dumps(client_a.get("/api/api-keys").json)
    assert_absent([page_key, api_key, org_a.api_key], debug_logs, settings, keys_list)
    assert_absent([wrong], debug_logs, response.get_data(as_text=True))


WHATSAPP_FORM = {
    "phone_number_id": PHONE_ID,
    "access_token": ACCESS_TOKEN,
    "app_secret": APP_SECRET,
    "verify_token": VERIFY_TOKEN,
}


def _save_whatsapp_account(client):
    """The settings form, verified by a fake Cloud API that reads PHONE_ID with ACCESS_TOKEN."""
    with FakeCloudApi(access_token=ACCESS_TOKEN, phone_number_id=PHONE_ID) as fake:
        return client.post(
            "/settings/whatsapp", data={**WHATSAPP_FORM, "api_base_url": fake.base_url}
        )


def test_whatsapp_secrets_are_never_shown_or_logged(clean_app, org_a, client_a, debug_logs):
    secrets = [ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN]
    # A refused form is shown again without the secrets typed into it.
    refused = client_a.post("/settings/whatsapp", data={**WHATSAPP_FORM, "phone_number_id": "x"})
    assert refused.status_code == 422
    with FakeCloudApi(access_token=ACCESS_TOKEN, phone_number_id=PHONE_ID) as fake:
        saved = client_a.post(
            "/settings/whatsapp", data={**WHATSAPP_FORM, "api_base_url": fake.base_url}
        )
        assert saved.status_code == 302
        # Use them: a send (Bearer access token), a refused send, a signed webhook, a handshake.
        with clean_app.app_context():
            wamids = _send_two_one_refused(org_a.org_id, fake)
        body = _status_body(wamids[0])
        signed = {"X-Hub-Signature-256": signature_for(body, APP_SECRET)}
        hook = clean_app.test_client()
        assert hook.post("/api/webhooks/whatsapp", data=body, headers=signed).status_code == 200
        bad = {"X-Hub-Signature-256": "sha256=" + "0" * 64}
        assert hook.post("/api/webhooks/whatsapp", data=body, headers=bad).status_code == 401
        handshake = {
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "c",
        }
        assert hook.get("/api/webhooks/whatsapp", query_string=handshake).data == b"c"
    settings = client_a.get("/settings/").get_data(as_text=True)
    assert PHONE_ID in settings  # the page does show the account
    assert_absent(secrets, debug_logs, refused.get_data(as_text=True), settings)


def _send_two_one_refused(org_id: int, fake) -> list[str]:
    session = db.session
    campaign = make_campaign(session, org_id, steps=((0, "minutes"),))
    contacts = make_contacts(session, org_id, 2)
    wrote_to_us(session, NOW)  # a text step: the contacts' window is open
    enrollment.enroll(session, campaign, contact_ids=[c.id for c in contacts], now=NOW)
    session.commit()
    fake.fail(131026, to=contacts[1].phone)  # undeliverable: logged as a failed send
    stats = run_processing_pass(NOW)
    assert stats["sent"] == 1 and stats["failed"] == 1
    return [r["wamid"] for r in fake.records() if r.get("wamid")]


def _status_body(wamid: str) -> bytes:
    status = {"id": wamid, "status": "delivered", "timestamp": str(int(NOW.timestamp()) + 5)}
    status["recipient_id"] = "442079460000"
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_ID},
        "statuses": [status],
    }
    change = {"field": "messages", "value": value}
    entry = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}
    return json.dumps(entry).encode()


# --- constant-time comparisons ----------------------------------------------------------------


@pytest.fixture
def compare_digest_calls(monkeypatch):
    """Every hmac.compare_digest call (it still answers): a check that stops calling it, for a
    plain ==, fails here."""
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


def _as_bytes(value) -> bytes:
    return value.encode() if isinstance(value, str) else value


def test_the_cron_secret_is_compared_in_constant_time(clean_app, compare_digest_calls, monkeypatch):
    monkeypatch.setitem(clean_app.config, "CRON_SECRET", "cron-secret-value")
    client = clean_app.test_client()
    wrong = client.post("/api/cron/drip-processor", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    expected = hashlib.sha256(b"cron-secret-value").hexdigest().encode()
    assert any(expected in map(_as_bytes, call) for call in compare_digest_calls)
    # Digests on both sides: the time taken does not even tell the secret's length.
    assert all(len(_as_bytes(a)) == len(_as_bytes(b)) == 64 for a, b in compare_digest_calls)


def test_webhook_signatures_and_verify_tokens_are_compared_in_constant_time(
    clean_app, org_a, client_a, compare_digest_calls
):
    assert _save_whatsapp_account(client_a).status_code == 302
    body = _status_body("wamid.UNKNOWN")
    client = clean_app.test_client()
    forged = {"X-Hub-Signature-256": "sha256=" + "ab" * 32}
    assert client.post("/api/webhooks/whatsapp", data=body, headers=forged).status_code == 401
    expected = signature_for(body, APP_SECRET).removeprefix("sha256=").encode()
    assert (("ab" * 32).encode(), expected) in compare_digest_calls
    compare_digest_calls.clear()
    handshake = {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "c"}
    assert client.get("/api/webhooks/whatsapp", query_string=handshake).status_code == 403
    stored = hashlib.sha256(VERIFY_TOKEN.encode()).hexdigest().encode()
    assert any(stored in map(_as_bytes, call) for call in compare_digest_calls)


def test_secret_box_keeps_whatsapp_secrets_encrypted_at_rest(clean_app, org_a, client_a):
    assert _save_whatsapp_account(client_a).status_code == 302
    with clean_app.app_context():
        row = db.session.execute(db.text("SELECT * FROM whatsapp_accounts")).mappings().one()
        stored = json.dumps({k: str(v) for k, v in row.items()})
        box = current_app.extensions["drip_secret_box"]
        assert box.decrypt(row["access_token_encrypted"]) == ACCESS_TOKEN
    for secret in (ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN):
        assert secret not in stored
