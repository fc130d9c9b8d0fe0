"""The SQL a status delivery costs (issue 21): a fixed number of statements whatever the number
of statuses, none of them run once per status (on PostgreSQL an executemany is one statement
per parameter set, each running the logs' rollup triggers), and a repeat costs fewer still."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager

from sqlalchemy import event, select

from app.extensions import db
from app.models import DripMessageLog
from tests.integration.test_webhook import PHONE_A, post, snapshot, world

WAMIDS = tuple(f"wamid.STATEMENTS{i:04d}" for i in range(30))
# Routing, the delivery recorded once (lock and insert-or-find on PostgreSQL, find and insert
# on SQLite), the logs locked, the events recorded, the logs written, the delivery marked
# applied; a read adds the question whether the organization has branches.
DELIVERED_STATEMENTS = 7
READ_STATEMENTS = 8
REPEAT_STATEMENTS = 3


def delivery(wamids, status: str, at: int) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": PHONE_A},
        "statuses": [
            {"id": w, "status": status, "timestamp": str(at), "recipient_id": "447700900123"}
            for w in wamids
        ],
    }
    change = {"field": "messages", "value": value}
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}
    return json.dumps(payload).encode()


@contextmanager
def counting(backend: str):
    """[statements, statements the database runs]: an executemany counts once in the first,
    once per parameter set in the second."""
    counts = [0, 0]

    def count(conn, cursor, statement, parameters, context, executemany):
        counts[0] += 1
        counts[1] += len(parameters) if executemany else 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_status_delivery_costs_the_same_statements_for_5_or_25_statuses(
    backend, clean_app, session, org_a
):
    client = clean_app.test_client()
    world(session, org_a.org_id, wamids=WAMIDS)
    at = int(time.time()) - 60
    small, large = delivery(WAMIDS[:5], "delivered", at), delivery(WAMIDS[5:], "delivered", at)
    with counting(backend) as for_5:
        assert post(client, small).get_json()["data"]["statuses"] == 5
    with counting(backend) as for_25:
        assert post(client, large).get_json()["data"]["statuses"] == 25
    assert for_5[0] == for_25[0] <= DELIVERED_STATEMENTS
    if backend == "postgresql":  # SQLite writes the logs in an executemany, row by row
        assert for_5[1] == for_25[1] == for_25[0]

    reads = delivery(WAMIDS[5:], "read", at + 1)
    with counting(backend) as for_reads:
        assert post(client, reads).get_json()["data"]["statuses"] == 25
    assert for_reads[0] <= READ_STATEMENTS
    session.expire_all()
    logs = session.scalars(select(DripMessageLog).where(DripMessageLog.wamid.in_(WAMIDS[5:])))
    assert {(log.status, log.read_at is not None) for log in logs} == {("read", True)}

    before = snapshot(session, org_a.org_id)
    with counting(backend) as repeat:
        assert post(client, reads).status_code == 200
    assert repeat[0] <= REPEAT_STATEMENTS
    assert snapshot(session, org_a.org_id) == before
