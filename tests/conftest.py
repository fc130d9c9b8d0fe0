"""Shared fixtures: the app on SQLite and on PostgreSQL, a clean database per test, and
organizations with a logged-in user and an API key.

Every test that takes `app` (or a fixture built on it) runs twice, once per database. The
PostgreSQL URL comes from TEST_DATABASE_URL (the Makefile and .ci/run set it); the tests use
their own schemas in that database so they never touch anything else in it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text

from app import create_app
from app.config import TestConfig
from app.drip import accounts
from app.drip.demo import history as demo_history
from app.drip.demo.seed import seed_demo_data
from app.extensions import db
from app.models import Base, DripCampaign, Organization
from tests.support.scratch import drop_statements

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
TEST_PASSWORD = "correct horse battery"


def pg_base_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG_URL


def pg_schema_url(schema: str) -> str:
    """The PostgreSQL test URL with search_path set to a schema of the tests' own."""
    base = pg_base_url()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}"


def reset_pg_schema(schema: str) -> None:
    url = pg_base_url().replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in drop_statements(schema):
                conn.execute(text(statement))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {pg_base_url()} ({exc.__class__.__name__}). "
            "Start it, or set TEST_DATABASE_URL; the suite runs on SQLite and PostgreSQL."
        )
    finally:
        engine.dispose()


def database_url(backend: str, tmp_path_factory, name: str) -> str:
    """A fresh, empty database of the given backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp(name) / 'drip.db'}"
    # One schema per test run: several runs (developers, CI) can share one database.
    schema = f"drip_{name}_{os.getpid()}"
    reset_pg_schema(schema)
    _SCHEMAS_CREATED.append(schema)
    return pg_schema_url(schema)


_SCHEMAS_CREATED: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def _drop_test_schemas():
    yield
    if not _SCHEMAS_CREATED:
        return
    url = pg_base_url().replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for schema in _SCHEMAS_CREATED:
            for statement in drop_statements(schema):
                conn.execute(text(statement))
    engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def app(backend, tmp_path_factory):
    """The app on a database built by the migrations (not create_all)."""
    application = create_app(
        TestConfig(database_url=database_url(backend, tmp_path_factory, "tests"))
    )
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def clean_app(app):
    """The app with every table emptied after the test."""
    yield app
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def session(clean_app):
    """A SQLAlchemy session inside an app context."""
    with clean_app.app_context():
        yield db.session
        db.session.rollback()


@dataclass
class OrgFixture:
    org_id: int
    name: str
    email: str
    api_key: str
    api_key_id: int

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key}"}


def make_org(app, name: str) -> OrgFixture:
    """An organization with an admin user (password TEST_PASSWORD) and an API key."""
    with app.app_context():
        org = accounts.create_organization(db.session, name)
        email = f"admin@{name.lower().replace(' ', '-')}.example"
        accounts.create_user(db.session, org, email, TEST_PASSWORD, role="admin")
        key, token = accounts.create_api_key(db.session, org.id, "test key")
        db.session.commit()
        return OrgFixture(org.id, name, email, token, key.id)


@dataclass
class UserFixture:
    """A further user of an organization and an API key they created (it acts as they do)."""

    user_id: int
    email: str
    api_key: str
    api_key_id: int

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key}"}


def make_user(app, org: OrgFixture, role: str = "member", label: str = "member") -> UserFixture:
    """A user of `org` with this role (password TEST_PASSWORD) and a key made in their name."""
    with app.app_context():
        org_row = db.session.get(Organization, org.org_id)
        email = f"{label}@{org.name.lower().replace(' ', '-')}.example"
        user = accounts.create_user(db.session, org_row, email, TEST_PASSWORD, role=role)
        key, token = accounts.create_api_key(db.session, org.org_id, label, user_id=user.id)
        db.session.commit()
        return UserFixture(user.id, email, token, key.id)


def login(client, email: str, password: str = TEST_PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


@pytest.fixture
def org_a(clean_app) -> OrgFixture:
    return make_org(clean_app, "Acme")


@pytest.fixture
def org_b(clean_app) -> OrgFixture:
    return make_org(clean_app, "Globex")


@pytest.fixture
def onboarding(clean_app, org_a) -> int:
    """The demo's onboarding campaign (months of history) in organization A."""
    with clean_app.app_context():
        seed_demo_data(db.session, org_a.org_id)
        db.session.commit()
        return db.session.scalar(
            select(DripCampaign.id).where(
                DripCampaign.organization_id == org_a.org_id,
                DripCampaign.name == demo_history.NAME,
            )
        )


@pytest.fixture
def client_a(clean_app, org_a):
    """A browser client logged in to organization A."""
    client = clean_app.test_client()
    assert login(client, org_a.email).status_code == 302
    return client


@pytest.fixture
def client_b(clean_app, org_b):
    client = clean_app.test_client()
    assert login(client, org_b.email).status_code == 302
    return client
