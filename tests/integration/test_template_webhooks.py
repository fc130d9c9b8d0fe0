"""Template webhooks through the signed endpoint, on SQLite and PostgreSQL: routed by WABA id to
the organization whose account names it, checked against that organization's app secret,
recorded then applied to the catalog, idempotent and order-independent, swept on failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app.drip.templates import updates as template_updates
from app.models import Organization, WebhookEvent, WhatsAppAccount, WhatsAppTemplate, utcnow
from app.tasks.webhook_sweep import sweep_webhook_events
from app.whatsapp.webhook import signature_for
from tests.support.accounts import set_verified_account

SHARED = Path("/work/shared/fixtures/whatsapp")
OURS = Path(__file__).resolve().parents[1] / "fakes" / "fixtures"
URL = "/api/webhooks/whatsapp"
WABA_A, PHONE_A, SECRET_A = "102290129340398", "900000000000001", "test_app_secret"
WABA_B, PHONE_B, SECRET_B = "204400551122334", "900000000000002", "globex_app_secret"
META_ID = "1203948576601"
T0 = 1764979200  # the shared fixtures' entry time


def connect(session, org_id, phone_id, secret, waba):
    org = session.get(Organization, org_id)
    account = set_verified_account(current_app, session, org, phone_id, secret)
    account.business_account_id = waba
    session.commit()
    return account


def catalog_row(session, org_id, name="drip_welcome", language="en_US", **values):
    row = WhatsAppTemplate(
        organization_id=org_id,
        business_account_id=values.pop("waba", WABA_A),
        meta_id=values.pop("meta_id", META_ID),
        name=name,
        language=language,
        category=values.pop("category", "UTILITY"),
        status=values.pop("status", "APPROVED"),
        quality_score=values.pop("quality_score", "GREEN"),
        parameter_format="positional",
        parameters=[],
        synced_at=utcnow() - timedelta(days=1),
        **values,
    )
    session.add(row)
    session.commit()
    return row


def post(client, body: bytes, secret: str = SECRET_A):
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature_for(body, secret),
    }
    return client.post(URL, data=body, headers=headers)


def status_body(event: str, at: int, waba: str = WABA_A, reason=None, name="drip_welcome") -> bytes:
    value = {
        "event": event,
        "message_template_id": int(META_ID),
        "message_template_name": name,
        "message_template_language": "en_US",
        "reason": reason,
    }
    change = {"field": "message_template_status_update", "value": value}
    entry = {"id": waba, "time": at, "changes": [change]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


def templates_of(session, org_id) -> list[WhatsAppTemplate]:
    session.expire_all()
    query = select(WhatsAppTemplate).where(WhatsAppTemplate.organization_id == org_id)
    return list(session.scalars(query.order_by(WhatsAppTemplate.name)))


def the_template(session, org_id) -> WhatsAppTemplate:
    (row,) = templates_of(session, org_id)
    return row


def when(row_time: datetime | None) -> datetime | None:
    if row_time is None:
        return None
    return row_time.replace(tzinfo=UTC) if row_time.tzinfo is None else row_time


def recorded(session) -> list[WebhookEvent]:
    session.expire_all()
    return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


# --- each kind through the signed endpoint ---------------------------------------------------


def test_a_status_update_pauses_the_template(clean_app, session, org_a):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    catalog_row(session, org_a.org_id, reason="old")
    response = post(clean_app.test_client(), (SHARED / "template_status_update.json").read_bytes())
    assert response.status_code == 200
    assert response.json["data"]["templates"] == 1
    row = the_template(session, org_a.org_id)
    assert (row.status, row.reason) == ("PAUSED", None)
    assert when(row.status_changed_at) == datetime.fromtimestamp(T0, tz=UTC)
    (event,) = recorded(session)
    assert event.organization_id == org_a.org_id and event.applied_at is not None


def test_a_quality_update_sets_the_score(clean_app, session, org_a):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    catalog_row(session, org_a.org_id)
    response = post(clean_app.test_client(), (SHARED / "template_quality_update.json").read_bytes())
    assert response.status_code == 200
    row = the_template(session, org_a.org_id)
    assert (row.quality_score, row.status) == ("RED", "APPROVED")


def test_a_category_update_sets_the_category_and_an_impending_one_does_not(
    clean_app, session, org_a
):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    catalog_row(session, org_a.org_id, category="UTILITY")
    client = clean_app.test_client()
    impending = (OURS / "template_category_update_impending.json").read_bytes()
    assert post(client, impending).status_code == 200
    assert the_template(session, org_a.org_id).category == "UTILITY"
    completed = (OURS / "template_category_update.json").read_bytes()
    assert post(client, completed).status_code == 200
    assert the_template(session, org_a.org_id).category == "MARKETING"


def test_a_template_matched_by_name_and_language_gets_its_meta_id(clean_app, session, org_a):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    catalog_row(session, org_a.org_id, meta_id=None)
    body = (SHARED / "template_status_update.json").read_bytes()
    assert post(clean_app.test_client(), body).status_code == 200
    row = the_template(session, org_a.org_id)
    assert (row.meta_id, row.status) == (META_ID, "PAUSED")


def test_an_unknown_template_gets_a_minimal_row(clean_app, session, org_a):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    before = utcnow()
    body = status_body("APPROVED", T0, name="brand_new")
    assert post(clean_app.test_client(), body).status_code == 200
    row = the_template(session, org_a.org_id)
    assert (row.name, row.language, row.meta_id, row.business_account_id) == (
        "brand_new",
        "en_US",
        META_ID,
        WABA_A,
    )
    assert (row.status, row.category, row.quality_score) == ("APPROVED", "UNKNOWN", None)
    assert when(row.synced_at) >= before - timedelta(seconds=1)
    # A quality update for another unknown one: a row whose status waits for the sync.
    quality = json.loads((SHARED / "template_quality_update.json").read_text())
    quality["entry"][0]["changes"][0]["value"].update(
        message_template_id=77, message_template_name="other"
    )
    assert post(clean_app.test_client(), json.dumps(quality).encode()).status_code == 200
    other = templates_of(session, org_a.org_id)[1]
    assert (other.name, other.status, other.quality_score) == ("other", "UNKNOWN", "RED")


# --- routing and signatures ----------------------------------------------------------------


def two_orgs(session, org_a, org_b):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    connect(session, org_b.org_id, PHONE_B, SECRET_B, WABA_B)
    catalog_row(
        session, org_a.org_id, name="globex_offer", language="pt_BR", meta_id="5550001112223"
    )
    catalog_row(
        session,
        org_b.org_id,
        name="globex_offer",
        language="pt_BR",
        meta_id="5550001112223",
        waba=WABA_B,
    )


def test_routed_by_waba_to_its_organization_only(clean_app, session, org_a, org_b):
    two_orgs(session, org_a, org_b)
    body = (OURS / "template_status_update_second_waba.json").read_bytes()
    response = post(clean_app.test_client(), body, secret=SECRET_B)
    assert response.status_code == 200
    rejected = the_template(session, org_b.org_id)
    assert (rejected.status, rejected.reason) == ("REJECTED", "INVALID_FORMAT")
    assert the_template(session, org_a.org_id).status == "APPROVED"
    assert recorded(session)[0].organization_id == org_b.org_id


def test_signed_with_another_organizations_secret_is_refused(clean_app, session, org_a, org_b):
    two_orgs(session, org_a, org_b)
    body = (OURS / "template_status_update_second_waba.json").read_bytes()
    response = post(clean_app.test_client(), body, secret=SECRET_A)
    assert response.status_code == 401
    assert [r.status for r in templates_of(session, org_b.org_id)] == ["APPROVED"]
    assert recorded(session) == []


def test_an_unknown_waba_is_ignored_like_an_unknown_phone_number(clean_app, session, org_a):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    body = status_body("DISABLED", T0, waba="999999999999999")
    response = post(clean_app.test_client(), body, secret="whatever")
    assert response.status_code == 200
    assert response.json["data"]["ignored"] is True
    assert recorded(session) == []
    assert session.scalar(select(func.count()).select_from(WhatsAppTemplate)) == 0


def test_a_delivery_mixing_a_phone_number_and_the_waba(clean_app, session, org_a):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    catalog_row(session, org_a.org_id)
    status = {"id": "wamid.NOT.OURS", "status": "delivered", "timestamp": str(T0)}
    value = {"metadata": {"phone_number_id": PHONE_A}, "statuses": [status]}
    phone_entry = {"id": WABA_A, "changes": [{"field": "messages", "value": value}]}
    template = json.loads((SHARED / "template_status_update.json").read_text())
    body = json.dumps({"entry": [phone_entry, *template["entry"]]}).encode()
    response = post(clean_app.test_client(), body)
    assert response.status_code == 200
    data = response.json["data"]
    assert (data["statuses"], data["unknownStatuses"], data["templates"]) == (1, 1, 1)
    assert the_template(session, org_a.org_id).status == "PAUSED"


# --- repeats, order, failures -----------------------------------------------------------------


def test_replayed_and_late_events_end_in_the_latest_state(clean_app, session, org_a):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    catalog_row(session, org_a.org_id)
    client = clean_app.test_client()
    newest = status_body("DISABLED", T0 + 200, reason="LOW_QUALITY")
    older = [status_body("PAUSED", T0 + 100), status_body("REINSTATED", T0 + 150)]
    for body in (newest, *older, newest, older[0]):
        assert post(client, body).status_code == 200
    row = the_template(session, org_a.org_id)
    assert (row.status, row.reason) == ("DISABLED", "LOW_QUALITY")
    assert when(row.status_changed_at) == datetime.fromtimestamp(T0 + 200, tz=UTC)
    # A different event at the same time: what is there stays.
    assert post(client, status_body("APPROVED", T0 + 200)).status_code == 200
    assert the_template(session, org_a.org_id).status == "DISABLED"
    # A newer one wins, and REINSTATED means approved again.
    assert post(client, status_body("REINSTATED", T0 + 300)).status_code == 200
    row = the_template(session, org_a.org_id)
    assert (row.status, row.reason) == ("APPROVED", None)


def test_in_any_order_the_same_end_state(clean_app, session, org_a, org_b):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    connect(session, org_b.org_id, PHONE_B, SECRET_A, WABA_B)
    events = ["PAUSED", "REINSTATED", "FLAGGED", "DISABLED", "PAUSED"]
    bodies = [status_body(event, T0 + i * 10) for i, event in enumerate(events)]
    client = clean_app.test_client()
    for body in bodies:
        assert post(client, body).status_code == 200
    for body in reversed(bodies):
        assert post(client, body.replace(WABA_A.encode(), WABA_B.encode())).status_code == 200
    a, b = the_template(session, org_a.org_id), the_template(session, org_b.org_id)
    assert (a.status, when(a.status_changed_at)) == (b.status, when(b.status_changed_at))
    assert a.status == "PAUSED"


def test_a_failed_application_is_swept(clean_app, session, org_a, monkeypatch):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    catalog_row(session, org_a.org_id)
    real = template_updates.apply_update

    def broken(*args, **kwargs):
        raise RuntimeError("catalog went away")

    monkeypatch.setattr(template_updates, "apply_update", broken)
    body = (SHARED / "template_status_update.json").read_bytes()
    response = post(clean_app.test_client(), body)
    assert response.status_code == 200
    assert response.json["data"]["deferred"] is True
    (event,) = recorded(session)
    assert event.applied_at is None and "catalog went away" in event.last_error
    assert the_template(session, org_a.org_id).status == "APPROVED"

    later = utcnow() + timedelta(seconds=31)
    assert sweep_webhook_events(session, later, 10) == {"applied": 0, "failed": 1}
    monkeypatch.setattr(template_updates, "apply_update", real)
    assert sweep_webhook_events(session, later, 10) == {"applied": 1, "failed": 0}
    assert the_template(session, org_a.org_id).status == "PAUSED"
    assert recorded(session)[0].applied_at is not None
    # The repeat is recorded already and applied: 200, nothing new, the row as it was.
    assert post(clean_app.test_client(), body).status_code == 200
    assert len(recorded(session)) == 1


def test_the_sweeper_applies_a_template_delivery_only_to_its_organization(
    clean_app, session, org_a, org_b
):
    """A delivery recorded for org B is not applied to org A when A later names B's WABA."""
    two_orgs(session, org_a, org_b)
    body = (OURS / "template_status_update_second_waba.json").read_bytes()
    session.add(
        WebhookEvent(
            organization_id=org_b.org_id,
            body_sha256="x" * 64,
            body=body,
            received_at=utcnow() - timedelta(minutes=5),
            attempts=1,
        )
    )
    account_a = session.scalar(
        select(WhatsAppAccount).where(WhatsAppAccount.organization_id == org_a.org_id)
    )
    account_a.business_account_id = WABA_B
    session.commit()
    assert sweep_webhook_events(session, utcnow(), 10) == {"applied": 1, "failed": 0}
    assert the_template(session, org_a.org_id).status == "APPROVED"
    assert the_template(session, org_b.org_id).status == "REJECTED"
