"""Parsing webhooks of users known by their business-scoped user id (BSUID): messages without
`from` or `wa_id`, statuses with `recipient_user_id`, preferences with `user_id` alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.whatsapp.webhook import WebhookFormatError, parse_delivery

FIXTURES = Path(__file__).resolve().parents[1] / "fakes" / "fixtures"
BSUID = "US.13491208655302741918"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def only_value(body: dict) -> dict:
    return body["entry"][0]["changes"][0]["value"]


def test_a_message_without_from_carries_the_bsuid_and_the_profile_name():
    [batch] = parse_delivery(fixture("inbound_text_bsuid_only.json")).accounts.values()
    [message] = batch.messages
    assert (message.from_phone, message.from_user_id) == (None, BSUID)
    assert message.profile_name == "Maya Lopes"
    assert message.text == "Hello, is the spring offer still on?"


def test_without_from_user_id_the_bsuid_is_the_contacts_entry_user_id():
    body = fixture("inbound_text_bsuid_only.json")
    del only_value(body)["messages"][0]["from_user_id"]
    [batch] = parse_delivery(body).accounts.values()
    assert batch.messages[0].from_user_id == BSUID


def test_a_message_with_both_carries_both():
    body = fixture("inbound_text_bsuid_only.json")
    value = only_value(body)
    value["contacts"][0]["wa_id"] = value["messages"][0]["from"] = "447700900123"
    [batch] = parse_delivery(body).accounts.values()
    message = batch.messages[0]
    assert (message.from_phone, message.from_user_id) == ("447700900123", BSUID)


def test_a_message_naming_no_sender_is_a_format_error():
    body = fixture("inbound_text_bsuid_only.json")
    value = only_value(body)
    del value["messages"][0]["from_user_id"]
    del value["contacts"]
    with pytest.raises(WebhookFormatError, match="from_user_id"):
        parse_delivery(body)


def test_statuses_carry_the_recipient_user_id():
    [batch] = parse_delivery(fixture("statuses_bsuid_only.json")).accounts.values()
    assert [(s.status, s.recipient, s.recipient_user_id) for s in batch.statuses] == [
        ("sent", None, BSUID),
        ("delivered", None, BSUID),
        ("failed", None, BSUID),
    ]


def test_a_preference_stop_of_a_user_without_phone_names_their_bsuid():
    body = {
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "user_preferences",
                        "value": {
                            "metadata": {"phone_number_id": "9"},
                            "user_preferences": [
                                {
                                    "user_id": BSUID,
                                    "timestamp": 1767225600,
                                    "category": "marketing_messages",
                                    "value": "stop",
                                }
                            ],
                        },
                    }
                ],
            }
        ]
    }
    [opt_out] = parse_delivery(body).accounts["9"].opt_outs
    assert (opt_out.wa_id, opt_out.user_id) == (None, BSUID)
