"""A phone number id is accepted only once Meta confirms the account's token can read it
(`GET /{version}/{phone-number-id}`, answered by the fake Cloud API over real sockets), on both
databases: no organization can claim another's number and lock the owner out, and a refusal
never tells one organization about another's registration."""

from __future__ import annotations

import socket

import httpx
import pytest
from flask import current_app
from sqlalchemy import select

from app.drip import accounts
from app.drip.errors import ValidationError
from app.extensions import db
from app.models import Organization, WhatsAppAccount
from app.whatsapp import NOT_VERIFIED
from tests.fakes.cloud_api import FakeCloudApi

OWNED = "106540352242922"  # org A's number at Meta, read by A's token only
OWNER_TOKEN, OTHER_TOKEN = "token-of-a", "token-of-b"


@pytest.fixture
def meta():
    """Meta: A's token reads OWNED; B's token reads B's own number only."""
    with FakeCloudApi(access_token=OWNER_TOKEN, phone_number_id=OWNED) as fake:
        fake.add_number("200000000000002", OTHER_TOKEN)
        yield fake


def save(org_id: int, phone_number_id: str, token: str, base_url: str) -> WhatsAppAccount:
    """set_whatsapp_account as the pages and the CLI call it, committed."""
    session = db.session
    account = accounts.set_whatsapp_account(
        session,
        current_app.extensions["drip_secret_box"],
        session.get(Organization, org_id),
        phone_number_id=phone_number_id,
        access_token=token,
        app_secret="s",
        api_base_url=base_url,
        allowed_hosts=current_app.config["WHATSAPP_API_ALLOWED_HOSTS"],
    )
    session.commit()
    return account


def refusal(org_id: int, phone_number_id: str, token: str, base_url: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        save(org_id, phone_number_id, token, base_url)
    db.session.rollback()
    return caught.value


def holders(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            select(WhatsAppAccount.phone_number_id, WhatsAppAccount.organization_id)
        )
        return dict(rows.all())


def test_a_verified_number_is_saved_with_what_meta_says(clean_app, org_a, meta):
    with clean_app.app_context():
        account = save(org_a.org_id, OWNED, OWNER_TOKEN, meta.base_url)
        assert account.display_phone_number == meta.display_phone_number
    assert meta.lookups == 1 and meta.requests == 0  # one lookup, no message sent


def test_a_number_the_token_cannot_read_is_refused_so_the_owner_keeps_it(
    clean_app, org_a, org_b, meta
):
    with clean_app.app_context():
        # B claims A's number with B's own token: Meta says B cannot read it.
        squat = refusal(org_b.org_id, OWNED, OTHER_TOKEN, meta.base_url)
        assert squat.fields == {"phone_number_id": NOT_VERIFIED}
        assert holders(clean_app) == {}
        # The owner registers it afterwards, as if B had never tried.
        save(org_a.org_id, OWNED, OWNER_TOKEN, meta.base_url)
    assert holders(clean_app) == {OWNED: org_a.org_id}


def test_another_organizations_number_is_refused_like_any_failed_verification(
    clean_app, org_a, org_b, meta
):
    meta.add_number(OWNED, OTHER_TOKEN)  # even a token Meta lets read it (a shared business)
    with clean_app.app_context():
        save(org_a.org_id, OWNED, OWNER_TOKEN, meta.base_url)
        held = refusal(org_b.org_id, OWNED, OTHER_TOKEN, meta.base_url)
        unknown = refusal(org_b.org_id, "300000000000003", OTHER_TOKEN, meta.base_url)
    # Same class, status, words and fields: B cannot tell "held by someone" from "not yours".
    assert (type(held), held.status, held.message, held.fields) == (
        type(unknown),
        unknown.status,
        unknown.message,
        unknown.fields,
    )
    said = f"{held.message} {held.details}"
    assert "another organization" not in said and "Acme" not in said
    assert holders(clean_app) == {OWNED: org_a.org_id}


def test_the_settings_page_refuses_another_organizations_number_in_the_same_words(
    clean_app, org_a, client_a, client_b, meta
):
    meta.add_number(OWNED, OTHER_TOKEN)
    form = {"phone_number_id": OWNED, "app_secret": "s", "api_base_url": meta.base_url}
    assert (
        client_a.post("/settings/whatsapp", data={**form, "access_token": OWNER_TOKEN}).status_code
        == 302
    )
    held = client_b.post("/settings/whatsapp", data={**form, "access_token": OTHER_TOKEN})
    unknown = client_b.post(
        "/settings/whatsapp",
        data={**form, "phone_number_id": "300000000000003", "access_token": OTHER_TOKEN},
    )
    assert held.status_code == unknown.status_code == 422
    assert "could not be verified for this account" in held.get_data(as_text=True)
    assert "another organization" not in held.get_data(as_text=True)
    assert holders(clean_app) == {OWNED: org_a.org_id}


def test_a_bad_token_is_refused_in_words_and_nothing_is_saved(clean_app, org_a, meta):
    with clean_app.app_context():
        refused = refusal(org_a.org_id, OWNED, "EAAG-expired", meta.base_url)
    assert list(refused.fields) == ["access_token"]
    assert "invalid or expired" in refused.fields["access_token"]
    assert holders(clean_app) == {}


def test_an_unreachable_api_is_refused_in_words(clean_app, org_a):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with clean_app.app_context():
        refused = refusal(org_a.org_id, OWNED, OWNER_TOKEN, f"http://127.0.0.1:{port}")
    assert "Could not reach WhatsApp" in refused.message and "Try again" in refused.message
    assert holders(clean_app) == {}


def test_saving_again_verifies_again(clean_app, org_a, meta):
    with clean_app.app_context():
        save(org_a.org_id, OWNED, OWNER_TOKEN, meta.base_url)
        refusal(org_a.org_id, OWNED, "rotated-but-wrong", meta.base_url)
        box = current_app.extensions["drip_secret_box"]
        stored = db.session.scalar(select(WhatsAppAccount.access_token_encrypted))
        assert box.decrypt(stored) == OWNER_TOKEN  # the refused token did not replace it


def test_the_cli_verifies_and_prints_the_number(clean_app, meta):
    runner = clean_app.test_cli_runner()
    runner.invoke(args=["create-org", "Initech"])
    args = ["set-whatsapp", "--org", "Initech", "--phone-number-id", OWNED, "--app-secret", "s"]
    args += ["--api-base-url", meta.base_url]
    refused = runner.invoke(args=[*args, "--access-token", OTHER_TOKEN])
    assert refused.exit_code != 0 and "could not be verified" in refused.output
    saved = runner.invoke(args=[*args, "--access-token", OWNER_TOKEN])
    assert saved.exit_code == 0, saved.output
    assert meta.display_phone_number in saved.output


# --- the fake answers in Meta's format ----------------------------------------------------


def test_the_fake_answers_lookups_in_metas_format(meta):
    url = f"{meta.base_url}/v21.0/{OWNED}"
    fields = {"fields": "display_phone_number,verified_name,quality_rating,throughput"}
    ok = httpx.get(url, params=fields, headers={"Authorization": f"Bearer {OWNER_TOKEN}"})
    assert ok.status_code == 200
    assert ok.json() == {
        "display_phone_number": "+1 555-000-1111",
        "verified_name": "Fake Shop",
        "quality_rating": "GREEN",
        "throughput": {"level": "STANDARD"},
        "id": OWNED,
    }
    hidden = httpx.get(url, params=fields, headers={"Authorization": f"Bearer {OTHER_TOKEN}"})
    error = hidden.json()["error"]
    assert (hidden.status_code, error["code"], error["error_subcode"]) == (400, 100, 33)
    assert error["type"] == "GraphMethodException" and error["fbtrace_id"]
    bad = httpx.get(url, headers={"Authorization": "Bearer nope"}).json()["error"]
    assert (bad["code"], bad["type"]) == (190, "OAuthException")
    assert meta.lookups == 3 and meta.requests == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone_number_id", "1" * 65),
        ("phone_number_id", "10654035224292²"),
        ("business_account_id", "1" * 65),
        ("business_account_id", "102290129340398/../x"),
    ],
)
def test_ids_no_column_can_hold_are_refused_before_asking_meta(
    clean_app, org_a, meta, field, value
):
    """A 65-digit id reached PostgreSQL's String(64) as a 500; "²" passes str.isdigit()."""
    ids = {"phone_number_id": OWNED, "business_account_id": None, field: value}
    with clean_app.app_context(), pytest.raises(ValidationError) as caught:
        accounts.set_whatsapp_account(
            db.session,
            current_app.extensions["drip_secret_box"],
            db.session.get(Organization, org_a.org_id),
            access_token=OWNER_TOKEN,
            app_secret="s",
            api_base_url=meta.base_url,
            allowed_hosts=current_app.config["WHATSAPP_API_ALLOWED_HOSTS"],
            **ids,
        )
    assert set(caught.value.fields) == {field}
    assert "digits only, at most 64" in caught.value.fields[field]
    assert meta.lookups == 0
    assert holders(clean_app) == {}
