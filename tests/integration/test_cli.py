"""The command line of DESIGN.md."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import WhatsAppAccount
from tests.conftest import login
from tests.fakes.cloud_api import FakeCloudApi


@pytest.fixture
def fake():
    """Meta's Cloud API, where token "t" reads phone number id 123."""
    with FakeCloudApi(access_token="t", phone_number_id="123") as server:
        yield server


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_create_org_user_and_key_then_use_them(clean_app):
    assert run(clean_app, "create-org", "Initech").exit_code == 0
    result = run(
        clean_app,
        "create-user",
        "--org",
        "Initech",
        "--email",
        "Peter@Initech.example",
        "--password",
        "tps-reports-1",
    )
    assert result.exit_code == 0, result.output
    result = run(clean_app, "create-api-key", "--org", "Initech")
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("drip_") and " " not in token

    client = clean_app.test_client()
    assert (
        client.get("/api/api-keys", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    assert login(client, "peter@initech.example", "tps-reports-1").status_code == 302


def test_cli_errors_are_messages_not_tracebacks(clean_app):
    run(clean_app, "create-org", "Initech")
    result = run(clean_app, "create-org", "Initech")
    assert result.exit_code != 0
    assert "already exists" in result.output
    result = run(
        clean_app,
        "create-user",
        "--org",
        "Nope",
        "--email",
        "a@b.example",
        "--password",
        "longenough",
    )
    assert result.exit_code != 0 and "No organization named" in result.output
    result = run(
        clean_app, "create-user", "--org", "Initech", "--email", "bad", "--password", "short"
    )
    assert result.exit_code != 0
    assert "email" in result.output and "password" in result.output
    assert "Traceback" not in result.output


def test_set_whatsapp_encrypts_secrets_at_rest(clean_app, fake):
    run(clean_app, "create-org", "Initech")
    fake.add_number("106540352242922", "EAAG-token-value")
    result = run(
        clean_app,
        "set-whatsapp",
        "--org",
        "Initech",
        "--phone-number-id",
        "106540352242922",
        "--access-token",
        "EAAG-token-value",
        "--app-secret",
        "app-secret-value",
        "--verify-token",
        "verify-me",
        "--api-base-url",
        fake.base_url + "/",
    )
    assert result.exit_code == 0, result.output
    assert "EAAG" not in result.output
    with clean_app.app_context():
        account = db.session.scalar(select(WhatsAppAccount))
        assert account.api_base_url == fake.base_url
        assert "EAAG-token-value" not in account.access_token_encrypted
        assert "app-secret-value" not in account.app_secret_encrypted
        box = clean_app.extensions["drip_secret_box"]
        assert box.decrypt(account.access_token_encrypted) == "EAAG-token-value"
        assert box.decrypt(account.app_secret_encrypted) == "app-secret-value"
        assert account.verify_token_hash and "verify-me" not in account.verify_token_hash
    # Running it again replaces the account rather than adding a second one.
    fake.add_number("106540352242922", "new")
    result = run(
        clean_app,
        "set-whatsapp",
        "--org",
        "Initech",
        "--phone-number-id",
        "106540352242922",
        "--access-token",
        "new",
        "--app-secret",
        "new",
    )
    assert result.exit_code == 0, result.output
    with clean_app.app_context():
        assert len(db.session.scalars(select(WhatsAppAccount)).all()) == 1


def test_set_whatsapp_refuses_a_number_of_another_org(clean_app, fake):
    for name in ("A Corp", "B Corp"):
        run(clean_app, "create-org", name)
    args = ["--phone-number-id", "123", "--access-token", "t", "--app-secret", "s"]
    args += ["--api-base-url", fake.base_url]
    assert run(clean_app, "set-whatsapp", "--org", "A Corp", *args).exit_code == 0
    result = run(clean_app, "set-whatsapp", "--org", "B Corp", *args)
    # Refused in the words of a failed verification: nothing tells B that A holds the number.
    assert result.exit_code != 0 and "could not be verified for this account" in result.output
    assert "another organization" not in result.output and "A Corp" not in result.output


def test_set_whatsapp_takes_the_throughput_tier(clean_app, fake):
    run(clean_app, "create-org", "Initech")
    args = ["--phone-number-id", "123", "--access-token", "t", "--app-secret", "s"]
    args += ["--api-base-url", fake.base_url]
    result = run(clean_app, "set-whatsapp", "--org", "Initech", *args)
    with clean_app.app_context():
        assert db.session.scalar(select(WhatsAppAccount.rate_limit_per_second)) == 80
    result = run(
        clean_app, "set-whatsapp", "--org", "Initech", *args, "--messages-per-second", "1000"
    )
    assert result.exit_code == 0
    with clean_app.app_context():
        assert db.session.scalar(select(WhatsAppAccount.rate_limit_per_second)) == 1000
    result = run(
        clean_app, "set-whatsapp", "--org", "Initech", *args, "--messages-per-second", "5000"
    )
    assert result.exit_code != 0 and "1,000" in result.output
