"""Batches of rows written by one UPDATE (app.drip.sql.Rows): each row gets its own values on
both databases, and on PostgreSQL the rollup triggers run once per batch, not once per row."""

from __future__ import annotations

from sqlalchemy import BigInteger, String, func, select, update

from app.drip.sql import Rows
from app.extensions import db
from app.models import Contact, DripActivityRollup, DripEnrollmentRollup
from tests.integration.test_processor import NOW, fake, run, world  # noqa: F401 (fixtures)

SENT, EVENT_TIME = 1, 0  # app.drip.activity's metric and axis numbers


def _contacts(session, org_id: int, count: int) -> list[int]:
    contacts = [
        Contact(organization_id=org_id, phone=f"+1202555{i:04d}", first_name=f"C{i}")
        for i in range(count)
    ]
    session.add_all(contacts)
    session.flush()
    return [c.id for c in contacts]


def _names(session, ids):
    return [session.get(Contact, i, populate_existing=True).first_name for i in ids]


def test_each_row_gets_its_own_values(session, org_a):
    ids = _contacts(session, org_a.org_id, 4)
    rows = [{"b_id": i, "b_name": f"N{i}"} for i in ids[:3]] + [{"b_id": ids[3], "b_name": None}]
    batch = Rows(session, rows, {"b_id": BigInteger(), "b_name": String()})
    table = Contact.__table__
    batch.execute(update(table).where(table.c.id == batch.c.b_id).values(first_name=batch.c.b_name))
    assert _names(session, ids) == [f"N{i}" for i in ids[:3]] + [None]
    assert batch.set_based == (session.get_bind().dialect.name == "postgresql")


def test_a_batch_that_repeats_a_row_applies_each_in_turn(session, org_a):
    """Like an executemany: the row's later value wins (UPDATE ... FROM would pick one)."""
    ids = _contacts(session, org_a.org_id, 2)
    rows = [{"b_id": ids[0], "b_name": "first"}, {"b_id": ids[0], "b_name": "second"}]
    batch = Rows(session, rows, {"b_id": BigInteger(), "b_name": String()})
    table = Contact.__table__
    batch.execute(update(table).where(table.c.id == batch.c.b_id).values(first_name=batch.c.b_name))
    assert not batch.set_based
    assert _names(session, ids) == ["second", "C1"]


def test_an_empty_batch_runs_nothing(session):
    batch = Rows(session, [], {"b_id": BigInteger()})
    batch.execute(None)  # a statement would fail: nothing is executed


def test_recording_a_batch_runs_the_rollup_triggers_once_per_statement(
    clean_app,
    world,  # noqa: F811
    fake,  # noqa: F811
):
    """Three sends of one step recorded together: on PostgreSQL the statement-level triggers
    see the three in one transition table and write one grouped delta per key (an executemany
    wrote three); SQLite's row triggers write one per row, as they always did."""
    run(clean_app, NOW)
    with clean_app.app_context():
        session = db.session
        sent_deltas = session.scalar(
            select(func.count()).where(
                DripActivityRollup.metric == SENT, DripActivityRollup.axis == EVENT_TIME
            )
        )
        sent_total = session.scalar(
            select(func.sum(DripActivityRollup.count)).where(
                DripActivityRollup.metric == SENT, DripActivityRollup.axis == EVENT_TIME
            )
        )
        enrollment_deltas = session.scalar(select(func.count()).select_from(DripEnrollmentRollup))
    assert sent_total == 3
    if clean_app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert sent_deltas == 1
    else:
        assert sent_deltas == 3
    assert enrollment_deltas > 0
