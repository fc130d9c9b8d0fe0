"""The A/B test pages through the real domain: the organization's list, a campaign's tests with
the new-test form, the results page of draft, running and completed tests (verdict, charts,
table, SRM warning), the variant editor and the lifecycle buttons, the CSV and chart exports,
isolation between organizations, and bad input that never becomes a 500."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import create_app
from app.config import TestConfig
from app.drip.ab import lifecycle as ab_lifecycle
from app.drip.ab import running as ab_testing
from app.extensions import db
from app.models import (
    AuditEvent,
    DripAbTest,
    DripAbVariant,
    DripCampaign,
    DripCampaignStep,
    Organization,
    utcnow,
)
from tests.conftest import TEST_PASSWORD, login
from tests.integration.enrollment_world import add_step, live_steps, make_campaign
from tests.integration.test_ab_testing import make_test, synthetic, variants

DAY = timedelta(days=1)


def figures(html: str) -> dict[str, dict]:
    found = re.findall(
        r'<script type="application/json" data-chart-figure="(\w+)">(.*?)</script>', html, re.S
    )
    return {name: json.loads(body) for name, body in found}


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def assert_csp_clean(html: str) -> None:
    """script-src 'self': no inline script (JSON data blocks aside), no inline handlers."""
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
        assert "src=" not in attributes or not body.strip()
    assert not re.search(r"\son[a-z]+\s*=", html), re.search(r"\son[a-z]+\s*=.{40}", html)
    assert "javascript:" not in html


def ab(campaign_id: int, test_id: int | None = None, rest: str = "") -> str:
    url = f"/campaigns/{campaign_id}/ab-tests"
    return url if test_id is None else f"{url}/{test_id}{rest}"


@pytest.fixture
def world(clean_app, org_a):
    """A campaign (Berlin clock, organization in New York) with three text steps and a
    template step, and three tests: a completed one (auto winner) and a draft on step 1, a
    running one with 1,200 sends on step 2."""
    with clean_app.app_context():
        session = db.session
        session.get(Organization, org_a.org_id).timezone = "America/New_York"
        campaign = make_campaign(
            session, org_a.org_id, name="Spring <sale>", window_timezone="Europe/Berlin"
        )
        add_step(session, campaign, 3)
        template = add_step(session, campaign, 4)
        template.message_type, template.template_name = "template", "promo"
        template.message_content = None
        first, second = live_steps(session, campaign)[:2]
        now = utcnow()
        completed = make_test(session, campaign, first)
        control, winner = variants(session, completed)
        old = now - 10 * DAY
        synthetic(
            session,
            completed,
            [
                (control, 300, 60, old, timedelta(hours=1)),
                (winner, 300, 180, old, timedelta(hours=1)),
            ],
        )
        assert ab_testing.check_for_winners(session, now) == 1
        draft = make_test(session, campaign, first, start=False, shares=(50,))
        running = make_test(session, campaign, second, shares=(50, 50))
        a, b = variants(session, running)
        synthetic(
            session,
            running,
            [
                (a, 600, 150, now - 3 * DAY, timedelta(hours=2)),
                (b, 600, 180, now - 2 * DAY, timedelta(hours=2)),
            ],
        )
        session.commit()
        return {
            "campaign": campaign.id,
            "steps": [s.id for s in live_steps(session, campaign)],
            "completed": completed.id,
            "winner": winner.id,
            "draft": draft.id,
            "running": running.id,
            "running_variants": [a.id, b.id],
            "email": org_a.email,
        }


def test_the_organization_list_shows_every_test_with_its_leader(client_a, world):
    html = page(client_a, "/ab-tests")
    assert html.count('class="badge badge-test-') == 3
    for status in ("completed", "running", "draft"):
        assert f'badge-test-{status}">{status}</span>' in html
    assert "Spring &lt;sale&gt;" in html and "Spring <sale>" not in html
    assert "<strong>Winner: Variant 1</strong> (60.0%)" in html
    assert 'Variant 1 (30.0%) <span class="muted">ahead so far</span>' in html
    assert "Not started yet." in html
    assert "America/New_York" in html  # times are on the organization's clock, named
    assert ab(world["campaign"], world["running"]) in html
    assert 'aria-current="page">A/B tests</a>' in html
    assert_csp_clean(html)


def test_the_empty_list_explains_and_offers_the_campaigns(clean_app, client_a, org_a):
    with clean_app.app_context():
        campaign = make_campaign(db.session, org_a.org_id, name="Onboarding")
        db.session.commit()
        campaign_id = campaign.id
    html = page(client_a, "/ab-tests")
    assert "No A/B tests yet" in html and "declares a winner only when" in html
    assert f'href="/campaigns/{campaign_id}/ab-tests"' in html and "Onboarding" in html


def test_the_campaign_page_lists_its_tests_and_the_new_test_form(client_a, world):
    html = page(client_a, ab(world["campaign"]))
    assert html.count("badge-test-") == 3
    assert 'name="step_id"' in html and 'name="winning_metric"' in html
    # Text steps only: the template step is not offered.
    assert html.count("<option value=", html.index('name="step_id"')) >= 3
    assert "4. Step 4" not in html
    for label in ("Read rate", "Reply rate", "Delivery rate", "Click rate", "90%", "95%", "99%"):
        assert label in html
    assert 'value="50"' in html and 'value="72"' in html and 'value="100"' in html
    assert '<label for="name">Test name</label>' in html
    assert_csp_clean(html)


def test_the_running_test_page_shows_verdict_charts_and_numbers(client_a, world):
    html = page(client_a, ab(world["campaign"], world["running"]))
    assert 'badge-test-running">running</span>' in html
    assert "Waiting for data" in html
    assert "Waiting for 100 sends per variant older than 72 hours (fewest so far: 0)." in html
    charts = figures(html)
    assert set(charts) == {"rates", "lift", "timeline"}
    bars = charts["rates"]["data"][0]
    assert bars["y"] == pytest.approx([25.0, 30.0])
    ci_high = [y + e for y, e in zip(bars["y"], bars["error_y"]["array"], strict=True)]
    assert ci_high[0] > 25.0 and bars["error_y"]["symmetric"] is False
    lines = charts["timeline"]["data"]
    assert [line["name"] for line in lines] == ["Control (control)", "Variant 1"]
    assert lines[0]["y"] == pytest.approx([25.0, 25.0]) and lines[1]["y"][0] is None
    # The table: thousands separators, one-decimal rates, lift, z, p.
    assert '<td class="num">1,200</td>' not in html  # per variant, not the total
    # assigned and sent, twice, and the matured sends (the decision's) of one variant
    assert html.count('<td class="num">600</td>') == 5
    assert "25.0%" in html and "30.0%" in html
    assert "+20.0%" in html and "+5.0 pts" in html
    assert "Read</th>" in html and "95% interval" in html
    # Running: pause, declare winner (confirmed), reallocate; no delete, no variant editor.
    assert 'value="pause"' in html
    assert html.count('data-confirm="Declare ') == 2
    assert ">Declare Variant 1 the winner</button>" in html
    assert 'name="allocation-' in html and "Save allocations" in html
    assert "Delete test" not in html and "A running test cannot be deleted" in html
    assert "Add a variant" not in html
    # Exports.
    assert ab(world["campaign"], world["running"], "/results.csv") in html
    assert ab(world["campaign"], world["running"], "/charts/rates.png") in html
    assert ab(world["campaign"], world["running"], "/charts/timeline.svg") in html
    assert "/static/js/charts.js" in html and "/static/js/confirm.js" in html
    assert "America/New_York" in html and ("EST" in html or "EDT" in html)
    assert_csp_clean(html)


def test_the_completed_test_page_shows_the_stored_decision(client_a, world):
    html = page(client_a, ab(world["campaign"], world["completed"]))
    assert 'badge-test-completed">completed</span>' in html
    assert "Variant 1 is read 200.0% more often than Control" in html
    assert "winner declared automatically on" in html
    assert "Winner found" in html
    assert 'class="winner-row headline-row" data-headline="lift"' in html
    assert figures(html)["rates"]["data"][0]["x"] == ["Control (control)", "Variant 1 (winner)"]
    assert "Declare winner" not in html and "Save allocations" not in html
    assert "Delete test" in html  # completed tests can go
    assert_csp_clean(html)


def test_the_draft_page_is_the_variant_editor(client_a, world):
    html = page(client_a, ab(world["campaign"], world["draft"]))
    assert 'badge-test-draft">draft</span>' in html
    assert "Not started yet." in html
    assert not figures(html)  # nothing to chart before it starts
    assert "<strong>50% of traffic is left.</strong>" in html
    assert "Add a variant" in html and 'id="traffic_allocation"' in html
    assert 'value="50"' in html  # the add form offers the share left
    # Start is there, disabled, with the reason.
    start = re.search(r"<button[^>]*>Start test</button>", html).group(0)
    assert "disabled" in start and 'aria-describedby="start-blocker"' in start
    assert "Add at least one variant besides the control before starting." in html
    assert "Remove Control" not in html  # the control stays
    assert_csp_clean(html)


def test_creating_a_test_from_the_form(clean_app, client_a, world):
    step = world["steps"][2]
    response = client_a.post(
        ab(world["campaign"]),
        data={
            "step_id": step,
            "name": "Shorter reminder",
            "winning_metric": "reply_rate",
            "confidence_threshold": "0.99",
            "min_sample_size": "250",
            "control_allocation": "40",
            "outcome_window_hours": "48",
        },
    )
    assert response.status_code == 302
    test_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    with clean_app.app_context():
        test = db.session.get(DripAbTest, test_id)
        assert (test.status, test.step_id, test.winning_metric) == ("draft", step, "reply_rate")
        assert (test.confidence_threshold, test.min_sample_size) == (0.99, 250)
        assert test.outcome_window_hours == 48
        (control,) = db.session.query(DripAbVariant).filter_by(test_id=test_id).all()
        assert control.is_control and control.traffic_allocation == 40
    html = page(client_a, response.headers["Location"])
    assert "Test created as a draft" in html
    assert "<strong>60% of traffic is left.</strong>" in html
    assert "99% confidence" in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Required."),
        ("step_id", "999999", "Not a valid choice"),
        ("step_id", "abc", "Invalid Choice"),
        ("confidence_threshold", "2", "Not a valid choice"),
        ("winning_metric", "open_rate", "Not a valid choice"),
        ("min_sample_size", "lots", "Not a valid integer value"),
        ("min_sample_size", "0", "A whole number of sends per variant"),
        ("control_allocation", "150", "From 0.01 to 100."),
        ("control_allocation", "NaN", "A percent, e.g. 50."),
        ("control_allocation", "33.333", "at most two decimals"),
        ("outcome_window_hours", "0", "Whole hours, 1 to 720"),
    ],
)
def test_the_new_test_form_refuses_bad_input_next_to_the_field(
    client_a, world, field, value, message
):
    data = {
        "step_id": world["steps"][2],
        "name": "A test",
        "winning_metric": "read_rate",
        "confidence_threshold": "0.95",
        "min_sample_size": "100",
        "control_allocation": "50",
        "outcome_window_hours": "72",
        field: value,
    }
    response = client_a.post(ab(world["campaign"]), data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The test was not created" in html and message in html
    assert "Traceback" not in html


def test_a_template_step_cannot_be_picked(clean_app, client_a, world):
    with clean_app.app_context():
        template = db.session.query(DripCampaignStep).filter_by(message_type="template").one()
        template_id = template.id
    response = client_a.post(
        ab(world["campaign"]),
        data={"step_id": template_id, "name": "T", "min_sample_size": "100",
              "control_allocation": "50", "outcome_window_hours": "72"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_the_variant_editor_adds_refuses_over_100_and_unblocks_start(clean_app, client_a, world):
    url = ab(world["campaign"], world["draft"])
    # Over the 50% left: refused, the share left named next to the field.
    response = client_a.post(
        f"{url}/variants",
        data={
            "name": "B",
            "message_content": "Hey {{first_name|there}}",
            "traffic_allocation": "60",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<span class="field-error">Only 50% of traffic is left.</span>' in html
    assert "The variant was not added: Only 50% of traffic is left: allocate at most that." in html
    assert 'value="60"' in html and "Hey {{first_name|there}}" in html  # what was typed stays
    # 30%: added; Start still disabled, with the total named.
    response = client_a.post(
        f"{url}/variants",
        data={"name": "B", "message_content": "Hey there", "traffic_allocation": "30"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("#variants")
    html = page(client_a, url)
    assert "Variant “B” added." in html
    assert "<strong>20% of traffic is left.</strong>" in html
    assert "The allocations add up to 80%; they must add up to exactly 100% to start." in html
    assert "disabled" in re.search(r"<button[^>]*>Start test</button>", html).group(0)
    # A name taken, an empty message: refused next to their fields.
    response = client_a.post(
        f"{url}/variants", data={"name": "b", "message_content": "", "traffic_allocation": "10"}
    )
    assert response.status_code == 422
    assert "Pick another name." in response.get_data(as_text=True)
    # Empty allocation: the variant takes the 20% left; Start is enabled.
    response = client_a.post(f"{url}/variants", data={"name": "C", "message_content": "Yo"})
    assert response.status_code == 302
    html = page(client_a, url)
    assert "<strong>0% of traffic is left.</strong>" in html
    start = re.search(r"<button[^>]*>Start test</button>", html).group(0)
    assert "disabled" not in start
    with clean_app.app_context():
        rows = db.session.query(DripAbVariant).filter_by(test_id=world["draft"]).all()
        shares = {v.name: v.traffic_allocation for v in rows}
        ids = {v.name: v.id for v in rows}
    assert shares == {"Control": 50, "B": 30, "C": 20}
    # Editing B to 60 would pass 100: refused on B's own form.
    prefix = f"variant-{ids['B']}"
    response = client_a.post(
        f"{url}/variants/{ids['B']}",
        data={f"{prefix}-name": "B", f"{prefix}-message_content": "Hey there",
              f"{prefix}-traffic_allocation": "60"},
    )  # fmt: skip
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Only 30% of traffic is left." in html and "B was not saved" in html
    # Editing B's text and name works; removing C frees its share.
    response = client_a.post(
        f"{url}/variants/{ids['B']}",
        data={f"{prefix}-name": "Bee", f"{prefix}-message_content": "Hey you",
              f"{prefix}-traffic_allocation": "30"},
    )  # fmt: skip
    assert response.status_code == 302
    assert client_a.post(f"{url}/variants/{ids['C']}/delete").status_code == 302
    html = page(client_a, url)
    assert "Variant “C” removed" in html and "Hey you" in html
    assert "<strong>20% of traffic is left.</strong>" in html
    # The control cannot be removed: a clear flash, no change.
    response = client_a.post(f"{url}/variants/{ids['Control']}/delete", follow_redirects=True)
    assert "The control cannot be removed" in response.get_data(as_text=True)


def test_start_pause_resume_reallocate_and_declare_from_the_page(clean_app, client_a, world):
    url = ab(world["campaign"], world["draft"])
    client_a.post(f"{url}/variants", data={"name": "B", "message_content": "Hey B"})
    response = client_a.post(f"{url}/status", data={"action": "start"}, follow_redirects=True)
    assert "Test started" in response.get_data(as_text=True)
    # Step 1 had a completed test only: this one runs now.
    html = page(client_a, url)
    assert 'badge-test-running">running</span>' in html
    response = client_a.post(f"{url}/status", data={"action": "pause"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Test paused" in html and 'value="start"' in html and ">Resume</button>" in html
    response = client_a.post(f"{url}/status", data={"action": "start"}, follow_redirects=True)
    assert "Test resumed" in response.get_data(as_text=True)

    with clean_app.app_context():
        control, b = (
            db.session.query(DripAbVariant)
            .filter_by(test_id=world["draft"])
            .order_by(DripAbVariant.id)
        )
        ids = (control.id, b.id)
    # Allocations that do not add up to 100: the page again, the error by the fields.
    response = client_a.post(
        f"{url}/allocations", data={f"allocation-{ids[0]}": "70", f"allocation-{ids[1]}": "20"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "would add up to 90%" in html and 'id="allocation-error" role="alert"' in html
    assert 'value="70"' in html
    response = client_a.post(
        f"{url}/allocations", data={f"allocation-{ids[0]}": "abc", f"allocation-{ids[1]}": "20"}
    )
    assert response.status_code == 422
    assert "The allocation must be a number." in response.get_data(as_text=True)
    response = client_a.post(
        f"{url}/allocations",
        data={f"allocation-{ids[0]}": "70", f"allocation-{ids[1]}": "30"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "A new analysis phase started" in html and "analysis phase 2 since" in html

    # A running test cannot be deleted.
    response = client_a.post(f"{url}/delete", follow_redirects=True)
    assert "A running test cannot be deleted" in response.get_data(as_text=True)
    # Declare B the winner: completed, and B's text is the step's message.
    response = client_a.post(f"{url}/winner", data={"variant_id": ids[1]}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "B declared the winner" in html and 'badge-test-completed">completed</span>' in html
    assert "B declared the winner by hand on" in html
    with clean_app.app_context():
        test = db.session.get(DripAbTest, world["draft"])
        assert (test.status, test.winner_variant_id, test.decided_by) == (
            "completed",
            ids[1],
            "manual",
        )
        assert db.session.get(DripCampaignStep, test.step_id).message_content == "Hey B"
    # Completed: deletable, with a confirmation.
    html = page(client_a, url)
    assert 'data-confirm="Delete the test' in html
    response = client_a.post(f"{url}/delete")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(ab(world["campaign"]))
    assert client_a.get(url).status_code == 404

    # Every change is in the campaign's activity, by whom: the page's user, or Drip itself for
    # the fixture's automatic winner.
    with clean_app.app_context():
        rows = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.campaign_id == world["campaign"])
            .order_by(AuditEvent.id)
        ).all()
        logged = [(e.actor, e.action, e.details.get("variantName")) for e in rows]
    me = world["email"]
    assert logged == [
        ("Drip (automatic decision)", "ab_test.winner_declared", "Variant 1"),
        (me, "ab_variant.added", "B"),
        (me, "ab_test.started", None),
        (me, "ab_test.paused", None),
        (me, "ab_test.resumed", None),
        (me, "ab_test.reallocated", None),
        (me, "ab_test.winner_declared", "B"),
        (me, "ab_test.deleted", None),
    ]
    assert rows[5].details["allocations"] == {"Control": "70.00", "B": "30.00"}
    activity = page(client_a, f"/campaigns/{world['campaign']}")
    assert "declared “B” the winner of A/B test “Welcome test”" in activity


def test_the_results_csv_has_every_number_of_the_table(client_a, world):
    response = client_a.get(ab(world["campaign"], world["running"], "/results.csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == [
        "variant_id", "variant", "is_control", "is_winner", "traffic_allocation", "assigned",
        "sent", "delivered", "read", "replied", "clicked", "metric", "successes", "rate",
        "ci_low", "ci_high", "confidence", "lift", "absolute_lift", "z_score", "p_value",
        "adjusted_p_value", "matured_n", "matured_successes", "lift_ci_low", "lift_ci_high",
        "difference_ci_low", "difference_ci_high", "sequential_p_value",
        "adjusted_sequential_p_value", "running_minimum_p_value",
        "adjusted_running_minimum_p_value", "significant", "note",
    ]  # fmt: skip
    control, variant = rows
    assert [int(r["variant_id"]) for r in rows] == world["running_variants"]
    assert (control["variant"], control["is_control"], control["lift"]) == ("Control", "True", "")
    assert (variant["sent"], variant["successes"], variant["read"]) == ("600", "180", "180")
    assert float(variant["rate"]) == pytest.approx(30.0)
    assert float(variant["lift"]) == pytest.approx(20.0)
    assert float(variant["absolute_lift"]) == pytest.approx(5.0)
    assert float(control["ci_low"]) < 25.0 < float(control["ci_high"])
    assert 0 < float(variant["p_value"]) < 1 and variant["significant"] in (
        "True",
        "False",
        "",
    )  # empty: no matured sends
    assert variant["metric"] == "read_rate" and variant["confidence"] == "0.95"


@pytest.fixture
def client_with(clean_app, org_a):
    """Logged-in clients of apps on the same database with other settings."""
    apps = []

    def make(login_now: bool = True, **config):
        url = clean_app.config["SQLALCHEMY_DATABASE_URI"]
        apps.append(create_app(TestConfig(database_url=url, extra=config)))
        client = apps[-1].test_client()
        if login_now:
            assert login(client, org_a.email).status_code == 302
        return client

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_chart_images_answer_503_without_chromium(client_with, world, tmp_path):
    client = client_with(CHART_BROWSER_PATH=str(tmp_path / "no-chromium"))
    for chart in ("rates", "timeline"):
        response = client.get(ab(world["campaign"], world["running"], f"/charts/{chart}.png"))
        assert response.status_code == 503
        html = response.get_data(as_text=True)
        assert "Image export needs Chromium on the server" in html and "Traceback" not in html
    response = client.get(
        ab(world["campaign"], world["running"], "/charts/rates.svg"),
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 503
    assert response.json["error"]["code"] == "export_unavailable"
    assert (
        client.get(ab(world["campaign"], world["running"], "/charts/funnel.png")).status_code == 404
    )
    assert (
        client.get(ab(world["campaign"], world["running"], "/charts/rates.gif")).status_code == 404
    )


def test_forms_need_their_csrf_token(client_with, world):
    client = client_with(login_now=False, WTF_CSRF_ENABLED=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page(client, "/login")).group(1)
    data = {"email": world["email"], "password": TEST_PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data).status_code == 302
    url = ab(world["campaign"], world["draft"])
    api = f"/api/drip-campaigns/{world['campaign']}/ab-tests/{world['draft']}/variants"
    before = len(client.get(api).get_json()["data"])
    response = client.post(f"{url}/variants", data={"name": "B", "message_content": "Hi"})
    # Refused (a 400, or back to the form with a flash): nothing added either way.
    assert response.status_code in (302, 400)
    assert len(client.get(api).get_json()["data"]) == before
    html = page(client, url)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post(
        f"{url}/variants", data={"csrf_token": token, "name": "B", "message_content": "Hi"}
    )
    assert response.status_code == 302


def test_another_organization_gets_404_on_every_page(client_b, world):
    campaign, running = world["campaign"], world["running"]
    variant = world["running_variants"][1]
    gets = [
        ab(campaign),
        ab(campaign, running),
        ab(campaign, running, "/results.csv"),
        ab(campaign, running, "/charts/rates.png"),
    ]
    posts = [
        ab(campaign),
        ab(campaign, running, "/variants"),
        ab(campaign, running, f"/variants/{variant}"),
        ab(campaign, running, f"/variants/{variant}/delete"),
        ab(campaign, running, "/status"),
        ab(campaign, running, "/winner"),
        ab(campaign, running, "/allocations"),
        ab(campaign, running, "/delete"),
    ]
    for url in gets:
        assert client_b.get(url).status_code == 404, url
    for url in posts:
        response = client_b.post(url, data={"action": "pause", "variant_id": variant})
        assert response.status_code == 404, url
    html = page(client_b, "/ab-tests")
    assert "No A/B tests yet" in html and "Spring" not in html


def test_a_test_of_another_campaign_is_not_found_under_this_one(clean_app, client_a, world, org_a):
    with clean_app.app_context():
        other = make_campaign(db.session, org_a.org_id, name="Other")
        db.session.commit()
        other_id = other.id
    assert client_a.get(ab(other_id, world["running"])).status_code == 404
    assert client_a.post(ab(other_id, world["running"], "/delete")).status_code == 404


@pytest.mark.parametrize(
    ("rest", "data"),
    [
        ("/winner", {}),
        ("/winner", {"variant_id": "abc"}),
        ("/winner", {"variant_id": "99999999"}),
        ("/status", {"action": "explode"}),
        ("/status", {}),
        ("/allocations", {}),
        ("/allocations", {"allocation-1": "x"}),
        ("/variants", {"traffic_allocation": "1e400", "name": "Z", "message_content": "x"}),
        ("/variants", {"traffic_allocation": "-5", "name": "Z", "message_content": "x"}),
        ("/variants", {"name": "Z" * 500, "message_content": "x" * 10_000}),
        ("/variants/99999999", {"variant-99999999-name": "x"}),
    ],
)
def test_bad_form_input_never_answers_500(client_a, world, rest, data):
    for test in ("running", "draft", "completed"):
        url = ab(world["campaign"], world[test], rest)
        response = client_a.post(url, data=data)
        assert response.status_code in (302, 404, 409, 422), (url, response.status_code)
        followed = client_a.get(ab(world["campaign"], world[test]))
        assert followed.status_code == 200
        assert "Traceback" not in followed.get_data(as_text=True)


def test_the_campaign_list_and_dashboard_link_here(client_a, world):
    html = page(client_a, f"/campaigns/{world['campaign']}/analytics")
    assert f'href="{ab(world["campaign"])}"' in html


def test_a_declared_test_through_the_api_shows_on_the_page(clean_app, client_a, org_a, world):
    """The JSON API and the pages share the domain: a winner declared by API is on the page."""
    api = clean_app.test_client()
    url = f"/api/drip-campaigns/{world['campaign']}/ab-tests/{world['running']}"
    winner = world["running_variants"][0]
    response = api.patch(
        url, json={"action": "declare_winner", "winnerId": winner}, headers=org_a.auth
    )
    assert response.status_code == 200
    html = page(client_a, ab(world["campaign"], world["running"]))
    assert "Control declared the winner by hand on" in html
    with clean_app.app_context():
        assert (
            ab_lifecycle.get_test(
                db.session, org_a.org_id, world["campaign"], world["running"]
            ).status
            == "completed"
        )


def test_an_archived_campaigns_tests_are_read_only(clean_app, client_a, world):
    with clean_app.app_context():
        db.session.get(DripCampaign, world["campaign"]).status = "archived"
        db.session.commit()
    html = page(client_a, ab(world["campaign"]))
    assert "Archived campaigns are read-only: no new tests." in html
    assert 'name="step_id"' not in html
    for test in ("draft", "running", "completed"):
        html = page(client_a, ab(world["campaign"], world[test]))
        assert "<form" not in html.split("</header>", 1)[1], test  # no change offered
    response = client_a.post(ab(world["campaign"], world["completed"], "/delete"))
    assert response.status_code == 302
    assert "Archived campaigns are read-only." in page(client_a, response.headers["Location"])


def test_paging_survives_any_page_number(client_a, world):
    for value in ("0", "-3", "abc", "99999999999999999999999"):
        assert client_a.get(f"/ab-tests?page={value}").status_code == 200
        assert client_a.get(f"{ab(world['campaign'])}?page={value}").status_code == 200
