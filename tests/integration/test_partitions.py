"""Partitioned history on PostgreSQL (migration 0018, app.drip.sending.partitions): the
migration keeps every row, a month's rows land in its partition, retention drops whole old
months (never the current one), partitions are created ahead once, and the dedup keys still
take a repeat once. SQLite keeps plain tables: these tests skip there."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from app.drip import engagement, sending
from app.drip.engagement.apply import apply_inbound, apply_statuses
from app.extensions import db
from app.models import InboundMessage, WebhookEvent, WhatsAppStatusEvent
from tests.integration.enrollment_world import NOW
from tests.integration.test_engagement import inbound, one_sent, status
from tests.integration.test_migrations import empty_app  # noqa: F401 (a fixture)

TABLES = ("whatsapp_status_events", "inbound_messages", "webhook_events")


@pytest.fixture(autouse=True)
def _postgresql_only(backend):
    if backend != "postgresql":
        pytest.skip("SQLite keeps plain tables: partitions are PostgreSQL's")


def names(session, table) -> list[str]:
    return [p.name for p in sending.partitions.partitions(session, table)]


def where(session, table, row_id) -> str:
    return session.execute(
        text(f"SELECT tableoid::regclass::text FROM {table} WHERE id = :id"), {"id": row_id}
    ).scalar()


def checksum(conn, table) -> tuple[int, str]:
    """Of the columns the table had before 0018 (which adds message_created_at)."""
    row = "(to_jsonb(t) - 'message_created_at')::text"
    return tuple(
        conn.execute(
            text(
                f"SELECT count(*), md5(coalesce(string_agg({row}, '|' ORDER BY id), ''))"
                f" FROM {table} t"
            )
        ).one()
    )


LOADED = {
    "organizations": "(id, name, default_region, timezone, created_at, opt_out_keywords)"
    " VALUES (1, 'o', 'GB', 'UTC', '2026-01-01', '[]')",
    "webhook_events": "(organization_id, body_sha256, body, received_at, attempts)"
    " SELECT 1, md5(g::text), 'x', timestamptz '2026-11-03' + g * interval '1 day', 0"
    " FROM generate_series(1, 120) g",
    "inbound_messages": "(organization_id, wa_message_id, message_type, occurred_at,"
    " received_at) SELECT 1, 'in' || g, 'text', timestamptz '2026-12-01' + g * interval '1 day',"
    " now() FROM generate_series(1, 90) g",
    "whatsapp_status_events": "(organization_id, wamid, status, occurred_at, received_at)"
    " SELECT 1, 'w' || g, 'sent', timestamptz '2027-01-20' + g * interval '1 hour', now()"
    " FROM generate_series(1, 500) g",
}
# Two logs of October 2026 (their enrollments, steps... are not loaded: checks are off while
# they go in) with statuses Meta dated in 2027: those take their log's month.
LOGGED = (
    "INSERT INTO drip_message_logs (id, organization_id, enrollment_id, campaign_id, step_id,"
    " contact_id, status, attempts, created_at, updated_at) SELECT g, 1, g, 1, 1, 1, 'sent', 1,"
    " timestamptz '2026-10-15 12:00+00', now() FROM generate_series(1, 2) g",
    "INSERT INTO whatsapp_status_events (organization_id, message_log_id, wamid, status,"
    " occurred_at, received_at) SELECT 1, g, 'logged' || g, 'read',"
    " timestamptz '2027-02-01 00:30+00', now() FROM generate_series(1, 2) g",
)


def test_the_migration_keeps_every_row_of_a_loaded_database(empty_app):  # noqa: F811
    upgrade(revision="0017")
    with db.engine.begin() as conn:
        for table, rows in LOADED.items():
            conn.execute(text(f"INSERT INTO {table} {rows}"))
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in LOGGED:
            conn.execute(text(statement))
        before = {table: checksum(conn, table) for table in TABLES}
    upgrade()
    with db.engine.connect() as conn:
        assert {table: checksum(conn, table) for table in TABLES} == before
        # Each status event takes its log's created_at, Meta's time where it has no log.
        placed = conn.execute(
            text(
                "SELECT wamid, message_created_at = CASE WHEN message_log_id IS NULL"
                " THEN occurred_at ELSE timestamptz '2026-10-15 12:00+00' END,"
                " tableoid::regclass::text FROM whatsapp_status_events"
            )
        ).all()
        assert all(same for _, same, _ in placed)
        logged = {where.split(".")[-1] for wamid, _, where in placed if wamid.startswith("logged")}
        assert logged == {"whatsapp_status_events_p202610"}
        assert all(before[t][0] > 0 for t in TABLES)
        # The ids go on from the same sequence.
        next_id = conn.execute(text("SELECT nextval('webhook_events_id_seq')")).scalar()
        assert next_id == 121
    session = db.session
    months = names(session, "webhook_events")
    assert "webhook_events_p202611" in months and "webhook_events_p202703" in months
    assert months[-1] == "webhook_events_pdefault"


def test_a_months_rows_land_in_its_partition_and_old_months_are_dropped(session, org_a):
    old = NOW.replace(year=2029, month=9, day=10)
    created = sending.create_partitions_ahead(session, old) + sending.create_partitions_ahead(
        session, NOW
    )
    assert {"whatsapp_status_events_p202909", "whatsapp_status_events_p203004"} <= set(created)
    assert sending.create_partitions_ahead(session, NOW) == []  # idempotent
    *_, log = one_sent(session, org_a.org_id)
    for update in (status(log, "sent"), status(log, "delivered")):
        apply_statuses(session, org_a.org_id, [update])
    session.execute(
        text(
            "INSERT INTO whatsapp_status_events (organization_id, message_log_id, wamid, status,"
            " occurred_at, message_created_at, received_at)"
            " VALUES (:org, :log, 'old', 'read', :at, :at, :at)"
        ),
        {"org": org_a.org_id, "log": log.id, "at": old},
    )
    session.commit()
    # By their log's month, whatever Meta's time.
    rows = session.execute(select(WhatsAppStatusEvent.id, WhatsAppStatusEvent.message_created_at))
    for row_id, at in rows:
        assert where(session, "whatsapp_status_events", row_id).endswith(f"_p{at:%Y%m}")

    # 90 days before NOW is 2029-10-09: September ended before it, October did not.
    dropped = sending.drop_expired_partitions(session, NOW, days=90)
    session.commit()
    assert "whatsapp_status_events_p202909" in dropped["whatsapp_status_events"]
    assert "whatsapp_status_events_p202910" not in dropped["whatsapp_status_events"]
    left = set(session.scalars(select(WhatsAppStatusEvent.wamid)))
    assert "old" not in left and log.wamid in left
    # The month's logs go with it, not before: on a month's boundary, not a day's.
    october = datetime(2029, 10, 1, tzinfo=UTC)
    assert sending.partitions.logs_cutoff(session, NOW, days=90) == october
    # Whatever the retention, the current month stays.
    sending.drop_expired_partitions(session, NOW, days=0)
    assert "whatsapp_status_events_p203001" in names(session, "whatsapp_status_events")


def test_a_repeat_is_still_recorded_once(session, org_a):
    sending.create_partitions_ahead(session, NOW)
    *_, log = one_sent(session, org_a.org_id)
    first = engagement.record_delivery(session, b'{"a": 1}', org_a.org_id)
    session.commit()
    assert engagement.record_delivery(session, b'{"a": 1}', org_a.org_id) == (first[0], False)
    # Meta's timestamp of a repeat may differ (a month apart here): it is still the one status.
    for seconds in (5, 5, 31 * 86400):
        apply_statuses(session, org_a.org_id, [status(log, "delivered", seconds)])
        session.commit()
    message = inbound("+447700900123", message_id="wamid.IN.repeat")
    for _ in range(2):
        apply_inbound(session, org_a.org_id, message)
        session.commit()
    counts = {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        for model in (WebhookEvent, WhatsAppStatusEvent, InboundMessage)
    }
    assert counts == {"webhook_events": 1, "whatsapp_status_events": 1, "inbound_messages": 1}
