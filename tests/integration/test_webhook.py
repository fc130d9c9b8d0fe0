"""/api/webhooks/whatsapp on SQLite and PostgreSQL: the handshake, the signature, recording
before applying, applying (statuses, replies, opt-outs), repeats and order, the sweeper."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from app.drip.engagement import apply as engagement
from app.models import (
    Contact,
    DripEnrollment,
    DripMessageLog,
    InboundMessage,
    Organization,
    WebhookEvent,
    WhatsAppStatusEvent,
    utcnow,
)
from app.tasks import jobs
from app.tasks.webhook_sweep import sweep_webhook_events
from app.whatsapp.webhook import signature_for
from tests.integration.enrollment_world import live_steps, make_campaign
from tests.integration.test_engagement import LOG_FIELDS, enrollment_row, log_row
from tests.support.accounts import set_verified_account

FIXTURES = Path("/work/shared/fixtures/whatsapp")
URL = "/api/webhooks/whatsapp"
PHONE_A, SECRET_A = "900000000000001", "test_app_secret"
PHONE_B, SECRET_B = "900000000000002", "globex_app_secret"
SIGNED = (FIXTURES / "status_delivered_signed.txt").read_bytes()
SIGNED_HEADER = "sha256=86ec1cb34066b409e07f400357acd575abdf8727b40d532b139258ce4ced4744"
ANA, BEN = "+447700900123", "+447700900456"
FIXTURE_FILES = (
    "status_delivered_signed.txt",
    "statuses_sent_and_failed.json",
    "status_read_without_delivered.json",
    "inbound_text_reply.json",
    "inbound_buttons.json",
    "inbound_stop.json",
    "user_preferences_stop.json",
)


# --- the world: org A's account, Ana and Ben enrolled, logs with the fixtures' wamids ---------


def set_account(session, org_id, phone_id, secret, verify_token=None):
    org = session.get(Organization, org_id)
    set_verified_account(current_app, session, org, phone_id, secret, verify_token=verify_token)


def world(session, org_id, phone_id=PHONE_A, secret=SECRET_A, wamids=None, phones=(ANA, BEN)):
    """The account, a campaign, one contact per phone enrolled at step 2, and one sent log of
    step 1 per wamid (wamid i goes to contact i % len(phones))."""
    set_account(session, org_id, phone_id, secret)
    wamids = wamids or ("wamid.FAKE0001", "wamid.FAKE0002", "wamid.FAKE0003")
    steps = tuple((1, "days") for _ in range(len(wamids) + 1))
    campaign = make_campaign(session, org_id, steps=steps)
    *sent_steps, current = live_steps(session, campaign)
    contacts = [Contact(organization_id=org_id, phone=p, first_name=f"P{p[-3:]}") for p in phones]
    session.add_all(contacts)
    session.flush()
    enrollments = [enrollment_row(session, campaign, c, step=current) for c in contacts]
    logs = [
        log_row(session, enrollments[i % len(enrollments)], sent_steps[i], wamid=w)
        for i, w in enumerate(wamids)
    ]
    session.commit()
    return campaign, contacts, logs


def post(client, body: bytes, secret: str | None = SECRET_A, header: str | None = None):
    headers = {"Content-Type": "application/json"}
    signature = header or (signature_for(body, secret) if secret else None)
    if signature:
        headers["X-Hub-Signature-256"] = signature
    return client.post(URL, data=body, headers=headers)


def fixture_body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def snapshot(session, org_id, strip: str = "") -> dict:
    """Everything a delivery can change, without row ids or times of receipt."""
    session.expire_all()
    logs = session.scalars(
        select(DripMessageLog)
        .where(DripMessageLog.organization_id == org_id)
        .order_by(DripMessageLog.wamid)
    )
    contacts = session.scalars(
        select(Contact).where(Contact.organization_id == org_id).order_by(Contact.phone)
    )
    enrollments = session.scalars(
        select(DripEnrollment)
        .where(DripEnrollment.organization_id == org_id)
        .order_by(DripEnrollment.contact_id)
    )
    events = session.execute(
        select(WhatsAppStatusEvent.wamid, WhatsAppStatusEvent.status)
        .where(WhatsAppStatusEvent.organization_id == org_id)
        .order_by(WhatsAppStatusEvent.wamid, WhatsAppStatusEvent.status)
    )
    return {
        "logs": [{f: _field(x, f, strip) for f in LOG_FIELDS} for x in logs],
        "contacts": [(c.phone, c.opted_out_at, c.last_inbound_at) for c in contacts],
        "enrollments": [(e.status, e.current_step_id) for e in enrollments],
        "status_events": [(w.replace(strip, ""), s) for w, s in events],
        "inbound": session.scalar(
            select(func.count())
            .select_from(InboundMessage)
            .where(InboundMessage.organization_id == org_id)
        ),
    }  # fmt: skip


def _field(log, name, strip):
    value = getattr(log, name)
    return value.replace(strip, "") if name == "wamid" else value


def recorded(session) -> list[WebhookEvent]:
    session.expire_all()
    return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def log_by_wamid(session, wamid) -> DripMessageLog:
    session.expire_all()
    return session.scalar(select(DripMessageLog).where(DripMessageLog.wamid == wamid))


def contact_by_phone(session, phone) -> Contact:
    session.expire_all()
    return session.scalar(select(Contact).where(Contact.phone == phone))


# --- the handshake ----------------------------------------------------------------------------


def test_handshake_echoes_the_challenge_for_a_known_token(clean_app, session, org_a):
    set_account(session, org_a.org_id, PHONE_A, SECRET_A, verify_token="my-verify-token")
    session.commit()
    client = clean_app.test_client()
    args = {"hub.mode": "subscribe", "hub.verify_token": "my-verify-token", "hub.challenge": "42x"}
    response = client.get(URL, query_string=args)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data() == b"42x"
    for changed in (
        {"hub.verify_token": "wrong"},
        {"hub.mode": "unsubscribe"},
        {"hub.verify_token": ""},
    ):
        response = client.get(URL, query_string={**args, **changed})
        assert response.status_code == 403
        assert response.json["error"]["code"] == "forbidden"
    assert client.get(URL).status_code == 403  # fmt: skip


# --- deliveries -------------------------------------------------------------------------------


def test_the_signed_fixture_byte_for_byte(clean_app, session, org_a):
    world(session, org_a.org_id)
    response = post(clean_app.test_client(), SIGNED, header=SIGNED_HEADER)
    assert response.status_code == 200
    assert response.json == {
        "data": {"statuses": 1, "messages": 0, "templates": 0, "unknownStatuses": 0}
    }
    log = log_by_wamid(session, "wamid.FAKE0001")
    assert log.status == "delivered"
    assert log.delivered_at is not None
    (event,) = recorded(session)
    assert event.body == SIGNED
    assert event.organization_id == org_a.org_id
    assert event.applied_at is not None and event.last_error is None


def test_every_fixture_applies(clean_app, session, org_a):
    world(session, org_a.org_id)
    client = clean_app.test_client()
    counts = {}
    for name in FIXTURE_FILES:
        response = post(client, fixture_body(name))
        assert response.status_code == 200, (name, response.json)
        counts[name] = response.json["data"]
    assert counts["statuses_sent_and_failed.json"] == {
        "statuses": 2,
        "messages": 0,
        "templates": 0,
        "unknownStatuses": 0,
    }
    assert counts["inbound_buttons.json"] == {
        "statuses": 0,
        "messages": 2,
        "templates": 0,
        "unknownStatuses": 0,
    }
    first = log_by_wamid(session, "wamid.FAKE0001")
    assert first.status == "read" and first.read_at is not None and first.replied_at is not None
    assert log_by_wamid(session, "wamid.FAKE0002").status == "failed"
    # 131050 opts Ben out; Ana's stop (keyword, then user_preferences) opts her out.
    assert contact_by_phone(session, BEN).opted_out_at is not None
    assert contact_by_phone(session, ANA).opted_out_at is not None
    assert len(recorded(session)) == len(FIXTURE_FILES)
    assert all(e.applied_at is not None for e in recorded(session))
    assert session.scalar(select(func.count()).select_from(InboundMessage)) == 4


def test_user_preferences_stop_opts_the_contact_out(clean_app, session, org_a):
    world(session, org_a.org_id)
    response = post(clean_app.test_client(), fixture_body("user_preferences_stop.json"))
    assert response.status_code == 200
    ana = contact_by_phone(session, ANA)
    assert ana.opted_out_at is not None
    session.expire_all()
    statuses = session.scalars(
        select(DripEnrollment.status).where(DripEnrollment.contact_id == ana.id)
    ).all()
    assert statuses == ["unsubscribed"]
    assert contact_by_phone(session, BEN).opted_out_at is None


def test_a_delivery_replayed_three_times_is_applied_once(clean_app, session, org_a):
    world(session, org_a.org_id)
    client = clean_app.test_client()
    once = None
    for name in FIXTURE_FILES:
        body = fixture_body(name)
        for attempt in range(3):
            assert post(client, body).status_code == 200
            if attempt == 0:
                after_first = snapshot(session, org_a.org_id)
        assert snapshot(session, org_a.org_id) == after_first, name
        once = after_first
    assert once is not None
    assert len(recorded(session)) == len(FIXTURE_FILES)


def status_body(phone_id: str, statuses: list[dict]) -> bytes:
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": phone_id}}
    value["statuses"] = statuses
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": []}]}
    payload["entry"][0]["changes"].append({"field": "messages", "value": value})
    return json.dumps(payload).encode()


def test_shuffled_batches_end_as_in_order(clean_app, session, org_a, org_b):
    """Org A gets every status in order, one per delivery; org B the same statuses shuffled,
    in shuffled batches, some twice. Both end the same (and each is checked with its own
    organization's secret)."""
    count = 6
    wamids_a = [f"wamid.A.{i}" for i in range(count)]
    wamids_b = [f"wamid.B.{i}" for i in range(count)]
    world(session, org_a.org_id, wamids=wamids_a)
    world(session, org_b.org_id, PHONE_B, SECRET_B, wamids_b, phones=("+447700900777",))
    # Contacts differ between the orgs; compare the logs and events only.
    names = ("sent", "delivered", "read")
    plan = [(i, n, 1767225600 + 10 * k) for i in range(count - 1) for k, n in enumerate(names)]
    plan += [(count - 1, "sent", 1767225600), (count - 1, "failed", 1767225700)]

    def status(prefix, i, name, at):
        item = {"id": f"{prefix}{i}", "status": name, "timestamp": str(at), "recipient_id": "1"}
        if name == "failed":
            item["errors"] = [{"code": 131026, "title": "Undeliverable"}]
        return item

    client = clean_app.test_client()
    for i, name, at in plan:
        assert (
            post(client, status_body(PHONE_A, [status("wamid.A.", i, name, at)])).status_code == 200
        )
    rng = random.Random(7)
    shuffled = plan * 2
    rng.shuffle(shuffled)
    batches = [shuffled[k : k + 5] for k in range(0, len(shuffled), 5)]
    for batch in batches:
        body = status_body(PHONE_B, [status("wamid.B.", *item) for item in batch])
        assert post(client, body, secret=SECRET_A).status_code == 401  # not B's secret
        assert post(client, body, secret=SECRET_B).status_code == 200
    a, b = snapshot(session, org_a.org_id, "wamid.A."), snapshot(session, org_b.org_id, "wamid.B.")
    assert a["logs"] == b["logs"]
    assert a["status_events"] == b["status_events"]
    assert {log["status"] for log in a["logs"]} == {"read", "failed"}  # fmt: skip


@pytest.mark.parametrize(
    "header",
    [None, "sha256=" + "0" * 64, "sha256=86ec1cb34066b409e07f400357acd575abdf8727", "garbage"],
)
def test_a_bad_signature_changes_nothing(clean_app, session, org_a, header):
    world(session, org_a.org_id)
    before = snapshot(session, org_a.org_id)
    client = clean_app.test_client()
    headers = {"Content-Type": "application/json"}
    if header:
        headers["X-Hub-Signature-256"] = header
    response = client.post(URL, data=SIGNED, headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert post(client, SIGNED, secret="another_secret").status_code == 401
    assert post(client, SIGNED + b" ", header=SIGNED_HEADER).status_code == 401
    assert recorded(session) == []
    assert snapshot(session, org_a.org_id) == before


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"object": "x"}', "'entry' list"),
        (b'{"entry": [{"changes": [{"value": {"metadata": {}}}]}]}', "phone_number_id"),
    ],
)
def test_bad_json_changes_nothing(clean_app, session, org_a, body, words):
    world(session, org_a.org_id)
    before = snapshot(session, org_a.org_id)
    response = post(clean_app.test_client(), body)
    assert response.status_code == 400
    assert words in response.json["error"]["message"]
    assert recorded(session) == []
    assert snapshot(session, org_a.org_id) == before


def test_bad_field_types_after_the_signature_change_nothing(clean_app, session, org_a):
    world(session, org_a.org_id)
    before = snapshot(session, org_a.org_id)
    body = status_body(PHONE_A, [{"id": "wamid.FAKE0001", "status": "read", "timestamp": "x"}])
    response = post(clean_app.test_client(), body)
    assert response.status_code == 400
    assert "timestamp" in response.json["error"]["message"]
    assert recorded(session) == []
    assert snapshot(session, org_a.org_id) == before


def test_an_oversized_body_changes_nothing(clean_app, session, org_a):
    world(session, org_a.org_id)
    before = snapshot(session, org_a.org_id)
    payload = json.loads(SIGNED)
    payload["padding"] = "x" * (1024 * 1024)
    body = json.dumps(payload).encode()
    response = post(clean_app.test_client(), body)
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    assert recorded(session) == []
    assert snapshot(session, org_a.org_id) == before


def test_an_unknown_phone_number_id_is_ignored(clean_app, session, org_a):
    world(session, org_a.org_id)
    before = snapshot(session, org_a.org_id)
    body = SIGNED.replace(PHONE_A.encode(), b"900000000000999")
    response = post(clean_app.test_client(), body, secret="whatever")
    assert response.status_code == 200
    assert response.json["data"]["ignored"] is True
    assert recorded(session) == []
    assert snapshot(session, org_a.org_id) == before


def test_a_failure_while_applying_is_recorded_and_swept(clean_app, session, org_a, monkeypatch):
    world(session, org_a.org_id)
    real = engagement.apply_statuses

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(engagement, "apply_statuses", broken)
    response = post(clean_app.test_client(), SIGNED, header=SIGNED_HEADER)
    assert response.status_code == 200
    assert response.json["data"]["deferred"] is True
    (event,) = recorded(session)
    assert event.applied_at is None
    assert event.attempts == 1
    assert "database went away" in event.last_error
    assert log_by_wamid(session, "wamid.FAKE0001").delivered_at is None

    # Too recent for the sweeper; then a failing sweep records a second attempt.
    assert sweep_webhook_events(session, utcnow(), 10) == {"applied": 0, "failed": 0}
    later = utcnow() + timedelta(seconds=31)
    assert sweep_webhook_events(session, later, 10) == {"applied": 0, "failed": 1}
    assert recorded(session)[0].attempts == 2

    monkeypatch.setattr(engagement, "apply_statuses", real)
    assert sweep_webhook_events(session, later, 10) == {"applied": 1, "failed": 0}
    (event,) = recorded(session)
    assert event.applied_at is not None
    assert log_by_wamid(session, "wamid.FAKE0001").status == "delivered"
    assert sweep_webhook_events(session, later, 10) == {"applied": 0, "failed": 0}
    # A repeat of the same bytes is already recorded and applied: 200, nothing new.
    assert post(clean_app.test_client(), SIGNED, header=SIGNED_HEADER).status_code == 200
    assert len(recorded(session)) == 1


def test_the_sweeper_is_a_recurring_job(clean_app, session, org_a):
    assert any(
        job.name == "sweep_webhooks" and job.func is jobs.sweep_webhooks for job in jobs.RECURRING
    )
    assert jobs.sweep_webhooks() == {"applied": 0, "failed": 0}  # fmt: skip


def test_statuses_of_unknown_messages_are_ignored_and_counted(clean_app, session, org_a):
    world(session, org_a.org_id)
    body = status_body(
        PHONE_A,
        [
            {
                "id": f"wamid.NOT.OURS.{i}",
                "status": "delivered",
                "timestamp": "1767225600",
                "recipient_id": "447700900123",
            }
            for i in range(3)
        ],
    )
    response = post(clean_app.test_client(), body)
    assert response.status_code == 200
    assert response.json["data"]["unknownStatuses"] == 3
    assert session.scalar(select(func.count()).select_from(WhatsAppStatusEvent)) == 0
