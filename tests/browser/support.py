"""Helpers of the end-to-end flows (tests/browser/test_flow_*.py): organizations of their own,
logging in through the form, screenshots (artifacts and the user guide's), the processing
pass and Meta's signed webhooks, and arranging a campaign through the JSON API."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import struct
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import func, select

from app.drip import accounts
from app.extensions import db
from app.models import DripAbTest, DripCampaign, DripEnrollment, Organization, utcnow
from tests.browser.conftest import ARTIFACTS, CRON_SECRET, ROOT, assert_no_problems
from tests.fakes.cloud_api import FakeCloudApi
from tests.support.window import wrote_to_us

DESKTOP = {"width": 1280, "height": 800}
WIDE = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
# The machine may be shared (two xdist workers, each with its server and browser, on two
# cores): a page that takes a second alone can take ten. Every wait is for a state, so long
# limits cost nothing when things are fast.
ACTION_TIMEOUT_MS = 60_000
NAVIGATION_TIMEOUT_MS = 90_000
expect.set_options(timeout=30_000)
DOCS_IMAGES = ROOT / "docs" / "images"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PASSWORD = "flows-password-2026"


# --- people -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A user of an organization of its own (so a flow's numbers are its own)."""

    org_id: int
    org_name: str
    email: str
    password: str = PASSWORD


def new_member(live_server, label: str, timezone: str = "Europe/Lisbon") -> Member:
    suffix = secrets.token_hex(3)
    app = live_server.app()
    with app.app_context():
        org = accounts.create_organization(db.session, f"{label} {suffix}", timezone=timezone)
        org.default_region = "GB"
        # The organization's first user is its admin (flow 3 connects WhatsApp in settings).
        user = accounts.create_user(
            db.session,
            org,
            f"{label.lower().replace(' ', '-')}-{suffix}@flows.example",
            PASSWORD,
            role="admin",
        )
        db.session.commit()
        return Member(org.id, org.name, user.email)


def on_screen(page, viewport: dict = DESKTOP) -> None:
    """The screen size of a flow, and the patient timeouts above."""
    page.set_viewport_size(viewport)
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    page.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)


def log_in_through_form(page, member: Member) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(member.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()


def main_nav(page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


# --- screenshots and problems -----------------------------------------------------------------


def connect_whatsapp(page, meta, app_secret: str) -> str:
    """Save the member's WhatsApp account on Settings, sending through the fake Cloud API
    `meta` under a fresh phone number id (returned)."""
    phone_number_id = str(10**14 + secrets.randbelow(10**14))
    main_nav(page, "Settings")
    form = page.locator("form", has=page.get_by_label("Phone number ID"))
    form.get_by_label("Phone number ID").fill(phone_number_id)
    form.get_by_label("Access token").fill(meta.access_token)
    form.get_by_label("App secret").fill(app_secret)
    form.get_by_label("API base URL").fill(meta.base_url)
    form.get_by_role("button", name="Save WhatsApp account").click()
    expect(page.get_by_text(f"Sending through phone number ID {phone_number_id}")).to_be_visible()
    return phone_number_id


def finish(page, request) -> None:
    """The end of a flow: a full-page screenshot in the artifacts, and no problem seen."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"), full_page=True)
    assert_no_problems(page)


def docs_shot(page, name: str, target=None, *, until=None) -> None:
    """A screenshot for the user guide (docs/images/NAME.png), only with DRIP_DOCS_SCREENSHOTS=1
    so that ordinary runs leave the committed images alone: the viewport; one element
    (`target`, a locator); or the page from its top down to the bottom of `until`."""
    if os.environ.get("DRIP_DOCS_SCREENSHOTS") != "1":
        return
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    path = str(DOCS_IMAGES / f"{name}.png")
    page.evaluate("document.fonts.ready")
    if target is not None:
        target.screenshot(path=path, animations="disabled")
    elif until is not None:
        bottom = until.evaluate("e => e.getBoundingClientRect().bottom + window.scrollY")
        clip = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": bottom + 24}
        page.screenshot(path=path, full_page=True, clip=clip, animations="disabled")
    else:
        page.screenshot(path=path, animations="disabled")


@contextmanager
def refused(page, status: int, path: str) -> Iterator[None]:
    """Around an action whose answer is an expected 4xx (a refused form, a 404 page): waits for
    that answer and the console error Chromium logs for it, and takes both out of the
    problems; anything else is still a problem."""
    wanted = re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?$")
    logged = f"the server responded with a status of {status}"
    with (
        page.expect_response(lambda r: r.status == status and wanted.match(r.url)) as answer,
        page.expect_console_message(lambda m: m.type == "error" and logged in m.text) as console,
    ):
        yield
    page.problems.remove(f"HTTP {status}: {answer.value.url}")
    page.problems.remove(f"console error: {console.value.text}")


def path_of(page) -> str:
    """The path of the page's URL (no origin, query or fragment)."""
    return urlsplit(page.url).path


def wait_for_charts(page) -> None:
    page.wait_for_function(
        """() => {
          const charts = document.querySelectorAll("[data-chart]");
          return charts.length > 0 && [...charts].every((c) => c.querySelector(".main-svg"));
        }""",
        timeout=ACTION_TIMEOUT_MS,
    )


# axe-core from node_modules (package-lock.json pins it; `make node-tools` runs `npm ci`).
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_BLOCKING = ("serious", "critical")


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2.x A/AA violations on the page as it is now: {id, impact, help,
    targets}. Evaluated through Playwright, not added as a <script> tag (add_script_tag): the
    Content-Security-Policy refuses inline scripts, and evaluation is not subject to it."""
    assert AXE_JS.exists(), f"no {AXE_JS.relative_to(ROOT)}: run `make node-tools` (npm ci)"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    return page.evaluate(
        """async () => {
          const result = await axe.run(document, {
            runOnly: {
              type: "tag",
              values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
            },
            resultTypes: ["violations"],
          });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
          }));
        }"""
    )


def assert_accessible(page, where: str = "") -> None:
    """No serious or critical axe-core violation; the minor and moderate ones are printed."""
    violations = axe_violations(page)
    for v in violations:
        if v["impact"] not in AXE_BLOCKING:
            print(f"axe ({v['impact']}) {where or page.url}: {v['id']}: {v['help']} {v['targets']}")
    blocking = [v for v in violations if v["impact"] in AXE_BLOCKING]
    assert blocking == [], f"{where or page.url}: {blocking}"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking its signature and first chunk."""
    assert data[:8] == PNG_SIGNATURE, data[:16]
    assert data[12:16] == b"IHDR", data[8:16]
    return struct.unpack(">II", data[16:24])


# --- the processing pass and Meta -------------------------------------------------------------


def _in_a_thread(action) -> None:
    # Playwright's sync API keeps an asyncio loop running in this thread, and the fake starts
    # and stops its own loop with run_until_complete: do that from a thread without one.
    worker = threading.Thread(target=action)
    worker.start()
    worker.join(timeout=30)


@contextmanager
def fake_cloud_api() -> Iterator[FakeCloudApi]:
    """Meta's Cloud API as a local HTTP server (tests/fakes/cloud_api.py)."""
    fake = FakeCloudApi()
    _in_a_thread(fake.start)
    try:
        yield fake
    finally:
        _in_a_thread(fake.stop)


def _post(url: str, body: bytes, headers: dict) -> dict:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, response.status
        return json.loads(response.read())


def run_processing_pass(live_server) -> dict:
    """What an outside scheduler does: POST /api/cron/drip-processor with the cron secret."""
    headers = {"Authorization": f"Bearer {CRON_SECRET}"}
    return _post(live_server.url + "/api/cron/drip-processor", b"", headers)["data"]


def post_webhook(live_server, app_secret: str, payload: dict) -> dict:
    """What Meta does: the body signed with the app secret (X-Hub-Signature-256)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    signature = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}
    return _post(live_server.url + "/api/webhooks/whatsapp", body, headers)["data"]


def webhook_payload(phone_number_id: str, *, statuses=(), messages=()) -> dict:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
    }
    if statuses:
        value["statuses"] = list(statuses)
    if messages:
        value["contacts"] = [
            {"profile": {"name": "A contact"}, "wa_id": m["from"]} for m in messages
        ]
        value["messages"] = list(messages)
    change = {"field": "messages", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": "800", "changes": [change]}]}


def status(wamid: str, name: str, recipient: str) -> dict:
    return {
        "id": wamid,
        "status": name,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient.lstrip("+"),
    }


def reply(wamid: str, sender: str, text: str) -> dict:
    return {
        "context": {"from": "15550001111", "id": wamid},
        "from": sender.lstrip("+"),
        "id": f"wamid.IN{secrets.token_hex(8).upper()}",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }


# --- arranging through the JSON API (the browser's session) -----------------------------------


def api(page, method: str, path: str, data: dict | None = None) -> dict:
    token = page.get_attribute("meta[name=csrf-token]", "content")
    response = page.request.fetch(path, method=method, data=data, headers={"X-CSRFToken": token})
    assert response.ok, (method, path, response.status, response.text())
    return response.json()["data"]


def campaign_through_api(page, name: str, steps: list[tuple[str, int, str, str]]) -> int:
    """A draft campaign with steps (name, delay amount, unit, text); returns its id."""
    campaign = api(page, "POST", "/api/drip-campaigns", {"name": name})
    for step_name, amount, unit, text in steps:
        api(
            page,
            "POST",
            f"/api/drip-campaigns/{campaign['id']}/steps",
            {"name": step_name, "delayAmount": amount, "delayUnit": unit, "messageContent": text},
        )
    return campaign["id"]


def contacts_wrote_to_us(live_server, contact_ids: list[int]) -> None:
    """These contacts wrote to the business just now: their 24-hour window is open. A sandbox
    organization has no webhook to receive their message through, so it is set here."""
    with live_server.app().app_context():
        wrote_to_us(db.session, utcnow(), contact_ids=contact_ids)
        db.session.commit()


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


# --- the demo organization --------------------------------------------------------------------

DEMO_ORG = "Demo Shop"


def demo_campaigns(live_server) -> list[tuple[int, str]]:
    """The demo organization's campaigns (id, name), the one with most enrollments first: the
    finished campaign with months of history."""
    with live_server.app().app_context():
        enrolled = func.count(DripEnrollment.id)
        rows = db.session.execute(
            select(DripCampaign.id, DripCampaign.name)
            .join(Organization, Organization.id == DripCampaign.organization_id)
            .outerjoin(DripEnrollment, DripEnrollment.campaign_id == DripCampaign.id)
            .where(Organization.name == DEMO_ORG)
            .group_by(DripCampaign.id, DripCampaign.name)
            .order_by(enrolled.desc())
        ).all()
        return [(row.id, row.name) for row in rows]


def demo_ab_test(live_server) -> tuple[int, int]:
    """(campaign id, test id) of the demo's running A/B test, else of its first one."""
    with live_server.app().app_context():
        test = db.session.scalars(
            select(DripAbTest)
            .join(Organization, Organization.id == DripAbTest.organization_id)
            .where(Organization.name == DEMO_ORG)
            .order_by((DripAbTest.status == "running").desc(), DripAbTest.id)
        ).first()
        return test.campaign_id, test.id
