"""Hypothesis fuzzing of the webhook pipeline end to end, on SQLite and PostgreSQL: signed
deliveries of Meta's shape carrying odd values (wrong-but-plausible types, NUL, unpaired
surrogates, huge and non-ASCII strings, huge numbers) in every field the parser reads.

A delivery is either refused as malformed (400, the error envelope naming the field) or
recorded and applied (200) in the request: its application never fails and leaves it for the
sweeper (`deferred`), as a delivery that can never apply would be retried forever. The unit
fuzz of the parser alone is in tests/unit/test_webhook_parsing.py and test_fuzz_webhooks.py.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.models import WebhookEvent
from tests.integration.test_webhook import ANA, BEN, PHONE_A, post, world

WAMIDS = ("wamid.FAKE0001", "wamid.FAKE0002", "wamid.FAKE0003")
# Strings no well-behaved sender writes, but JSON can carry.
ODD_TEXT = st.one_of(
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "٣٤٥", "𝟙𝟚", "\u202e"]),
    st.text(st.characters(codec=None, categories=None), max_size=30),
    st.builds(lambda c, n: c * n, st.sampled_from(["9", "é", "w", " "]), st.integers(100, 5000)),
)
WRONG_TYPE = st.none() | st.integers(-(2**70), 2**70) | st.booleans() | st.just([]) | st.just({})


def mostly(valid, odd=ODD_TEXT, wrong=WRONG_TYPE):
    """Usually a value Meta would send, sometimes an odd one of the right type, rarely one of
    the wrong type: a delivery carries a few odd fields among plausible ones, so it gets past
    the parser's first check and reaches the database."""
    return st.integers(0, 15).flatmap(lambda n: wrong if n == 0 else odd if n < 3 else valid)


TEXT = mostly(st.sampled_from(["Sounds good", "stop", "STOP ", "Tell me more 👋"]))
TIMESTAMP = mostly(
    st.sampled_from(["1767225600", "1767226000"]) | st.integers(0, 253402300799),
    st.sampled_from(["0", "253402300800", "1767225600.5", " 17 ", "-1", "9" * 13])
    | st.integers(-(2**64), 2**64)
    | ODD_TEXT,
)
WAMID = mostly(st.sampled_from(WAMIDS))
FROM = mostly(st.sampled_from([ANA[1:], BEN[1:], ANA, "0" + BEN[3:]]))
ERROR = st.fixed_dictionaries(
    {},
    optional={
        "code": mostly(
            st.sampled_from([131050, 131026, 130429, 131047, 470]),
            st.integers(-(2**70), 2**70) | ODD_TEXT,
        ),
        "title": TEXT,
        "message": TEXT,
        "error_data": st.fixed_dictionaries({}, optional={"details": TEXT}),
    },
)
STATUS = st.fixed_dictionaries(
    {
        "id": WAMID,
        "status": mostly(st.sampled_from(["sent", "delivered", "read", "failed", "deleted"])),
        "timestamp": TIMESTAMP,
    },
    optional={
        "recipient_id": FROM,
        "biz_opaque_callback_data": mostly(
            st.sampled_from(["log=1", "log=2", "log=99999999999999999999999", "log=-1"])
        ),
        "errors": st.lists(ERROR, max_size=2),
    },
)
MESSAGE = st.fixed_dictionaries(
    {
        "from": FROM,
        "id": mostly(st.builds("wamid.IN{}".format, st.integers(0, 10**6))),
        "timestamp": TIMESTAMP,
        "type": mostly(st.sampled_from(["text", "button", "interactive", "image"])),
    },
    optional={
        "text": st.fixed_dictionaries({"body": TEXT}),
        "button": st.fixed_dictionaries({"payload": TEXT, "text": TEXT}),
        "interactive": st.fixed_dictionaries(
            {
                "type": st.just("button_reply"),
                "button_reply": st.fixed_dictionaries({"id": TEXT, "title": TEXT}),
            }
        ),
        "context": st.fixed_dictionaries({"id": WAMID}),
    },
)
PREFERENCE = st.fixed_dictionaries(
    {
        "wa_id": FROM,
        "value": mostly(st.sampled_from(["stop", "resume"])),
        "category": mostly(st.just("marketing_messages")),
        "timestamp": TIMESTAMP,
    }
)
CONTACT = st.fixed_dictionaries({"wa_id": FROM, "profile": st.fixed_dictionaries({"name": TEXT})})
VALUE = st.fixed_dictionaries(
    {
        "messaging_product": st.just("whatsapp"),
        "metadata": st.just({"phone_number_id": PHONE_A}),
        "statuses": st.lists(STATUS, max_size=3),
        "messages": st.lists(MESSAGE, max_size=2),
    },
    optional={
        "contacts": st.lists(CONTACT, max_size=2),
        "user_preferences": st.lists(PREFERENCE, max_size=2),
    },
)
CHANGE = st.fixed_dictionaries(
    {"field": st.sampled_from(["messages"] * 3 + ["user_preferences"]), "value": VALUE}
)
DELIVERY = st.fixed_dictionaries(
    {
        "object": st.just("whatsapp_business_account"),
        "entry": st.lists(
            st.fixed_dictionaries({"id": st.just("1"), "changes": st.lists(CHANGE, max_size=2)}),
            min_size=1,
            max_size=2,
        ),
    }
)


def test_odd_deliveries_are_refused_or_applied_never_deferred(clean_app, session, org_a):
    world(session, org_a.org_id, wamids=WAMIDS)
    client = clean_app.test_client()

    @settings(
        max_examples=300,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(DELIVERY)
    def check(delivery):
        body = json.dumps(delivery).encode()
        response = post(client, body)
        assert response.status_code in (200, 400), response.get_json()
        answer = response.get_json()
        if response.status_code == 400:
            assert answer["error"]["code"] == "bad_request"
            assert answer["error"]["message"]
            return
        assert "deferred" not in answer["data"], _last_error()

    check()


def _last_error() -> str | None:
    db.session.rollback()
    return db.session.scalar(
        select(WebhookEvent.last_error)
        .where(WebhookEvent.last_error.is_not(None))
        .order_by(WebhookEvent.id.desc())
    )


@pytest.mark.parametrize(
    ("errors", "text"),
    [
        ([{"code": 10**20, "title": "x"}], "hi"),
        ([{"code": "²"}], "hi"),
        ([{"code": "1" * 30, "title": "a\x00b", "error_data": {"details": "\ud800"}}], "hi"),
        ([], "stop\x00"),
        ([], "x\udfffy"),
    ],
)
def test_what_the_fuzz_found_applies(clean_app, session, org_a, errors, text):
    """Each of these failed to apply on every try (a poison delivery for the sweeper)."""
    world(session, org_a.org_id, wamids=WAMIDS)
    status = {"id": WAMIDS[0], "status": "failed", "timestamp": "1767225600", "errors": errors}
    message = {"from": ANA[1:], "id": "wamid.IN1", "timestamp": "1767226000", "type": "text"}
    value = {
        "metadata": {"phone_number_id": PHONE_A},
        "statuses": [status],
        "messages": [{**message, "text": {"body": text}}],
    }
    delivery = {"entry": [{"changes": [{"field": "messages", "value": value}]}]}
    response = post(clean_app.test_client(), json.dumps(delivery).encode())
    assert response.status_code == 200
    assert response.get_json()["data"] == {
        "statuses": 1,
        "messages": 1,
        "templates": 0,
        "unknownStatuses": 0,
    }
