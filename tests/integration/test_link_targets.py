"""A short link whose stored URL no Location header can carry (https://javascript:alert(3):
a port that is no number) answers a clean 404 page and counts no click; and a message with
such a URL is sent with it as plain text, never as a short link."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import DripMessageLog, Link, LinkClick
from app.security import CONTENT_SECURITY_POLICY
from tests.fakes.cloud_api import FakeCloudApi
from tests.integration.test_isolation import rows_of_org
from tests.integration.test_links import BASE, SHORT, all_links, make_world, run, sent_texts

STORED = [
    "https://javascript:alert(3)",
    "http://example.com:99999/",
    "https://a..b/",
    "https://[zz/",
    "https://example.com/a\nb",
]


@pytest.fixture
def bad_links(clean_app, org_a) -> list[str]:
    """Links (each on a message log) whose stored URL cannot be a redirect target."""
    with clean_app.app_context():
        log_id = rows_of_org(org_a)["log_id"]
        codes = [f"badtarget{i:03d}" for i in range(len(STORED))]
        db.session.add_all(
            Link(organization_id=org_a.org_id, message_log_id=log_id, code=code, url=url)
            for code, url in zip(codes, STORED, strict=True)
        )
        db.session.commit()
    return codes


def test_following_a_bad_target_is_a_clean_404_that_counts_nothing(clean_app, bad_links):
    client = clean_app.test_client()
    for code in bad_links:
        for method in ("GET", "HEAD"):
            response = client.open(f"/l/{code}", method=method)
            assert response.status_code == 404, (code, method)
            assert "Location" not in response.headers
            assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.mimetype == "text/html"
    with clean_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LinkClick)) == 0
        assert db.session.scalar(select(func.sum(Link.click_count))) == 0
        assert (
            db.session.scalar(select(func.count()).where(Link.first_clicked_at.is_not(None))) == 0
        )
        assert (
            db.session.scalar(select(func.count()).where(DripMessageLog.clicked_at.is_not(None)))
            == 0
        )


def test_a_url_with_a_bad_port_is_sent_as_plain_text(clean_app, org_a):
    content = "Hi {{first_name|there}}: https://javascript:alert(3) and https://shop.example/ok"
    with FakeCloudApi() as fake:
        make_world(clean_app, org_a.org_id, fake, content=content)
        assert run(clean_app)["sent"] == 3
        texts = sent_texts(fake).values()
    assert {link.url for link in all_links(clean_app)} == {"https://shop.example/ok"}
    for text in texts:
        assert "https://javascript:alert(3)" in text
        assert len(SHORT.findall(text)) == 1 and text.count(BASE) == 1
