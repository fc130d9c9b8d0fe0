"""The WhatsApp template catalog on both databases: the sync pages through the fake Cloud API
over real sockets (by cursor, on the account's base URL), upserts by name and language, marks
templates Meta no longer lists instead of deleting them; sandbox organizations get the built-in
catalog; the API lists with filters and paging; the hourly job; the page."""

from __future__ import annotations

import pytest
from flask import current_app
from sqlalchemy import event, select

from app.drip import templates
from app.drip.errors import Conflict, ValidationError
from app.extensions import db
from app.models import Organization, WhatsAppTemplate, utcnow
from app.tasks import jobs
from app.whatsapp import HOST_NOT_ALLOWED, CloudApiClient, SendError
from tests.conftest import login, make_org, make_user
from tests.fakes.cloud_api import FakeCloudApi
from tests.fakes.templates import BUSINESS_ACCOUNT_ID, template
from tests.support.accounts import send_through_fake

N = len(templates.SANDBOX_TEMPLATES)  # the built-in catalog of a sandbox organization


@pytest.fixture
def fake():
    with FakeCloudApi() as server:
        yield server


def connect(app, org_id: int, fake, waba_id: str | None = BUSINESS_ACCOUNT_ID) -> None:
    session = db.session
    account = send_through_fake(app, session, session.get(Organization, org_id), fake)
    account.business_account_id = waba_id
    session.commit()


def sync(org_id: int, page_size: int = 2) -> dict:
    counts = templates.sync_organization(
        db.session,
        org_id,
        utcnow(),
        decrypt=current_app.extensions["drip_secret_box"].decrypt,
        allowed_hosts=current_app.config["WHATSAPP_API_ALLOWED_HOSTS"],
        page_size=page_size,
    )
    db.session.commit()
    return counts.as_dict()


def rows(org_id: int) -> dict[str, WhatsAppTemplate]:
    db.session.expire_all()
    found = db.session.scalars(select(WhatsAppTemplate).filter_by(organization_id=org_id))
    return {row.name: row for row in found}


def test_sync_pages_by_cursor_and_keeps_removed_templates(session, org_a, fake):
    connect(current_app, org_a.org_id, fake)
    assert sync(org_a.org_id) == {"added": 5, "updated": 0, "removed": 0, "total": 5}
    # Three pages of two, each asked of the fake (Meta's `next` points at graph.facebook.com).
    afters = [request["after"] for request in fake.templates.requests]
    assert len(afters) == 3 and afters[0] is None and len(set(afters)) == 3
    assert {request["limit"] for request in fake.templates.requests} == {"2"}
    first = rows(org_a.org_id)
    assert first["drip_welcome"].parameters == ["1", "2"]
    assert first["order_update"].parameter_format == "named"
    assert first["drip_welcome"].business_account_id == BUSINESS_ACCOUNT_ID

    fake.templates.change("order_update", status="PAUSED")
    fake.templates.remove("spring_sale")
    fake.templates.put(template("back_in_stock", "{{1}} is back.", category="UTILITY"))
    assert sync(org_a.org_id) == {"added": 1, "updated": 1, "removed": 1, "total": 5}
    after = rows(org_a.org_id)
    assert after["order_update"].status == "PAUSED"
    assert after["order_update"].status_changed_at > first["drip_welcome"].status_changed_at
    # Deleted at Meta: marked, not lost, and no longer listed.
    assert after["spring_sale"].deleted_at is not None
    listed = templates.list_templates(session, org_a.org_id)
    assert "spring_sale" not in {row.name for row in listed.templates} and listed.total == 5

    # Safe to run twice: nothing changed, nothing counted.
    assert sync(org_a.org_id) == {"added": 0, "updated": 0, "removed": 0, "total": 5}
    # Listed again: back in the catalog.
    fake.templates.put(template("spring_sale", "{{1}}, spring sale: {{2}} off."))
    assert sync(org_a.org_id)["added"] == 1
    assert rows(org_a.org_id)["spring_sale"].deleted_at is None


def test_a_failed_sync_changes_nothing_and_says_why(session, org_a, fake):
    connect(current_app, org_a.org_id, fake)
    sync(org_a.org_id)
    fake.templates.remove("drip_welcome")
    fake.templates.business_account_id = "999"  # the account's WABA id is no longer Meta's
    with pytest.raises(templates.SyncFailed) as caught:
        sync(org_a.org_id)
    db.session.rollback()
    assert caught.value.status == 502
    assert "WhatsApp Business Account id" in caught.value.message
    assert rows(org_a.org_id)["drip_welcome"].deleted_at is None


def test_an_account_without_a_business_account_id_is_told_to_set_it(session, org_a, fake):
    connect(current_app, org_a.org_id, fake, waba_id=None)
    with pytest.raises(ValidationError, match="Set the WhatsApp Business Account id first"):
        sync(org_a.org_id)
    db.session.rollback()
    response = current_app.test_client().post("/api/templates/sync", headers=org_a.auth)
    assert response.status_code == 422
    assert "Set the WhatsApp Business Account id first" in response.json["error"]["message"]
    assert fake.templates.requests == []


def test_the_client_lists_only_from_an_allowed_host():
    client = CloudApiClient("https://evil.example", "v21.0", "1", "token")
    with pytest.raises(SendError) as caught:
        client.list_templates(BUSINESS_ACCOUNT_ID)
    assert caught.value.code == HOST_NOT_ALLOWED
    with pytest.raises(SendError, match="must be digits"):
        CloudApiClient("https://graph.facebook.com", "v21.0", "1", "t").list_templates("../me")


def test_a_bad_token_is_a_clear_error(fake):
    client = CloudApiClient(
        fake.base_url, fake.api_version, "1", "wrong", allowed_hosts=[fake.host]
    )
    with pytest.raises(SendError, match="access token has expired or is invalid") as caught:
        list(client.list_templates(BUSINESS_ACCOUNT_ID))
    assert caught.value.code == "190"


def test_a_sandbox_organization_gets_the_built_in_catalog(clean_app, org_a):
    client = clean_app.test_client()
    response = client.post("/api/templates/sync", headers=org_a.auth)
    assert response.status_code == 200
    assert response.json == {"data": {"added": N, "updated": 0, "removed": 0, "total": N}}
    again = client.post("/api/templates/sync", headers=org_a.auth).json["data"]
    assert again == {"added": 0, "updated": 0, "removed": 0, "total": N}
    with clean_app.app_context():
        found = rows(org_a.org_id)
        assert {row.business_account_id for row in found.values()} == {None}
        assert {row.status for row in found.values()} == {"APPROVED"}


def test_the_api_lists_with_filters_and_paging(clean_app, org_a, org_b):
    client = clean_app.test_client()
    client.post("/api/templates/sync", headers=org_a.auth)

    def names(query: str) -> list[str]:
        response = client.get(f"/api/templates{query}", headers=org_a.auth)
        assert response.status_code == 200, response.json
        return [item["name"] for item in response.json["data"]]

    everything = client.get("/api/templates", headers=org_a.auth).json
    assert everything["meta"] == {"page": 1, "perPage": 50, "total": N}
    assert names("") == sorted(names(""))
    item = next(i for i in everything["data"] if i["name"] == "order_update")
    assert set(item) == {
        "id", "name", "language", "category", "status", "qualityScore", "parameterFormat",
        "parameters", "bodyText", "syncedAt",
    }  # fmt: skip
    assert item["parameterFormat"] == "named"
    assert item["parameters"] == ["first_name", "order_id"]
    assert item["category"] == "UTILITY" and item["qualityScore"] == "GREEN"
    assert set(names("?category=utility")) == {"order_update", "appointment_reminder"}
    assert len(names("?status=APPROVED")) == N and names("?status=PAUSED") == []
    assert names("?q=ORDER") == ["order_update"] and names("?q=%25") == []
    last = (N + 2) // 3
    last_page = client.get(f"/api/templates?perPage=3&page={last}", headers=org_a.auth).json
    assert last_page["meta"] == {"page": last, "perPage": 3, "total": N}
    assert len(last_page["data"]) == N - 3 * (last - 1)
    assert client.get("/api/templates?page=0", headers=org_a.auth).status_code == 422
    # Another organization's catalog never shows.
    other = client.get("/api/templates", headers=org_b.auth).json
    assert other == {"data": [], "meta": {"page": 1, "perPage": 50, "total": 0}}


def test_members_may_sync_and_list(clean_app, org_a):
    member = make_user(clean_app, org_a)
    client = clean_app.test_client()
    assert client.post("/api/templates/sync", headers=member.auth).status_code == 200
    assert client.get("/api/templates", headers=member.auth).json["meta"]["total"] == N


def test_the_hourly_job_syncs_each_account_on_its_own(session, org_a, org_b, fake):
    connect(current_app, org_a.org_id, fake)
    with FakeCloudApi(phone_number_id="200000000000002") as other:
        connect(current_app, org_b.org_id, other, waba_id=None)
    sandbox = make_org(current_app, "Initech")
    stats = jobs.sync_templates()
    assert stats == {"organizations": 1, "failed": 1, "added": 5, "updated": 0, "removed": 0}
    assert len(rows(org_a.org_id)) == 5
    assert rows(org_b.org_id) == {} and rows(sandbox.org_id) == {}
    again = jobs.sync_templates()
    assert again == {"organizations": 1, "failed": 1, "added": 0, "updated": 0, "removed": 0}


def test_the_page_shows_the_catalog_and_syncs(clean_app, client_a, org_a):
    empty = client_a.get("/templates/").get_data(as_text=True)
    assert "No templates yet" in empty and "Sync templates" in empty
    assert 'action="/templates/sync"' in empty
    response = client_a.post("/templates/sync", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Templates synced: {N} added, 0 updated, 0 removed; {N} in all." in page
    assert "drip_welcome" in page and "badge-active" in page and "{{first_name}}" in page
    filtered = client_a.get("/templates/?category=UTILITY").get_data(as_text=True)
    assert "order_update" in filtered and "drip_welcome" not in filtered
    none = client_a.get("/templates/?q=nothing-like-this").get_data(as_text=True)
    assert "No templates match" in none


def test_a_page_sync_failure_is_a_flash(clean_app, org_a, fake):
    with clean_app.app_context():
        connect(clean_app, org_a.org_id, fake, waba_id=None)
    client = clean_app.test_client()
    login(client, org_a.email)
    page = client.post("/templates/sync", follow_redirects=True).get_data(as_text=True)
    assert "Set the WhatsApp Business Account id first" in page
    assert "Traceback" not in page


def test_a_sync_racing_another_is_a_conflict_not_a_crash(session, org_a):
    """Another sync (the hourly job) commits the same template between this one's read and
    its write: a 409 in words, and the other sync's row stands."""

    def other_sync_commits_first(*_args):
        with db.engine.begin() as other:
            other.execute(
                WhatsAppTemplate.__table__.insert().values(
                    organization_id=org_a.org_id,
                    name="drip_welcome",
                    language="en_US",
                    category="MARKETING",
                    status="APPROVED",
                    parameter_format="positional",
                    parameters=[],
                    synced_at=utcnow(),
                    created_at=utcnow(),
                )
            )

    event.listen(session(), "before_flush", other_sync_commits_first, once=True)
    with pytest.raises(Conflict, match="Another sync"):
        templates.sync_templates(session, org_a.org_id, templates.sandbox_pages(), utcnow())
    session.rollback()
    assert list(rows(org_a.org_id)) == ["drip_welcome"]
