"""Scratch PostgreSQL schemas and bulk data for benchmarks and the multi-process tests."""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from app.drip.enrollment import actions as enrollment
from app.models import Contact, DripCampaign


def _admin(pg_url: str, *statements: str) -> None:
    engine = create_engine(
        pg_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def scratch_schema(pg_url: str, schema: str) -> str:
    """An empty schema (dropped first if left over); the URL whose search_path is it."""
    _admin(pg_url, *drop_statements(schema), f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in pg_url else "?"
    return f"{pg_url}{separator}options={quote(f'-csearch_path={schema}')}"


def drop_schema(pg_url: str, schema: str) -> None:
    _admin(pg_url, *drop_statements(schema))


def drop_statements(schema: str) -> tuple[str, str]:
    """A schema and its history schema (where migration 0018 keeps the monthly partitions):
    dropping the first drops the partitions but leaves the second, empty, behind."""
    return (
        f'DROP SCHEMA IF EXISTS "{schema}" CASCADE',
        f'DROP SCHEMA IF EXISTS "{schema}_history" CASCADE',
    )


def enroll_generated_contacts(
    session: Session, organization_id: int, campaign: DripCampaign, count: int
) -> None:
    """`count` contacts made in one INSERT ... SELECT (PostgreSQL), all enrolled in campaign.
    They wrote to us just now (last_inbound_at): their 24-hour window is open for text steps
    (tests that move the clock further call tests.support.window.wrote_to_us again)."""
    session.execute(
        text(
            "INSERT INTO contacts (organization_id, phone, first_name, attributes, created_at,"
            " updated_at, last_inbound_at) SELECT :org, '+1202' || lpad(g::text, 7, '0'),"
            " 'P' || g, '{}', now(), now(), now() FROM generate_series(1, :n) g"
        ),
        {"org": organization_id, "n": count},
    )
    ids = session.scalars(select(Contact.id).where(Contact.organization_id == organization_id))
    enrollment.enroll(session, campaign, contact_ids=list(ids))
