"""The messaging limit Meta reports on the business account (phone_number_quality_update,
entry.id the WABA id, no metadata) reaches the accounts of that WABA through the signed webhook
route, durably like every delivery; other business-account fields Drip does not read are
answered 200 and ignored, never refused (a 400 would make Meta retry them for days)."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.models import WebhookEvent, WhatsAppAccount
from tests.integration.test_template_webhooks import (
    OURS,
    PHONE_A,
    PHONE_B,
    SECRET_A,
    SECRET_B,
    WABA_A,
    WABA_B,
    connect,
    post,
)


def quality_update(label_keys: dict, waba: str = WABA_A, at: int = 1764979200) -> bytes:
    payload = json.loads((OURS / "phone_number_quality_update.json").read_text())
    entry = payload["entry"][0]
    entry["id"], entry["time"] = waba, at
    value = entry["changes"][0]["value"]
    for key in ("current_limit", "max_daily_conversations_per_business"):
        value.pop(key)
    value.update(label_keys)
    return json.dumps(payload).encode()


def limits(session) -> dict[str, tuple]:
    session.expire_all()
    rows = session.scalars(select(WhatsAppAccount))
    return {a.business_account_id: (a.messaging_limit, a.messaging_tier) for a in rows}


def test_metas_fixture_sets_the_limit_of_the_wabas_account_only(clean_app, session, org_a, org_b):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    connect(session, org_b.org_id, PHONE_B, SECRET_B, WABA_B)
    body = (OURS / "phone_number_quality_update.json").read_bytes()
    answer = post(clean_app.test_client(), body)
    assert answer.status_code == 200, answer.json
    assert limits(session) == {WABA_A: (2_000, "TIER_2K"), WABA_B: (None, None)}
    assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 1  # recorded


def test_the_newer_field_wins_and_a_number_or_unlimited_is_read(clean_app, session, org_a):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    client = clean_app.test_client()
    both = {"current_limit": "TIER_250", "max_daily_conversations_per_business": "TIER_10K"}
    assert post(client, quality_update(both)).status_code == 200
    assert limits(session)[WABA_A] == (10_000, "TIER_10K")
    assert (
        post(client, quality_update({"current_limit": "100000"}, at=1764979300)).status_code == 200
    )
    assert limits(session)[WABA_A] == (100_000, "100000")
    unlimited = {"max_daily_conversations_per_business": "TIER_UNLIMITED"}
    assert post(client, quality_update(unlimited, at=1764979400)).status_code == 200
    assert limits(session)[WABA_A] == (None, "TIER_UNLIMITED")


def test_a_label_that_is_no_limit_changes_nothing(clean_app, session, org_a):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    client = clean_app.test_client()
    assert post(client, quality_update({"current_limit": "TIER_2K"})).status_code == 200
    not_set = quality_update({"current_limit": "TIER_NOT_SET"}, at=1764979300)
    assert post(client, not_set).status_code == 200
    assert post(client, quality_update({}, at=1764979400)).status_code == 200  # a flag only
    assert limits(session)[WABA_A] == (2_000, "TIER_2K")


def test_a_business_account_field_drip_does_not_read_is_answered_and_ignored(
    clean_app, session, org_a
):
    connect(session, org_a.org_id, PHONE_A, SECRET_A, WABA_A)
    change = {
        "field": "account_update",
        "value": {"phone_number": "15550783881", "event": "VERIFIED_ACCOUNT"},
    }
    entry = {"id": WABA_A, "time": 1764979200, "changes": [change]}
    body = json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()
    answer = post(clean_app.test_client(), body)
    assert answer.status_code == 200, answer.json
    assert answer.json["data"]["ignored"] is True
    assert limits(session)[WABA_A] == (None, None)
