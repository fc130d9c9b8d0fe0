"""Click tracking on both databases: URLs in tracked campaigns' texts become short links
unique to each message, and following one records the click and redirects to the stored URL
only."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.drip import accounts
from app.drip.engagement import links
from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import (
    DripCampaignStep,
    DripMessageLog,
    Link,
    LinkClick,
    Organization,
    WhatsAppAccount,
)
from app.tasks.processing import run_processing_pass
from app.web import links as links_view
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.enrollment_world import NOW, make_campaign, make_contacts
from tests.support.catalog import add_template
from tests.support.window import wrote_to_us

BASE = "https://drip.example.test"
CONTENT = "Hi {{first_name|there}}, see https://shop.example/sale?x=1&y=2. Or (http://b.example/p)!"
SHORT = re.compile(re.escape(BASE) + r"/l/([A-Za-z0-9_-]+)")


@pytest.fixture
def fake():
    with FakeCloudApi() as server:
        yield server


def make_world(app, org_id, fake, *, track_links=True, content=CONTENT, template=False):
    app.config["SEND_CONCURRENCY"] = 8
    app.config["PUBLIC_BASE_URL"] = BASE + "/"
    with app.app_context():
        session = db.session
        org = session.get(Organization, org_id)
        accounts.set_whatsapp_account(
            session,
            app.extensions["drip_secret_box"],
            org,
            phone_number_id=fake.phone_number_id,
            access_token=fake.access_token,
            app_secret="s",
            api_base_url=fake.base_url,
            allowed_hosts=app.config["WHATSAPP_API_ALLOWED_HOSTS"],
        )
        session.scalar(select(WhatsAppAccount)).api_version = fake.api_version
        campaign = make_campaign(session, org.id, steps=((0, "minutes"),), track_links=track_links)
        step = session.scalar(select(DripCampaignStep))
        step.message_content = content
        if template:
            step.message_type = "template"
            step.template_name = "promo"
            step.template_language = "en"
            step.template_parameters = ["https://shop.example/t"]
            add_template(session, org.id, "promo", "en", parameters=["1"])
        contacts = make_contacts(session, org.id, 3)
        wrote_to_us(session, NOW)  # text steps: the contacts' window is open
        enrollment.enroll(session, campaign, contact_ids=[c.id for c in contacts], now=NOW)
        session.commit()


@pytest.fixture
def tracked(clean_app, org_a, fake):
    make_world(clean_app, org_a.org_id, fake)


def run(app, at=NOW):
    with app.app_context():
        return run_processing_pass(at)


def sent_texts(fake) -> dict[str, str]:
    """Callback data (log=<id>) -> text body, of the sends Meta accepted."""
    return {
        r["body"]["biz_opaque_callback_data"]: r["body"]["text"]["body"]
        for r in fake.records()
        if r.get("wamid")
    }


def all_links(app) -> list[Link]:
    with app.app_context():
        return db.session.scalars(select(Link).order_by(Link.id)).all()


def test_tracked_texts_carry_short_links_unique_to_each_message(clean_app, tracked, fake):
    assert run(clean_app)["sent"] == 3
    texts = sent_texts(fake)
    assert len(texts) == 3
    stored = {link.code: link for link in all_links(clean_app)}
    assert len(stored) == 6
    seen = set()
    for callback, text in texts.items():
        log_id = int(callback.removeprefix("log="))
        codes = SHORT.findall(text)
        assert len(codes) == 2
        assert "shop.example" not in text and "b.example" not in text
        # The sentence around the links is untouched.
        assert re.fullmatch(
            r"Hi Person\d, see " + SHORT.pattern + r"\. Or \(" + SHORT.pattern + r"\)!", text
        )
        assert [stored[c].url for c in codes] == [
            "https://shop.example/sale?x=1&y=2",
            "http://b.example/p",
        ]
        for code in codes:
            assert stored[code].message_log_id == log_id
            assert stored[code].click_count == 0 and stored[code].first_clicked_at is None
            assert len(code) >= 16
        seen.update(codes)
    assert len(seen) == 6  # every message has its own codes
    with clean_app.app_context():
        org_ids = set(db.session.scalars(select(Link.organization_id)))
    assert org_ids == {db_org_id(clean_app)}


def db_org_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(WhatsAppAccount.organization_id))


def test_without_track_links_the_text_is_sent_unchanged(clean_app, org_a, fake):
    make_world(clean_app, org_a.org_id, fake, track_links=False)
    assert run(clean_app)["sent"] == 3
    for text in sent_texts(fake).values():
        assert "https://shop.example/sale?x=1&y=2" in text and "/l/" not in text
    assert all_links(clean_app) == []


def test_template_messages_are_not_rewritten(clean_app, org_a, fake):
    make_world(clean_app, org_a.org_id, fake, template=True)
    assert run(clean_app)["sent"] == 3
    for record in fake.records():
        body = json.dumps(record["body"])
        assert "https://shop.example/t" in body and "/l/" not in body
    assert all_links(clean_app) == []


def test_a_retried_message_keeps_its_codes(clean_app, tracked, fake):
    fake.fail(130429, times=3)
    assert run(clean_app)["retried"] == 3
    first = {
        r["body"]["biz_opaque_callback_data"]: r["body"]["text"]["body"] for r in fake.records()
    }
    assert run(clean_app, NOW + timedelta(minutes=1))["sent"] == 3
    assert sent_texts(fake) == first
    assert len(all_links(clean_app)) == 6


def test_following_a_link_records_the_click_and_redirects(clean_app, tracked, fake, monkeypatch):
    run(clean_app)
    link = all_links(clean_app)[0]
    client = clean_app.test_client()
    first_at = NOW + timedelta(hours=1)
    monkeypatch.setattr(links_view, "utcnow", lambda: first_at)
    response = client.get(f"/l/{link.code}", headers={"User-Agent": "W" * 2000})
    assert response.status_code == 302
    assert response.headers["Location"] == "https://shop.example/sale?x=1&y=2"

    monkeypatch.setattr(links_view, "utcnow", lambda: first_at + timedelta(hours=1))
    assert client.get(f"/l/{link.code}").status_code == 302
    with clean_app.app_context():
        row = db.session.get(Link, link.id)
        assert row.click_count == 2 and row.first_clicked_at == first_at
        assert db.session.get(DripMessageLog, link.message_log_id).clicked_at == first_at
        clicks = db.session.scalars(select(LinkClick).order_by(LinkClick.id)).all()
        assert [c.link_id for c in clicks] == [link.id, link.id]
        assert clicks[0].organization_id == link.organization_id
        assert clicks[0].user_agent == "W" * 512
        assert clicks[0].clicked_at == first_at
        assert clicks[1].clicked_at == first_at + timedelta(hours=1)
        # Other messages' logs are not marked clicked.
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(DripMessageLog)
                .where(DripMessageLog.clicked_at.is_not(None))
            )
            == 1
        )


def test_query_parameters_never_choose_the_target(clean_app, tracked, fake):
    run(clean_app)
    link = all_links(clean_app)[1]
    response = clean_app.test_client().get(
        f"/l/{link.code}?url=https://evil.example&next=//evil.example&redirect=https://evil.example"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "http://b.example/p"


def test_a_head_request_redirects_without_counting(clean_app, tracked, fake):
    run(clean_app)
    link = all_links(clean_app)[0]
    assert clean_app.test_client().head(f"/l/{link.code}").status_code == 302
    assert all_links(clean_app)[0].click_count == 0


@pytest.mark.parametrize("code", ["nope", "A" * 16, "x" * 40, "%2e%2e", "a.b", "ab%00cd"])
def test_unknown_codes_are_a_404_page(clean_app, org_a, code):
    response = clean_app.test_client().get(f"/l/{code}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"Traceback" not in response.data and "Location" not in response.headers


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_an_unknown_code_never_redirects_whatever_the_request_says(clean_app, tracked, method):
    run(clean_app)
    client = clean_app.test_client()
    evil = "https://evil.example/phish"
    for url in (
        f"/l/unknown?url={evil}&next={evil}&redirect={evil}&to=//evil.example",
        "/l/https:%2F%2Fevil.example",
        "/l/evil.example%2Fphish",
        "/l/%2F%2Fevil.example",  # decoded to /l//evil.example: slashes merged, see below
        "/l//evil.example",
    ):
        response = client.open(url, method=method, headers={"Referer": evil})
        if response.status_code == 308:
            # Werkzeug merges doubled slashes with a redirect to this site's own path.
            assert response.headers["Location"] == "http://localhost/l/evil.example", url
            response = client.open(response.headers["Location"], method=method)
        assert response.status_code == 404, url
        assert "Location" not in response.headers, url
        assert b"evil.example" not in response.data, url
    with clean_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LinkClick)) == 0


def test_only_http_urls_are_ever_targets(clean_app, org_a):
    """Send time stores only http(s) URLs; a row holding anything else is still no target."""
    with clean_app.app_context():
        for code, url in (
            ("jsurl00001", "javascript:alert(1)"),
            ("dataurl001", "data:text/html,x"),
        ):
            db.session.add(Link(organization_id=org_a.org_id, code=code, url=url))
        db.session.commit()
    client = clean_app.test_client()
    for code in ("jsurl00001", "dataurl001"):
        response = client.get(f"/l/{code}")
        assert response.status_code == 404 and "Location" not in response.headers


def test_record_click_of_an_unknown_code_writes_nothing(session):
    assert links.record_click(session, "missing-code-xyz", NOW, "ua") is None
    assert links.record_click(session, "", NOW, None) is None
    assert session.scalar(select(func.count()).select_from(LinkClick)) == 0


def test_a_code_collision_is_drawn_again(session, org_a, monkeypatch):
    session.add(Link(organization_id=org_a.org_id, code="taken-code-00000", url="https://old.x"))
    session.flush()
    drawn = iter(["taken-code-00000", "fresh-code-00001", "taken-code-00000", "fresh-code-00002"])
    monkeypatch.setattr(links, "new_code", lambda: next(drawn))
    text = links.track_urls(
        session, org_a.org_id, None, "a https://one.x b https://two.x", "http://h"
    )
    codes = re.findall(r"http://h/l/([\w-]+)", text)
    assert len(codes) == 2 and "taken-code-00000" not in codes
    assert set(codes) == {"fresh-code-00001", "fresh-code-00002"}
    rows = {link.code: link.url for link in session.scalars(select(Link))}
    assert rows == {
        "taken-code-00000": "https://old.x",
        codes[0]: "https://one.x",
        codes[1]: "https://two.x",
    }
