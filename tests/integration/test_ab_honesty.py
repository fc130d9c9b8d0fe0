"""The A/B results say only what the numbers support (issue 18), on both databases: the
headline's lift is the table's (same arm, value and rounding, for 2 and 3 arms), a variant
without sends has no p, z, lift or "significant" anywhere (page, API, CSV), the time chart's
days are the organization's, and the page says how many sends a decision needs, when that
is likely, and when the step can never get there."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from app.drip.ab import results as ab_results
from app.drip.ab import running as ab_running
from app.drip.ab import shapes as ab_shapes
from app.drip.ab.days import offset_changes
from app.extensions import db
from app.models import DripEnrollment, DripMessageLog, Organization, utcnow
from tests.integration.enrollment_world import NOW, live_steps, make_campaign, make_contacts
from tests.integration.test_ab_pages import figures, page
from tests.integration.test_ab_testing import make_test, synthetic, variants

DAY, HOUR = timedelta(days=1), timedelta(hours=1)


def ab_page(campaign_id: int, test_id: int, rest: str = "") -> str:
    return f"/campaigns/{campaign_id}/ab-tests/{test_id}{rest}"


def api_test(clean_app, org, campaign_id: int, test_id: int) -> dict:
    client = clean_app.test_client()
    response = client.get(f"/api/drip-campaigns/{campaign_id}/ab-tests/{test_id}", headers=org.auth)
    assert response.status_code == 200, response.json
    return response.json["data"]


def headline_cell(html: str) -> str:
    """The lift cell of the table row the headline quotes."""
    row = re.search(r'<tr[^>]*data-headline="lift"[^>]*>(.*?)</tr>', html, re.S)
    assert row, "no row is marked as the headline's"
    return re.search(r'<td class="num lift">([^<]*)</td>', row.group(1)).group(1)


def sentence(html: str) -> str:
    return re.search(r'<p class="verdict-sentence">([^<]*)</p>', html).group(1)


# --- the headline's lift is the table's ---------------------------------------------------


@pytest.mark.parametrize("arms", [2, 3])
def test_the_headline_quotes_the_tables_lift(clean_app, org_a, client_a, arms):
    """Matured sends (what the decision reads) and young ones (in the table) disagree: the
    sentence used to quote the matured lift (+25%) beside a table of +5.6%."""
    with clean_app.app_context():
        session = db.session
        campaign = make_campaign(session, org_a.org_id)
        shares = (50, 50) if arms == 2 else (34, 33, 33)
        test = make_test(session, campaign, shares=shares)
        arm = variants(session, test)
        now, old = utcnow(), utcnow() - 10 * DAY
        rows = [
            (arm[0], 300, 60, old, HOUR),  # matured: 20%
            (arm[1], 300, 75, old, HOUR),  # matured: 25% (+25%)
            (arm[0], 100, 30, now - HOUR, timedelta(minutes=5)),  # all: 22.5%
            (arm[1], 100, 20, now - HOUR, timedelta(minutes=5)),  # all: 23.75% (+5.6%)
        ]
        if arms == 3:
            rows += [(arm[2], 300, 62, old, HOUR), (arm[2], 100, 20, now - HOUR, HOUR)]
        synthetic(session, test, rows)
        ids = (campaign.id, test.id, arm[1].id)

    data = api_test(clean_app, org_a, ids[0], ids[1])
    assert data["decision"]["code"] == "no_difference"
    assert data["headline"]["variantId"] == ids[2]
    table = {c["variantId"]: c for c in data["statistics"]["comparisons"]}
    assert data["headline"]["lift"] == table[ids[2]]["lift"] == pytest.approx(100 * 95 / 90 - 100)
    assert "5.6% more often than Control" in data["verdict"]
    assert "25%" not in data["verdict"]

    html = page(client_a, ab_page(ids[0], ids[1]))
    cell = headline_cell(html)
    assert cell == "+5.6%"
    assert f"Variant 1 is read {cell[1:]} more often than Control" in sentence(html)


def test_the_headline_of_a_winner_is_its_row_in_the_table(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    test = make_test(session, campaign, shares=(34, 33, 33))
    control, first, second = variants(session, test)
    old = NOW - 10 * DAY
    synthetic(
        session,
        test,
        [
            (control, 300, 60, old, HOUR),
            (first, 300, 66, old, HOUR),
            (second, 300, 180, old, HOUR),
            (second, 50, 0, NOW - HOUR, HOUR),  # young, unread: the table's lift is lower
        ],
    )
    shown = ab_shapes.test_dict(ab_results.test_results(session, test, NOW))
    assert shown["decision"]["code"] == "winner"
    lift = next(
        c["lift"] for c in shown["statistics"]["comparisons"] if c["variantId"] == second.id
    )
    assert shown["headline"] == {"variantId": second.id, "controlId": control.id, "lift": lift}
    assert lift == pytest.approx(100 * (180 / 350) / 0.2 - 100)
    assert shown["verdict"].startswith(f"Variant 2 is read {lift:,.1f}% more often than Control")


# --- a variant without sends ----------------------------------------------------------------


def test_a_variant_without_sends_has_no_p_z_lift_or_significance(clean_app, org_a, client_a):
    with clean_app.app_context():
        session = db.session
        campaign = make_campaign(session, org_a.org_id)
        test = make_test(session, campaign, shares=(34, 33, 33))
        control, first, silent = variants(session, test)
        sent = utcnow() - 5 * DAY
        synthetic(session, test, [(control, 150, 30, sent, HOUR), (first, 150, 45, sent, HOUR)])
        ids = (campaign.id, test.id, first.id, silent.id)

    data = api_test(clean_app, org_a, ids[0], ids[1])
    compared = {c["variantId"]: c for c in data["statistics"]["comparisons"]}
    empty = compared[ids[3]]
    for key in ("lift", "absoluteLift", "zScore", "pValue", "adjustedPValue"):
        assert empty[key] is None, key
    assert empty["sequentialPValue"] is None and empty["adjustedSequentialPValue"] is None
    assert empty["significant"] is None and empty["note"] == "no sends yet"
    assert compared[ids[2]]["pValue"] is not None and compared[ids[2]]["note"] is None

    html = page(client_a, ab_page(ids[0], ids[1]))
    row = re.search(r"<tr[^>]*>\s*<th scope=\"row\">Variant 2.*?</tr>", html, re.S).group(0)
    assert "no sends yet" in row
    assert "1.000" not in row and ">no<" not in row and "—" not in row.split("no sends")[1]

    response = client_a.get(ab_page(ids[0], ids[1], "/results.csv"))
    rows = {r["variant"]: r for r in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
    silent_row = rows["Variant 2"]
    for column in ("lift", "z_score", "p_value", "sequential_p_value", "significant"):
        assert silent_row[column] == "", column
    assert silent_row["note"] == "no sends yet" and silent_row["sent"] == "0"
    assert rows["Variant 1"]["p_value"] != "" and rows["Variant 1"]["note"] == ""


# --- the time chart's days --------------------------------------------------------------------


def test_the_time_chart_counts_days_on_the_organizations_clock(clean_app, org_a, client_a):
    """03:00 and 15:00 UTC on 1 March are 22:00 on 29 February and 10:00 on 1 March in New York."""
    with clean_app.app_context():
        session = db.session
        session.get(Organization, org_a.org_id).timezone = "America/New_York"
        campaign = make_campaign(session, org_a.org_id)
        test = make_test(session, campaign)
        control, variant = variants(session, test)
        late, next_day = datetime(2024, 3, 1, 3, tzinfo=UTC), datetime(2024, 3, 1, 15, tzinfo=UTC)
        synthetic(
            session,
            test,
            [
                (control, 4, 1, late, HOUR),
                (variant, 4, 2, late, HOUR),
                (control, 6, 3, next_day, HOUR),
                (variant, 6, 6, next_day, HOUR),
            ],
        )
        ids = (campaign.id, test.id)
    chart = figures(page(client_a, ab_page(*ids)))["timeline"]
    assert [line["x"] for line in chart["data"]] == [["2024-02-29", "2024-03-01"]] * 2
    assert chart["data"][1]["y"] == pytest.approx([50.0, 80.0])
    assert "America/New_York" in chart["layout"]["title"]["text"]
    assert "America/New_York" in chart["layout"]["xaxis"]["title"]["text"]


def test_local_days_follow_a_daylight_saving_change(session, org_a):
    """Across New York's spring change: 04:30 UTC is the 9th before it, the 10th after."""
    zone = ZoneInfo("America/New_York")
    start, end = datetime(2024, 3, 9, tzinfo=UTC), datetime(2024, 3, 12, tzinfo=UTC)
    changes = offset_changes(zone, start, end)
    assert [offset for _, offset in changes] == [-5 * 3600, -4 * 3600]
    campaign = make_campaign(session, org_a.org_id)
    test = make_test(session, campaign)
    control, _ = variants(session, test)
    synthetic(
        session,
        test,
        [
            (control, 1, 0, datetime(2024, 3, 10, 4, 30, tzinfo=UTC), HOUR),  # 23:30 EST, 9th
            (control, 1, 0, datetime(2024, 3, 11, 3, 30, tzinfo=UTC), HOUR),  # 23:30 EDT, 10th
        ],
    )
    (series, _) = ab_running.timeline(session, test, zone)
    assert [p["date"] for p in series["points"]] == ["2024-03-09", "2024-03-10"]


# --- when can it decide ----------------------------------------------------------------------


def step_history(session, campaign, step, *, sends_7_days: int, waiting: int) -> None:
    """`sends_7_days` logs of the step spread evenly over the 7 days before NOW (their
    enrollments done), and `waiting` active enrollments at the step."""
    org_id = campaign.organization_id
    contacts = make_contacts(session, org_id, sends_7_days + waiting)
    base = {"organization_id": org_id, "campaign_id": campaign.id, "enrolled_at": NOW - 9 * DAY}
    session.execute(
        insert(DripEnrollment),
        [
            {**base, "contact_id": c.id, "status": "completed", "completed_at": NOW - DAY}
            for c in contacts[:sends_7_days]
        ]
        + [
            {**base, "contact_id": c.id, "status": "active", "current_step_id": step.id}
            for c in contacts[sends_7_days:]
        ],
    )
    if not sends_7_days:
        session.flush()
        return
    done = session.query(DripEnrollment).filter_by(campaign_id=campaign.id, status="completed")
    spread = 7 * DAY / max(sends_7_days, 1)
    session.execute(
        insert(DripMessageLog),
        [
            {
                "organization_id": org_id,
                "enrollment_id": e.id,
                "campaign_id": campaign.id,
                "step_id": step.id,
                "contact_id": e.contact_id,
                "status": "sent",
                "wamid": f"wamid.eta.{campaign.id}.{e.id}",
                "attempts": 1,
                "sent_at": NOW - 7 * DAY + i * spread,
            }
            for i, e in enumerate(done.order_by(DripEnrollment.id))
        ],
    )
    session.flush()


def outlook(session, test, now=NOW) -> dict:
    results = ab_results.test_results(session, test, now, ZoneInfo("Europe/Berlin"))
    return ab_shapes.test_dict(results)["decision"]


def test_the_sends_a_decision_needs_and_their_likely_date(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    step = live_steps(session, campaign)[0]
    test = make_test(session, campaign, min_sample_size=200)
    control, variant = variants(session, test)
    synthetic(
        session, test, [(control, 100, 10, NOW - DAY, HOUR), (variant, 60, 6, NOW - DAY, HOUR)]
    )
    step_history(session, campaign, step, sends_7_days=70, waiting=300)
    decision = outlook(session, test)
    # 140 more for the variant at half the step's 10 sends a day: 28 days, then 72 hours.
    assert decision["code"] == "waiting"
    assert (decision["sendsNeeded"], decision["sendsSoFar"], decision["sendsTarget"]) == (
        140,
        60,
        200,
    )
    assert decision["sendsPerDay"] == pytest.approx(10.0)
    assert decision["expectedAt"] == "2030-02-07T12:00:00Z"
    assert decision["reachable"] is True
    assert decision["note"] == (
        "Needs about 140 more sends per variant: around 7 February at the current rate of "
        "10 sends a day on this step, with the 72-hour outcome window."
    )


def test_a_step_that_cannot_reach_the_sample_says_so(session, org_a):
    campaign = make_campaign(session, org_a.org_id)
    step = live_steps(session, campaign)[0]
    test = make_test(session, campaign, min_sample_size=200)
    control, variant = variants(session, test)
    synthetic(
        session, test, [(control, 100, 10, NOW - DAY, HOUR), (variant, 60, 6, NOW - DAY, HOUR)]
    )
    step_history(session, campaign, step, sends_7_days=70, waiting=200)  # 280 sends needed
    decision = outlook(session, test)
    assert decision["reachable"] is False and decision["expectedAt"] is None
    assert "only 200 contacts are still to reach this step" in decision["note"]
    assert "cannot reach a decision unless more contacts are enrolled" in decision["note"]


def test_a_quiet_step_of_a_paused_campaign_is_unreachable(session, org_a):
    campaign = make_campaign(session, org_a.org_id, status="paused")
    step = live_steps(session, campaign)[0]
    test = make_test(session, campaign, min_sample_size=200)
    control, variant = variants(session, test)
    old = NOW - 20 * DAY
    synthetic(session, test, [(control, 100, 10, old, HOUR), (variant, 60, 6, old, HOUR)])
    step_history(session, campaign, step, sends_7_days=0, waiting=500)
    decision = outlook(session, test)
    assert decision["reachable"] is False and decision["sendsPerDay"] == 0
    assert "the campaign is paused and the step sent nothing in the last 7 days" in decision["note"]


def test_the_page_and_the_api_show_the_outlook(clean_app, org_a, client_a):
    with clean_app.app_context():
        session = db.session
        campaign = make_campaign(session, org_a.org_id)
        test = make_test(session, campaign, min_sample_size=1000)
        control, variant = variants(session, test)
        synthetic(
            session,
            test,
            [(control, 40, 4, utcnow() - DAY, HOUR), (variant, 40, 4, utcnow() - DAY, HOUR)],
        )
        ids = (campaign.id, test.id)
    decision = api_test(clean_app, org_a, *ids)["decision"]
    assert decision["sendsNeeded"] == 960 and decision["reachable"] is False
    html = page(client_a, ab_page(*ids))
    box = re.search(r'<div class="decision-outlook[^"]*"[^>]*>(.*?)</div>', html, re.S)
    assert box and 'role="alert"' in box.group(0)
    assert "960 more sends per variant" in box.group(1) and "Warning:" in box.group(1)
    assert "cannot reach a decision" in box.group(1)
