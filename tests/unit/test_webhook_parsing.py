"""Parsing Meta's webhook JSON and checking its signature: pure, on the real fixtures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.whatsapp import webhook
from app.whatsapp.webhook import WebhookFormatError

FIXTURES = Path("/work/shared/fixtures/whatsapp")
SIGNATURE = "sha256=86ec1cb34066b409e07f400357acd575abdf8727b40d532b139258ce4ced4744"
PHONE_ID = "900000000000001"


def fixture(name: str) -> dict:
    return webhook.decode_delivery((FIXTURES / name).read_bytes())


def account(name: str) -> webhook.AccountBatch:
    batch = webhook.parse_delivery(fixture(name))
    assert list(batch.accounts) == [PHONE_ID]
    return batch.accounts[PHONE_ID]


def test_signature_of_the_signed_fixture():
    body = (FIXTURES / "status_delivered_signed.txt").read_bytes()
    secret = (FIXTURES / "signing_secret.txt").read_text().strip()
    assert webhook.verify_signature(body, SIGNATURE, secret)
    assert webhook.signature_for(body, secret) == SIGNATURE
    assert webhook.verify_signature(body, SIGNATURE.upper().replace("SHA256=", "sha256="), secret)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha1=" + SIGNATURE[7:], SIGNATURE[:-1] + "0", SIGNATURE[7:], "sha256=é"],
)
def test_bad_signatures_are_refused(header):
    body = (FIXTURES / "status_delivered_signed.txt").read_bytes()
    assert not webhook.verify_signature(body, header, "test_app_secret")


def test_the_signature_covers_the_raw_bytes():
    body = (FIXTURES / "status_delivered_signed.txt").read_bytes()
    assert not webhook.verify_signature(body + b" ", SIGNATURE, "test_app_secret")
    assert not webhook.verify_signature(body, SIGNATURE, "other_secret")
    reserialised = json.dumps(json.loads(body)).encode()
    assert not webhook.verify_signature(reserialised, SIGNATURE, "test_app_secret")


def test_signed_status():
    (status,) = account("status_delivered_signed.txt").statuses
    assert status.wamid == "wamid.FAKE0001"
    assert status.status == "delivered"
    assert status.timestamp == datetime.fromtimestamp(1767225660, tz=UTC)
    assert status.timestamp.tzinfo is not None
    assert status.recipient == "447700900123"
    assert status.callback_data is None
    assert status.errors == []


def test_sent_and_failed_statuses():
    sent, failed = account("statuses_sent_and_failed.json").statuses
    assert (sent.wamid, sent.status, sent.callback_data) == ("wamid.FAKE0001", "sent", "log=981")
    assert failed.status == "failed"
    assert failed.errors[0]["code"] == 131050
    assert failed.recipient == "447700900456"


def test_text_reply_with_context_and_profile_name():
    part = account("inbound_text_reply.json")
    assert part.statuses == []
    (message,) = part.messages
    assert message.message_id == "wamid.INBOUND0001"
    assert message.from_phone == "447700900123"
    assert message.message_type == "text"
    assert message.text == "Sounds good, tell me more"
    assert message.context_wamid == "wamid.FAKE0001"
    assert message.profile_name == "Ana Souza"
    assert message.timestamp == datetime.fromtimestamp(1767226000, tz=UTC)


def test_stop_text_is_kept_as_sent():
    (message,) = account("inbound_stop.json").messages
    assert message.text == "  stop "
    assert message.context_wamid is None


def test_buttons():
    quick, interactive = account("inbound_buttons.json").messages
    assert (quick.message_type, quick.button_payload, quick.button_title) == (
        "button",
        "optout",
        "Stop promotions",
    )
    assert quick.text is None
    assert quick.context_wamid == "wamid.FAKE0001"
    assert (interactive.message_type, interactive.button_payload, interactive.button_title) == (
        "interactive",
        "book_demo",
        "Book a demo",
    )


def test_list_reply_and_unknown_types():
    value = {
        "metadata": {"phone_number_id": PHONE_ID},
        "messages": [
            {
                "from": "1",
                "id": "m1",
                "timestamp": "10",
                "type": "interactive",
                "interactive": {"type": "list_reply", "list_reply": {"id": "x", "title": "X"}},
            },
            {"from": "1", "id": "m2", "timestamp": "11", "type": "image", "image": {"id": "i"}},
            {"from": "1", "id": "m3", "timestamp": "12"},
        ],
    }
    payload = {"entry": [{"changes": [{"field": "messages", "value": value}]}]}
    first, image, untyped = webhook.parse_delivery(payload).accounts[PHONE_ID].messages
    assert (first.button_payload, first.button_title) == ("x", "X")
    assert (image.message_type, image.text) == ("image", None)
    assert (untyped.message_type, untyped.text) == ("unknown", None)


def test_user_preferences_stop():
    part = account("user_preferences_stop.json")
    assert part.messages == [] and part.statuses == []
    (opt_out,) = part.opt_outs
    assert opt_out.wa_id == "447700900123"
    assert opt_out.timestamp == datetime.fromtimestamp(1767226200, tz=UTC)


def test_routing_ids_of_several_entries():
    def change(pid):
        return {"field": "messages", "value": {"metadata": {"phone_number_id": pid}}}

    payload = {"entry": [{"changes": [change("2"), change("1")]}, {"changes": [change("2")]}]}
    assert webhook.phone_number_ids(payload) == ["2", "1"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'"x"', "JSON object"),
        (b"{}", "'entry' list"),
        (b'{"entry": {}}', "'entry' list"),
        (b'{"entry": [1]}', "entry[0] must be an object"),
        (b'{"entry": [{"changes": 3}]}', "entry[0].changes must be a list"),
        (b'{"entry": [{"changes": [{"value": 1}]}]}', "changes[0].value must be an object"),
        (b'{"entry": [{"changes": [{"value": {}}]}]}', "metadata must be an object"),
        (
            b'{"entry": [{"changes": [{"value": {"metadata": {"phone_number_id": 9}}}]}]}',
            "phone_number_id must be a string",
        ),
    ],
)
def test_bad_shapes_say_what_is_wrong(body, words):
    with pytest.raises(WebhookFormatError) as raised:
        webhook.phone_number_ids(webhook.decode_delivery(body))
    assert words in str(raised.value)


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ({"status": "sent", "timestamp": "1"}, "statuses[0].id is required"),
        ({"id": "w", "status": "sent", "timestamp": "soon"}, "timestamp must be epoch"),
        ({"id": "w", "status": "sent", "timestamp": "9" * 20}, "out of range"),
        ({"id": "w", "status": "sent", "timestamp": "1", "errors": {}}, "errors must be a list"),
        ({"id": "w", "status": 3, "timestamp": "1"}, "status must be a string"),
    ],
)
def test_bad_statuses(status, words):
    value = {"metadata": {"phone_number_id": PHONE_ID}, "statuses": [status]}
    with pytest.raises(WebhookFormatError) as raised:
        webhook.parse_delivery({"entry": [{"changes": [{"value": value}]}]})
    assert words in str(raised.value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=30,
)
KEYS = st.sampled_from(
    ["entry", "changes", "value", "field", "metadata", "phone_number_id", "statuses", "messages",
     "id", "status", "timestamp", "errors", "from", "type", "text", "body", "button", "payload",
     "interactive", "button_reply", "list_reply", "title", "context", "contacts", "profile",
     "name", "wa_id", "user_preferences", "category", "recipient_id"]
)  # fmt: skip
# Shaped like a delivery, with the field names Meta uses, so the fuzz reaches deep.
NEAR_WEBHOOK = st.recursive(
    st.none() | st.integers() | st.text(max_size=8) | st.sampled_from(["1767225600", "stop", "1"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=40,
)


def _parse_everything(payload):
    try:
        webhook.phone_number_ids(payload)
        webhook.parse_delivery(payload)
    except WebhookFormatError as exc:
        assert str(exc)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_never_crashes_on_arbitrary_json(payload):
    try:
        decoded = webhook.decode_delivery(json.dumps(payload).encode())
    except WebhookFormatError as exc:
        assert str(exc)
        return
    _parse_everything(decoded)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(KEYS, NEAR_WEBHOOK, max_size=4), st.lists(NEAR_WEBHOOK, max_size=3))
def test_never_crashes_on_near_webhooks(top, entries):
    _parse_everything({**top, "entry": entries})


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_never_crashes_on_arbitrary_bytes(body):
    try:
        _parse_everything(webhook.decode_delivery(body))
    except WebhookFormatError as exc:
        assert str(exc)
