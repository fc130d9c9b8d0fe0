"""Template variables are HTML-escaped in previews: a contact named <script>alert(1)</script>
comes out of the preview endpoint as JSON text (never HTML), is escaped wherever a page
prints it, and the editor's script writes the preview with textContent only. The browser
proves the whole path in tests/browser/test_preview.py."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import Contact, DripCampaignStep
from tests.integration.enrollment_world import make_campaign

EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
STATIC_JS = Path(__file__).resolve().parents[2] / "static" / "js"
# What turns a string into markup in a browser.
HTML_SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\.html\(")


def evil_world(app, org_id):
    with app.app_context():
        campaign = make_campaign(db.session, org_id, name=f"Launch {EVIL}")
        contact = Contact(
            organization_id=org_id,
            phone="+442079460111",
            first_name=EVIL,
            last_name='"><img src=x onerror=alert(2)>',
            attributes={"city": "<b>Paris</b>"},
        )
        db.session.add(contact)
        db.session.commit()
        step_id = db.session.scalar(
            select(DripCampaignStep.id).where(DripCampaignStep.campaign_id == campaign.id)
        )
        return campaign.id, step_id, contact.id


def test_the_preview_answers_text_in_json_never_html(clean_app, org_a, client_a):
    cid, _step, contact_id = evil_world(clean_app, org_a.org_id)
    response = client_a.post(
        f"/api/drip-campaigns/{cid}/preview",
        json={
            "messageContent": "Hi {{first_name}} {{last_name}} from {{attributes.city}}",
            "contactId": contact_id,
        },
    )
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # never sniffed as HTML
    data = response.json["data"]
    # The message is what WhatsApp shows: plain text, the name exactly as typed.
    assert data["text"] == f'Hi {EVIL} "><img src=x onerror=alert(2)> from <b>Paris</b>'
    assert data["contact"]["name"].startswith(EVIL)


def test_pages_print_the_name_escaped(clean_app, org_a, client_a):
    cid, step_id, _contact = evil_world(clean_app, org_a.org_id)
    for url in (f"/campaigns/{cid}", f"/campaigns/{cid}/steps/{step_id}", "/contacts/"):
        page = client_a.get(url).get_data(as_text=True)
        assert EVIL not in page, url
        assert "<img src=x" not in page, url
        assert ESCAPED in page, url


def test_no_script_of_ours_writes_html():
    offenders = [
        f"{path.name}: {match.group(0)}"
        for path in sorted(STATIC_JS.glob("*.js"))
        for match in HTML_SINKS.finditer(path.read_text())
    ]
    assert offenders == []
    preview = (STATIC_JS / "step-preview.js").read_text()
    assert "output.textContent = result.text" in preview
