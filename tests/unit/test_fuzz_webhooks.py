"""Hypothesis fuzzing of the webhook parser (app/whatsapp/webhook.py) beyond the shapes of
test_webhook_parsing.py: Meta's real deliveries with one value swapped for an odd one (wrong
type, NUL, unpaired surrogate, huge or non-ASCII text, huge number), and odd bytes.

The contract: decode() and parse() either answer or raise WebhookFormatError with a message
naming the field; nothing else escapes. What parse() answers can be stored as it is: no NUL
or surrogate in any text, ids of at most 128 characters, aware UTC timestamps, error codes
that are small numbers or None.
"""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.whatsapp import webhook
from app.whatsapp.webhook import MAX_ID_LENGTH, MAX_TYPE_LENGTH, WebhookFormatError

FIXTURES = Path("/work/shared/fixtures/whatsapp")
DELIVERIES = [
    json.loads((FIXTURES / name).read_bytes())
    for name in (
        "status_delivered_signed.txt",
        "statuses_sent_and_failed.json",
        "status_read_without_delivered.json",
        "inbound_text_reply.json",
        "inbound_buttons.json",
        "inbound_stop.json",
        "user_preferences_stop.json",
    )
]
ODD_TEXT = st.one_of(
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "١٢٣", "²", "\u202e", "?"]),
    st.text(st.characters(codec=None, categories=None), max_size=40),
    st.builds(lambda c, n: c * n, st.sampled_from(["9", "é", "w"]), st.integers(100, 20_000)),
)
ODD_VALUE = (
    ODD_TEXT
    | st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False)
    | st.just([])
    | st.just({})
    | st.lists(ODD_TEXT, max_size=2)
)


def paths(value, prefix=()):
    """Every path to a value inside a JSON document, containers included."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def replaced(document, path, new):
    if not path:
        return new
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


@st.composite
def mutated_deliveries(draw):
    """A real delivery with one to three of its values (at any depth) replaced."""
    delivery = draw(st.sampled_from(DELIVERIES))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(paths(delivery))[1:]))
        delivery = replaced(delivery, path, draw(ODD_VALUE))
    return delivery


def storable(text) -> bool:
    if text is None:
        return True
    assert isinstance(text, str)
    assert "\x00" not in text
    text.encode("utf-8")  # no unpaired surrogate
    return True


def check_parsed(batch: webhook.WebhookBatch) -> None:
    for phone_number_id, part in batch.accounts.items():
        assert storable(phone_number_id) and 0 < len(phone_number_id) <= MAX_ID_LENGTH
        for status in part.statuses:
            assert storable(status.wamid) and 0 < len(status.wamid) <= MAX_ID_LENGTH
            assert storable(status.status) and status.status
            assert status.timestamp.utcoffset() == UTC.utcoffset(None)
            assert storable(status.recipient) and storable(status.callback_data)
            for error in status.errors:
                code = error.get("code")
                assert code is None or (type(code) is int and 0 <= code < 10**9)
                for key in ("title", "message", "error_user_msg"):
                    assert storable(error.get(key))
                assert storable((error.get("error_data") or {}).get("details"))
        for message in part.messages:
            assert storable(message.message_id) and 0 < len(message.message_id) <= MAX_ID_LENGTH
            assert storable(message.from_phone) and 0 < len(message.from_phone) <= MAX_ID_LENGTH
            assert storable(message.message_type) and len(message.message_type) <= MAX_TYPE_LENGTH
            assert message.timestamp.utcoffset() == UTC.utcoffset(None)
            for text in (message.text, message.button_payload, message.button_title):
                assert storable(text)
            assert storable(message.profile_name)
            assert message.context_wamid is None or (
                storable(message.context_wamid) and len(message.context_wamid) <= MAX_ID_LENGTH
            )
        for opt_out in part.opt_outs:
            assert storable(opt_out.wa_id) and 0 < len(opt_out.wa_id) <= MAX_ID_LENGTH
            assert opt_out.timestamp.utcoffset() == UTC.utcoffset(None)


def parse_or_clear_error(payload) -> None:
    try:
        webhook.phone_number_ids(payload)
        batch = webhook.parse_delivery(payload)
    except WebhookFormatError as exc:
        assert str(exc).strip()
        return
    check_parsed(batch)


@settings(max_examples=300, deadline=None)
@given(mutated_deliveries())
def test_real_deliveries_with_odd_values_parse_cleanly_or_say_why(delivery):
    body = json.dumps(delivery).encode()  # ensure_ascii: a lone surrogate travels as \\ud800
    try:
        payload = webhook.decode_delivery(body)
    except WebhookFormatError as exc:
        assert str(exc).strip()
        return
    parse_or_clear_error(payload)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(DELIVERIES),
    st.sampled_from(["\x00", "\ud800", "é" * 3000, "wamid." + "9" * 200]),
)
def test_odd_text_anywhere_is_cleaned_or_refused(delivery, odd):
    """Every string of a real delivery replaced by the same odd one."""

    def swap(value):
        if isinstance(value, str):
            return odd
        if isinstance(value, dict):
            return {key: swap(item) for key, item in value.items()}
        if isinstance(value, list):
            return [swap(item) for item in value]
        return value

    parse_or_clear_error(webhook.decode_delivery(json.dumps(swap(delivery)).encode()))


ODD_BODIES = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda n: b"[" * n + b"]" * n, st.integers(1, 200_000)),
    st.builds(lambda n: b'{"entry": ' + b"[" * n + b"]" * n + b"}", st.integers(1, 200_000)),
    st.builds(lambda n: b'{"entry": [], "x": ' + b"9" * n + b"}", st.integers(1, 10_000)),
    st.sampled_from(
        [
            b"\xef\xbb\xbf{}",
            b"\xff\xfe{\x00}\x00",
            b'{"entry": NaN}',
            b'{"entry": [Infinity]}',
            b'{"entry": [1e999]}',
            b'{"entry": [], "entry": {}}',
            b'{"entry": ["\\ud800"]}',
        ]
    ),
)


@settings(max_examples=150, deadline=None)
@given(ODD_BODIES)
def test_odd_bodies_decode_or_say_why(body):
    try:
        payload = webhook.decode_delivery(body)
    except WebhookFormatError as exc:
        assert str(exc).strip()
        return
    parse_or_clear_error(payload)
