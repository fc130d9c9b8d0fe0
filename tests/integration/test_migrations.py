"""Migrations build the schema the models describe, and take it down again, on both databases.

A model changed without a migration fails `test_models_match_the_migrations`: Alembic's
autogenerate comparison of the migrated database against the models must find nothing.
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import Column, Integer, MetaData, String, Table, inspect, text

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Base
from tests.conftest import database_url


@pytest.fixture
def empty_app(backend, tmp_path_factory):
    application = create_app(
        TestConfig(database_url=database_url(backend, tmp_path_factory, "migrations"))
    )
    with application.app_context():
        yield application
        db.engine.dispose()


def schema_diff(metadata: MetaData) -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_upgrade_from_empty_then_downgrade_to_nothing(empty_app):
    assert table_names() == set()
    upgrade()
    assert table_names() == set(Base.metadata.tables) | {"alembic_version"}
    downgrade(revision="base")
    assert table_names() == {"alembic_version"}
    # And back up again: a downgrade leaves nothing behind that blocks the next upgrade.
    upgrade()
    assert table_names() == set(Base.metadata.tables) | {"alembic_version"}


def test_models_match_the_migrations(empty_app):
    upgrade()
    assert schema_diff(Base.metadata) == []


def test_a_model_change_without_a_migration_is_detected(empty_app):
    """The comparison above can fail: a column, table or index only in the models shows up."""
    upgrade()
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["contacts"].append_column(Column("nickname", String(40)))
    Table("unmigrated", changed, Column("id", Integer, primary_key=True))
    diff = schema_diff(changed)
    kinds = {entry[0] if isinstance(entry, tuple) else entry[0][0] for entry in diff}
    assert "add_column" in kinds
    assert "add_table" in kinds


def test_partial_unique_indexes_exist_in_the_database(empty_app):
    upgrade()
    indexes = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("drip_enrollments")}
    live = indexes["uq_drip_enrollments_live_campaign_contact"]
    assert live["unique"]
    assert live["column_names"] == ["campaign_id", "contact_id"]
    due = indexes["ix_drip_enrollments_status_next_send_at"]
    assert due["column_names"] == ["status", "next_send_at"]


TRIGGER_FUNCTIONS = """
    SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace
    WHERE s.nspname = current_schema() AND p.proname LIKE 'drip_%'
"""


def test_large_trigger_statements_are_planned_for_their_rows(empty_app, backend):
    """0009: the rollup and A/B trigger functions keep their cached plan for changes of a few
    rows and run larger ones through EXECUTE, planned for the rows at hand, so a bulk UPDATE
    after a one-row one on the same connection is not joined with the one-row statement's
    nested loop (20,000 rows: 17.6 s, now 0.05 s), while a webhook's one-row UPDATE pays no
    planning (0.23 ms, EXECUTE every time: 1.4 ms)."""
    if backend != "postgresql":
        pytest.skip("SQLite's row triggers cache no plans")
    upgrade(revision="0008")

    def sources() -> dict[str, str]:
        with db.engine.connect() as conn:
            return {n: src.strip() for n, src in conn.execute(text(TRIGGER_FUNCTIONS))}

    static = sources()
    assert len(static) == 6 and not any("EXECUTE" in s for s in static.values())
    upgrade()
    hybrid = sources()
    assert hybrid.keys() == static.keys()
    for name, source in hybrid.items():
        sql = static[name].removeprefix("BEGIN ").removesuffix("; RETURN NULL; END")
        assert source == (
            f"BEGIN IF (SELECT count(*) FROM new_rows) <= 64 THEN {sql};"
            f" ELSE EXECUTE $q${sql}$q$; END IF; RETURN NULL; END"
        ), name
    downgrade(revision="0008")
    assert sources() == static


def test_upgrading_a_database_with_data_keeps_every_row(empty_app):
    """SQLite rebuilds a table to alter it (0013 rebuilds contacts, 0016 the A/B tests); with
    foreign keys on, dropping the old table first deleted its rows and cascaded to the
    children (contact tags, enrollments, variants). The rows of a 0012 database survive."""
    upgrade(revision="0012")
    rows = {
        "organizations": "(id, name, default_region, timezone, created_at, opt_out_keywords)"
        " VALUES (1, 'o', 'GB', 'UTC', '2026-01-01', '[]')",
        "contacts": "(organization_id, phone, attributes, updated_at, id, created_at)"
        " VALUES (1, '+447700900001', '{}', '2026-01-01', 1, '2026-01-01')",
        "tags": "(organization_id, name, id, created_at) VALUES (1, 'vip', 1, '2026-01-01')",
        "contact_tags": "(contact_id, tag_id, organization_id, created_at)"
        " VALUES (1, 1, 1, '2026-01-01')",
        "drip_campaigns": "(organization_id, name, status, trigger_type, stop_on_reply,"
        " allow_reenrollment, track_links, window_weekdays, window_timezone, total_enrolled,"
        " active_count, completed_count, sent_count, delivered_count, read_count,"
        " replied_count, clicked_count, failed_count, id, created_at, updated_at) VALUES (1,"
        " 'c', 'active', 'manual', true, false, false, '[1]', 'UTC', 0, 0, 0, 0, 0, 0, 0, 0,"
        " 0, 1, '2026-01-01', '2026-01-01')",
        "drip_enrollments": "(organization_id, campaign_id, contact_id, status, retry_count,"
        " enrolled_at, updated_at, id) VALUES (1, 1, 1, 'active', 0, '2026-01-01',"
        " '2026-01-01', 1)",
    }
    with db.engine.begin() as conn:
        for table, values in rows.items():
            conn.execute(text(f"INSERT INTO {table} {values}"))
    upgrade()
    with db.engine.connect() as conn:
        for table in rows:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1, table
