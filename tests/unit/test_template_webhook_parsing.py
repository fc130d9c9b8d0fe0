"""Template webhooks (they arrive on the WABA: entry.id is the WABA id, no phone number id)
parsed into TemplateUpdate, with the phone-number routing unaffected."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.whatsapp import TemplateUpdate, webhook

SHARED = Path("/work/shared/fixtures/whatsapp")
OURS = Path(__file__).resolve().parents[1] / "fakes" / "fixtures"
WABA = "102290129340398"
AT = datetime.fromtimestamp(1764979200, tz=UTC)


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def updates(payload: dict) -> list[TemplateUpdate]:
    batch = webhook.parse_delivery(payload)
    assert batch.accounts == {}
    return [u for found in batch.templates.values() for u in found]


def test_a_status_update():
    payload = load(SHARED / "template_status_update.json")
    assert webhook.phone_number_ids(payload) == []
    assert webhook.business_account_ids(payload) == [WABA]
    assert updates(payload) == [
        TemplateUpdate(
            business_account_id=WABA,
            kind="status",
            occurred_at=AT,
            name="drip_welcome",
            language="en_US",
            template_id="1203948576601",
            value="PAUSED",
            reason=None,
        )
    ]


def test_a_quality_update():
    (update,) = updates(load(SHARED / "template_quality_update.json"))
    assert (update.kind, update.value, update.template_id) == ("quality", "RED", "1203948576601")
    assert update.occurred_at == AT


def test_a_completed_category_change_and_an_impending_one():
    (update,) = updates(load(OURS / "template_category_update.json"))
    assert (update.kind, update.value, update.category) == ("category", "MARKETING", "MARKETING")
    # Impending: new_category is still the current category; nothing changes yet.
    assert updates(load(OURS / "template_category_update_impending.json")) == []


def test_reason_and_category_of_a_status_update():
    (update,) = updates(load(OURS / "template_status_update_second_waba.json"))
    assert (update.value, update.reason, update.category) == (
        "REJECTED",
        "INVALID_FORMAT",
        "MARKETING",
    )
    payload = load(SHARED / "template_status_update.json")
    payload["entry"][0]["changes"][0]["value"]["reason"] = "NONE"
    assert updates(payload)[0].reason is None


def test_a_delivery_mixing_phone_numbers_and_a_waba():
    status = load(SHARED / "statuses_sent_and_failed.json")
    template = load(SHARED / "template_status_update.json")
    mixed = {"object": "whatsapp_business_account", "entry": status["entry"] + template["entry"]}
    assert webhook.phone_number_ids(mixed) == webhook.phone_number_ids(status)
    assert webhook.business_account_ids(mixed) == [WABA]
    batch = webhook.parse_delivery(mixed)
    assert sum(len(a.statuses) for a in batch.accounts.values()) == 2
    assert [u.value for u in batch.templates[WABA]] == ["PAUSED"]


def change_of(payload: dict) -> dict:
    return payload["entry"][0]["changes"][0]["value"]


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda p: p["entry"][0].pop("time"), "entry[0].time must be epoch seconds"),
        (lambda p: p["entry"][0].update(time=-5), "entry[0].time is out of range"),
        (lambda p: p["entry"][0].pop("id"), "entry[0].id is required"),
        (lambda p: change_of(p).pop("message_template_name"), "message_template_name is required"),
        (lambda p: change_of(p).update(message_template_language="x" * 17), "longer than 16"),
        (lambda p: change_of(p).update(message_template_id="12ab"), "must be a number"),
        (lambda p: change_of(p).update(message_template_id=True), "must be a number"),
        (lambda p: change_of(p).update(event=None), "event is required"),
        (lambda p: change_of(p).update(reason=7), "reason must be a string"),
    ],
)
def test_a_malformed_template_change_is_refused_in_words(edit, words):
    payload = copy.deepcopy(load(SHARED / "template_status_update.json"))
    edit(payload)
    with pytest.raises(
        webhook.WebhookFormatError, match=words.replace("[", r"\[").replace("]", r"\]")
    ):
        webhook.business_account_ids(payload)
        webhook.parse_delivery(payload)


def test_a_template_id_given_as_digits_is_taken():
    payload = load(SHARED / "template_quality_update.json")
    change_of(payload)["message_template_id"] = " 42 "
    assert updates(payload)[0].template_id == "42"
