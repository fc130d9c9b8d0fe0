"""`flask seed-demo`: the first-run demo organization, and what each page can show from it."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from app.cli import DEMO_EMAIL, DEMO_PASSWORD
from app.drip.ab import running as ab_testing
from app.drip.analytics import funnels as funnel
from app.drip.analytics.enrollment_counts import DROP_OFF_REASONS
from app.drip.demo.cart import NAME as CART_CAMPAIGN
from app.drip.demo.history import NAME as HISTORY_CAMPAIGN
from app.drip.demo.seed import DEMO_CAMPAIGN, LIVE_CONTACTS
from app.extensions import db
from app.models import (
    Contact,
    DripAbTest,
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
    DripMessageLog,
    DripVariantAssignment,
    Organization,
    User,
    utcnow,
)
from tests.conftest import login

COUNTED = (Contact, DripEnrollment, DripMessageLog, DripVariantAssignment, DripAbTest)


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def campaign_named(name: str) -> DripCampaign:
    return db.session.scalars(select(DripCampaign).where(DripCampaign.name == name)).one()


def row_counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def test_seed_demo_is_idempotent_and_every_page_has_data(clean_app):
    result = run(clean_app, "seed-demo")
    assert result.exit_code == 0, result.output
    assert DEMO_EMAIL in result.output and "Created campaign" in result.output
    with clean_app.app_context():
        first = row_counts()
    result = run(clean_app, "seed-demo")
    assert result.exit_code == 0, result.output
    assert "already there" in result.output and "Created" not in result.output
    with clean_app.app_context():
        assert row_counts() == first
        assert db.session.scalar(select(func.count()).select_from(Organization)) == 1
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
        history = campaign_named(HISTORY_CAMPAIGN)
        check_funnel(history)
        check_history_rows(history)
        check_cohorts_and_days(history)
        check_ab_tests(history)
        live_id = check_live_campaign()
        cart_id = check_branched_campaign()
        ids = (history.id, live_id, history_test_ids(history))
    check_pages(clean_app, *ids)
    client = clean_app.test_client()
    assert login(client, DEMO_EMAIL, DEMO_PASSWORD).status_code == 302
    page = client.get(f"/campaigns/{cart_id}/analytics").get_data(as_text=True)
    assert "from “Your cart”, clicked a link:" in page
    assert "from “Your cart”, wait ran out:" in page


def check_branched_campaign() -> int:
    """ "Cart recovery" branches, and contacts took each of its paths: the funnel's paths add
    up to each step's reached figure, the drop-off reasons to their totals."""
    cart = campaign_named(CART_CAMPAIGN)
    steps = db.session.scalars(
        select(DripCampaignStep)
        .where(DripCampaignStep.campaign_id == cart.id)
        .order_by(DripCampaignStep.position)
    ).all()
    assert steps[0].branch["conditions"][0]["goTo"] == steps[2].id
    report = funnel.funnel(db.session, cart.organization_id, cart.id)
    ways = set()
    for step in report["steps"]:
        assert sum(p["reached"] for p in step["paths"]) == step["reachedCount"] > 0
        ways |= {(p["fromStepId"], p["via"]) for p in step["paths"]}
        reasons = step["dropOffReasons"]
        assert reasons["waiting"] + reasons["marketingCap"] == step["waitingCount"]
        assert sum(reasons.values()) - step["waitingCount"] == step["dropOffCount"]
        assert step["conversionRate"] <= 100
    first, reminder, _ = (s.id for s in steps)
    assert {(None, None), (first, "clicked"), (first, "timeout"), (reminder, "next")} <= ways
    e = DripEnrollment
    by_way = dict(
        db.session.execute(
            select(e.via, func.count()).where(e.campaign_id == cart.id).group_by(e.via)
        ).all()
    )
    assert by_way.get("replied", 0) > 0  # journeys the branch ended
    waiting = select(func.count()).where(e.campaign_id == cart.id, e.wait_reason == "branch")
    assert db.session.scalar(waiting) > 0
    assert report["steps"][0]["waitingCount"] > 0
    now = utcnow()
    due = select(func.min(e.next_send_at)).where(e.campaign_id == cart.id, e.status == "active")
    assert db.session.scalar(due) > now - timedelta(minutes=2)  # nothing long overdue
    return cart.id


def check_funnel(history: DripCampaign) -> None:
    report = funnel.funnel(db.session, history.organization_id, history.id)
    assert history.status == "active"
    assert 3000 <= report["totalEnrolled"] <= 5000
    assert report["completed"] > report["totalEnrolled"] / 2
    assert len(report["steps"]) == 4
    for reason in DROP_OFF_REASONS:  # replied, unsubscribed, failed, stopped, waiting
        assert sum(step["dropOffReasons"][reason] for step in report["steps"]) > 0, reason
    codes = {code for step in report["steps"] for code in step["failedByCode"]}
    assert {"131026", "131049", "131050"} <= codes
    # Free text outside the 24-hour window is never sent, so Meta never refuses it.
    assert "131047" not in codes
    first = report["steps"][0]
    assert 0 < first["readCount"] < first["deliveredCount"] < first["sentCount"]
    assert sum(step["clickedCount"] for step in report["steps"]) > 0
    engagement = funnel.engagement(db.session, history.organization_id, history.id)
    # Read minutes to hours after the send.
    assert 60 < engagement["timeToRead"]["medianSeconds"] < 6 * 3600


def check_history_rows(history: DripCampaign) -> None:
    """The rows agree with one another as the processor and the webhook would leave them."""
    e, log, step = DripEnrollment, DripMessageLog, DripCampaignStep
    furthest = (
        select(log.step_id)
        .join(step, step.id == log.step_id)
        .where(log.enrollment_id == e.id)
        .order_by(step.position.desc())
        .limit(1)
        .scalar_subquery()
    )
    wrong = select(func.count()).where(
        e.campaign_id == history.id, e.last_step_id.is_distinct_from(furthest)
    )
    assert db.session.scalar(wrong) == 0

    def enrollments(*where) -> int:
        return db.session.scalar(select(func.count()).where(e.campaign_id == history.id, *where))

    replied = select(log.id).where(log.enrollment_id == e.id, log.replied_at.is_not(None))
    assert enrollments(e.stop_reason == "replied", ~replied.exists()) == 0
    assert enrollments(e.stop_reason == "replied") > 0
    failed = select(log.id).where(log.enrollment_id == e.id, log.error_code == "131026")
    assert enrollments(e.status == "failed", ~failed.exists()) == 0
    opted_in = select(Contact.id).where(Contact.id == e.contact_id, Contact.opted_out_at.is_(None))
    assert enrollments(e.status == "unsubscribed", opted_in.exists()) == 0
    assert enrollments(e.status == "unsubscribed", e.stop_reason == "opted_out") > 0
    assert enrollments(e.status == "completed", e.completed_at.is_(None)) == 0
    assert enrollments(e.status == "active", e.next_send_at.is_(None)) == 0


def check_cohorts_and_days(history: DripCampaign) -> None:
    weeks = funnel.cohorts(db.session, history.organization_id, history.id, "week")["cohorts"]
    assert 9 <= len(weeks) <= 10  # sixty days
    assert all(week["size"] > 0 for week in weeks)
    today = date.today()
    days = funnel.timeseries(
        db.session, history.organization_id, history.id, today - timedelta(days=59), today
    )["days"]
    assert sum(1 for day in days if day["sent"] > 0) >= 50
    assert sum(1 for day in days if day["enrolled"] > 0) >= 50


def history_test_ids(history: DripCampaign) -> list[int]:
    tests = db.session.scalars(select(DripAbTest).where(DripAbTest.campaign_id == history.id))
    return sorted(test.id for test in tests)


def check_ab_tests(history: DripCampaign) -> None:
    now = utcnow()
    # The auto-winner job, which the embedded worker runs as it starts, ends nothing.
    assert ab_testing.check_for_winners(db.session, now) == 0
    reports = {
        test_id: ab_testing.report(db.session, history.organization_id, history.id, test_id, now)
        for test_id in history_test_ids(history)
    }
    by_status = {report["status"]: report for report in reports.values()}
    assert set(by_status) == {"completed", "running"}
    for report in reports.values():
        assert len(report["variants"]) >= 2
        assert all(variant["sent"] > 100 for variant in report["variants"])
        assert report["timeline"]
    completed, running = by_status["completed"], by_status["running"]
    assert completed["winnerId"] in {v["id"] for v in completed["variants"]}
    assert running["winnerId"] is None
    assert sum(v["assigned"] for v in running["variants"]) >= 1500
    control = next(v for v in running["variants"] if v["isControl"])
    assert max(v["rate"] for v in running["variants"]) > control["rate"]
    decision = running["statistics"]["sequential"]["decision"]
    assert decision["code"] == "waiting"


def check_live_campaign() -> int:
    live = campaign_named(DEMO_CAMPAIGN)
    assert live.status == "active"
    e = DripEnrollment
    times = db.session.scalars(
        select(e.next_send_at).where(e.campaign_id == live.id, e.status == "active")
    ).all()
    assert len(times) == LIVE_CONTACTS
    now = utcnow()
    assert any(at <= now + timedelta(minutes=1) for at in times)  # due at once
    assert max(times) - min(times) >= timedelta(minutes=30)  # and then one a minute
    return live.id


def check_pages(app, history_id: int, live_id: int, test_ids: list[int]) -> None:
    client = app.test_client()
    assert login(client, DEMO_EMAIL, DEMO_PASSWORD).status_code == 302
    pages = [
        "/campaigns",
        "/analytics",
        "/ab-tests",
        f"/campaigns/{history_id}",
        f"/campaigns/{history_id}/analytics",
        f"/campaigns/{history_id}/enrollments",
        f"/campaigns/{live_id}/analytics",
        # The JSON report of each test (the same function the results page renders).
        *(f"/api/drip-campaigns/{history_id}/ab-tests/{test_id}" for test_id in test_ids),
    ]
    for page in pages:
        assert client.get(page).status_code == 200, page
