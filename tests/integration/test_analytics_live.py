"""Honest live analytics (issue 18), on both databases: contacts still waiting are not
drop-off (through real passes against the fake Cloud API), a step's failed messages add up to
its failures by code (or the gap is labelled), a series starts at the campaign's first day,
today is marked partial and young cohorts are marked still maturing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from app.drip import templates
from app.drip.analytics import funnels
from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import (
    DripActivityRollup,
    DripCampaign,
    DripEnrollment,
    DripMessageLog,
    Organization,
    utcnow,
)
from app.models.analytics import AXIS_EVENT
from app.tasks.processing import run_processing_pass
from app.web.analytics import UNFILED_CODE_WORDS
from app.whatsapp import describe_code
from tests.fakes.cloud_api import FakeCloudApi
from tests.fakes.templates import BUSINESS_ACCOUNT_ID
from tests.integration.enrollment_world import live_steps, make_campaign, make_contacts
from tests.support.accounts import send_through_fake

T0 = datetime(2030, 1, 7, 11, 30, tzinfo=UTC)  # a Monday; the send window is 09:00-12:00 UTC
DAY = timedelta(days=1)


@pytest.fixture
def fake():
    with FakeCloudApi() as server:
        yield server


def sending_world(app, org_id, fake, people: int) -> tuple[int, list[int]]:
    """A two-step template campaign (step 2 three days after step 1), `people` enrolled at T0."""
    with app.app_context():
        session = db.session
        org = session.get(Organization, org_id)
        account = send_through_fake(app, session, org, fake)
        account.business_account_id = BUSINESS_ACCOUNT_ID
        session.flush()
        templates.sync_organization(
            session,
            org_id,
            T0 - DAY,
            decrypt=app.extensions["drip_secret_box"].decrypt,
            allowed_hosts=app.config["WHATSAPP_API_ALLOWED_HOSTS"],
        )
        campaign = make_campaign(
            session,
            org_id,
            steps=((0, "minutes"), (3, "days")),
            window_start=time(9),
            window_end=time(12),
        )
        for step in live_steps(session, campaign):
            step.message_type, step.message_content = "template", None
            step.template_name, step.template_language = "spring_sale", "en_US"
            step.template_parameters = ["{{first_name}}", "20%"]
        contacts = make_contacts(session, org_id, people)
        enrollment.enroll(session, campaign, contact_ids=[c.id for c in contacts], now=T0)
        session.commit()
        return campaign.id, [s.id for s in live_steps(session, campaign)]


def run(app, at):
    with app.app_context():
        return run_processing_pass(at)


def funnel_of(app, org_id, campaign_id) -> dict:
    with app.app_context():
        return funnels.funnel(db.session, org_id, campaign_id)


def test_contacts_still_waiting_are_not_drop_off(clean_app, org_a, fake):
    campaign_id, _ = sending_world(clean_app, org_a.org_id, fake, people=4)
    run(clean_app, T0)
    first, second = funnel_of(clean_app, org_a.org_id, campaign_id)["steps"]
    # All four got step 1 and wait three days for step 2: a fresh campaign, not a failure.
    assert (first["reachedCount"], first["waitingCount"], first["settledCount"]) == (4, 4, 0)
    assert first["dropOffCount"] == 0 and first["dropOffRate"] is None
    assert first["dropOffReasons"]["waiting"] == 4 and first["waitingRate"] == 100.0
    assert second["reachedCount"] == 0 and second["conversionRate"] is None  # not 0 %

    with clean_app.app_context():
        stopped = db.session.scalars(
            select(DripEnrollment.id).order_by(DripEnrollment.id).limit(1)
        ).one()
        enrollment.stop(db.session, org_a.org_id, campaign_id, stopped, now=T0 + DAY)
        db.session.commit()
    report = funnel_of(clean_app, org_a.org_id, campaign_id)
    first, second = report["steps"]
    assert first["dropOffReasons"]["stopped"] == 1 and first["dropOffCount"] == 1
    assert (first["waitingCount"], first["settledCount"]) == (3, 1)
    assert first["dropOffRate"] == 100.0  # of the one whose fate is settled, not of 4
    assert second["conversionRate"] == 0.0
    assert report["waitingCount"] == 3

    run(clean_app, T0 + 3 * DAY + timedelta(minutes=5))  # Thursday 11:35, in the window
    report = funnel_of(clean_app, org_a.org_id, campaign_id)
    first, second = report["steps"]
    assert second["reachedCount"] == 3 and second["conversionRate"] == 75.0  # 1 stopped
    assert (first["waitingCount"], first["settledCount"], first["dropOffRate"]) == (0, 4, 25.0)
    everyone = (
        report["completed"] + report["waitingCount"] + report["beforeFirstStep"]["waitingCount"]
    )
    dropped = sum(s["dropOffCount"] for s in report["steps"])
    assert everyone + dropped + report["beforeFirstStep"]["dropOffCount"] == 4

    # The API answers the same numbers, every field it had before still there.
    response = clean_app.test_client().get(
        f"/api/drip-campaigns/{campaign_id}/analytics", headers=org_a.auth
    )
    api_first = response.get_json()["data"]["steps"][0]
    assert api_first["dropOffRate"] == 25.0 and api_first["waitingCount"] == 0
    for field in ("dropOffCount", "dropOffReasons", "failedByCode", "conversionRate"):
        assert field in api_first


def test_the_dashboard_shows_waiting_apart_and_links_each_drop_off(
    clean_app, org_a, client_a, fake
):
    campaign_id, (step1, _) = sending_world(clean_app, org_a.org_id, fake, people=3)
    run(clean_app, T0)
    with clean_app.app_context():
        stopped = db.session.scalars(select(DripEnrollment.id).limit(1)).one()
        enrollment.stop(db.session, org_a.org_id, campaign_id, stopped, now=T0 + DAY)
        db.session.commit()
    html = client_a.get(f"/campaigns/{campaign_id}/analytics").get_data(as_text=True)
    assert "2 contacts are still waiting for their next message" in html
    assert f"/campaigns/{campaign_id}/enrollments?step={step1}&amp;reason=waiting" in html
    assert f"/campaigns/{campaign_id}/enrollments?step={step1}&amp;reason=stopped" in html
    assert "no longer waiting there" in html  # the drop-off rate's denominator, in words
    funnel = figures(html)["funnel"]
    groups = {t["name"]: t.get("legendgroup") for t in funnel["data"]}
    assert groups["Still waiting (on their way)"] == "waiting"
    assert groups["Stopped"] == "dropped"
    waiting = next(t for t in funnel["data"] if t["name"] == "Still waiting (on their way)")
    assert waiting["y"] == [2, 0] and "pattern" in waiting["marker"]


def figures(html: str) -> dict[str, dict]:
    found = re.findall(
        r'<script type="application/json" data-chart-figure="(\w+)">(.*?)</script>', html, re.S
    )
    return {name: json.loads(body) for name, body in found}


CODES = ("131026", "131026", "stale", None, "ambiguous", "500")


def failing_campaign(org_id: int, *, when=None) -> tuple[int, int]:
    """One step, six enrollments each with a failed message (CODES), and one delivered."""
    session = db.session
    when = when or utcnow() - 2 * DAY
    campaign = make_campaign(session, org_id, steps=((0, "minutes"),), activated_at=when)
    (step,) = live_steps(session, campaign)
    contacts = make_contacts(session, org_id, len(CODES) + 1)
    for i, contact in enumerate(contacts):
        failed = i < len(CODES)
        row = DripEnrollment(
            organization_id=org_id,
            campaign_id=campaign.id,
            contact_id=contact.id,
            status="failed" if failed else "completed",
            enrolled_at=when,
            completed_at=None if failed else when,
            stopped_at=when if failed else None,
            last_step_id=step.id,
            current_step_id=step.id,
        )
        session.add(row)
        session.flush()
        session.add(
            DripMessageLog(
                organization_id=org_id,
                enrollment_id=row.id,
                campaign_id=campaign.id,
                step_id=step.id,
                contact_id=contact.id,
                status="failed" if failed else "delivered",
                created_at=when,
                sent_at=None if failed else when,
                delivered_at=None if failed else when,
                failed_at=when if failed else None,
                error_code=CODES[i] if failed else None,
            )
        )
    session.commit()
    return campaign.id, step.id


def test_failed_messages_add_up_to_their_codes_shown_in_words(clean_app, org_a, client_a):
    with clean_app.app_context():
        campaign_id, _ = failing_campaign(org_a.org_id)
        (step,) = funnels.funnel(db.session, org_a.org_id, campaign_id)["steps"]
    # "ambiguous" is not a number and None is no code: both filed as "unknown".
    assert step["failedByCode"] == {"131026": 2, "unknown": 2, "500": 1, "stale": 1}
    assert sum(step["failedByCode"].values()) == step["failedCount"] == 6
    assert step["failedByCodeGap"] == 0
    assert step["dropOffReasons"]["failed"] == 6  # the enrollments it ended, a separate count
    html = client_a.get(f"/campaigns/{campaign_id}/analytics").get_data(as_text=True)
    for code in ("131026", "stale", "500"):
        words = describe_code(code).replace("'", "&#39;")
        assert f"<code>{code}</code></td><td>{words}</td>" in html, code
    assert f"<code>unknown</code></td><td>{UNFILED_CODE_WORDS}</td>" in html
    assert 'All failed messages at this step</td><td class="num">6</td>' in html
    assert "Not filed under a code" not in html


def test_a_gap_between_failed_and_its_codes_is_labelled(clean_app, org_a, client_a):
    with clean_app.app_context():
        campaign_id, step_id = failing_campaign(org_a.org_id)
        # A rollup fault: a failed message counted with no code filed for it.
        db.session.add(
            DripActivityRollup(
                organization_id=org_a.org_id,
                campaign_id=campaign_id,
                step_id=step_id,
                axis=AXIS_EVENT,
                metric=6,
                bucket=int(utcnow().timestamp()) // 900,
                count=1,
            )
        )
        db.session.commit()
        (step,) = funnels.funnel(db.session, org_a.org_id, campaign_id)["steps"]
    assert step["failedCount"] == 7 and step["failedByCodeGap"] == 1
    html = client_a.get(f"/campaigns/{campaign_id}/analytics").get_data(as_text=True)
    assert "Not filed under a code" in html


def test_a_series_starts_at_the_campaign_first_day(clean_app, org_a):
    now = datetime(2026, 11, 20, 15, tzinfo=UTC)
    with clean_app.app_context():
        session = db.session
        campaign_id, _ = failing_campaign(org_a.org_id, when=now - 3 * DAY)
        start, end = (now - 29 * DAY).date(), now.date()
        series = funnels.timeseries(session, org_a.org_id, campaign_id, start, end, now=now)
        assert series["firstDay"] == (now - 3 * DAY).date() == series["from"]
        assert len(series["days"]) == 4 and series["days"][0]["enrolled"] == 7
        # An enrollment made while a draft (before activation) moves the first day earlier.
        campaign = session.get(DripCampaign, campaign_id)
        campaign.activated_at = now - DAY
        session.commit()
        series = funnels.timeseries(session, org_a.org_id, campaign_id, start, end, now=now)
        assert series["firstDay"] == (now - 3 * DAY).date()
        # A range that ends before the campaign began has no days (not a run of zeros).
        early = funnels.timeseries(
            session, org_a.org_id, campaign_id, start, (now - 5 * DAY).date(), now=now
        )
        assert early["days"] == [] and early["partialDay"] is None


def test_today_is_marked_partial(clean_app, org_a, client_a):
    with clean_app.app_context():
        campaign_id, _ = failing_campaign(org_a.org_id, when=utcnow() - 2 * DAY)
        now = datetime.now(UTC)
        today = now.date()  # the campaign counts days in UTC
        series = funnels.timeseries(
            db.session, org_a.org_id, campaign_id, today - 6 * DAY, today, now=now
        )
        assert series["partialDay"] == today
        past = funnels.timeseries(
            db.session, org_a.org_id, campaign_id, today - 6 * DAY, today - DAY, now=now
        )
        assert past["partialDay"] is None
    html = client_a.get(f"/campaigns/{campaign_id}/analytics").get_data(as_text=True)
    assert "today, so far" in html and 'class="partial-day"' in html
    daily = figures(html)["timeseries"]
    sent = next(t for t in daily["data"] if t["name"] == "Sent")
    assert sent["y"][-1] is None  # today is not on the solid line
    assert any(t["name"] == "Sent (today so far)" for t in daily["data"])
    assert daily["layout"]["shapes"][0]["x1"] == f"{today.isoformat()} 12:00"


def test_young_cohorts_are_marked_still_maturing(clean_app, org_a, client_a):
    now = utcnow()
    with clean_app.app_context():
        session = db.session
        campaign = make_campaign(
            session, org_a.org_id, steps=((0, "minutes"), (3, "days")), activated_at=now - 20 * DAY
        )
        contacts = make_contacts(session, org_a.org_id, 2)
        for contact, age in zip(contacts, (10 * DAY, 3 * DAY), strict=True):
            session.add(
                DripEnrollment(
                    organization_id=org_a.org_id,
                    campaign_id=campaign.id,
                    contact_id=contact.id,
                    status="active",
                    enrolled_at=now - age,
                )
            )
        session.commit()
        start = (now - 12 * DAY).date()
        result = funnels.cohorts(
            session, org_a.org_id, campaign.id, "day", start, now.date(), now=now
        )
    old, young = result["cohorts"]
    assert old["reachedMaturing"] == [False, False] and not old["maturing"]
    # Step 1 is due at once (a day's grace); step 2 three days later: not yet for the young.
    assert young["reachedMaturing"] == [False, True] and young["completionMaturing"]
    assert young["maturing"]
    html = client_a.get(
        f"/campaigns/{campaign.id}/analytics",
        query_string={"granularity": "day", "from": start.isoformat()},
    ).get_data(as_text=True)
    assert "Grey cells are still maturing" in html
    heatmaps = figures(html)["cohorts"]["data"]
    grey = next(t for t in heatmaps if t["name"] == "Still maturing")
    assert grey["z"][0] == [None, None, None]  # the old cohort is all on the colour scale
    assert grey["z"][1][0] is None and grey["z"][1][1] == 0.0
    assert grey["text"][1][1].endswith("maturing")
