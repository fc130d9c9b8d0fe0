"""The funnel of a journey that branches, on both databases, after real passes and signed
webhooks (the world of test_branch_journeys): each step's arrivals by the path that led
there, drop-off reasons that still add up, honest conversion rates, cohorts and series that
count the same events as before, and the dashboard's rows per path."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.drip.analytics import funnels
from app.extensions import db
from app.models import DripMessageLog
from tests.conftest import login
from tests.integration.enrollment_world import NOW
from tests.integration.test_branch_journeys import (  # noqa: F401 - the shared fixtures
    HOUR,
    fake,
    journey,
    post,
    reply_body,
    run,
    state,
)
from tests.integration.test_webhook import status_body
from tests.support.window import wrote_to_us


def report(app, org_id, campaign_id) -> dict:
    with app.app_context():
        return funnels.funnel(db.session, org_id, campaign_id)


def read_and_reply(app, journey):  # noqa: F811
    """The reader reads the Welcome, the replier answers it; a pass sends the Offer."""
    client = app.test_client()
    run(app, NOW)
    _, _, first_logs = state(app)
    reader, replier, _ = journey["contacts"]
    status = {
        "id": first_logs[reader].wamid,
        "status": "read",
        "timestamp": str(int((NOW + 3 * HOUR).timestamp())),
        "recipient_id": journey["phones"][0].lstrip("+"),
    }
    post(client, status_body(journey["phone_id"], [status]))
    body = reply_body(
        journey["phone_id"], journey["phones"][1], NOW + 4 * HOUR, first_logs[replier].wamid
    )
    post(client, body)
    run(app, NOW + 5 * HOUR)


def time_out(app):
    """The silent contact's wait runs out: the Reminder, then the Offer in order."""
    deadline = NOW + timedelta(days=2)
    run(app, deadline)
    with app.app_context():
        wrote_to_us(db.session, deadline)
        db.session.commit()
    run(app, deadline + timedelta(minutes=1))
    run(app, deadline + timedelta(minutes=2))


def paths_of(step) -> list[tuple]:
    return sorted(
        ((p["fromStepName"], p["via"], p["reached"]) for p in step["paths"]),
        key=lambda p: tuple(str(x) for x in p),
    )


def check_sums(data: dict) -> None:
    """What must hold of any funnel: paths add up to reached, reasons to their totals."""
    for step in data["steps"]:
        assert sum(p["reached"] for p in step["paths"]) == step["reachedCount"], step
        reasons = step["dropOffReasons"]
        dropped = sum(reasons[r] for r in ("replied", "unsubscribed", "failed", "stopped"))
        assert dropped + reasons["converted"] == step["dropOffCount"]
        assert reasons["waiting"] + reasons["marketingCap"] == step["waitingCount"]
        assert step["conversionRate"] is None or step["conversionRate"] <= 100


def test_funnel_counts_each_steps_arrivals_by_path(clean_app, org_a, journey):  # noqa: F811
    campaign_id = journey["campaign_id"]
    read_and_reply(clean_app, journey)
    data = report(clean_app, org_a.org_id, campaign_id)
    check_sums(data)
    welcome, reminder, offer = data["steps"]
    assert paths_of(welcome) == [(None, None, 3)]
    assert welcome["paths"][0]["fromStepId"] is None
    assert paths_of(offer) == [("Step 1", "read", 1)]
    assert offer["paths"][0]["fromStepId"] == journey["steps"][0]
    assert reminder["paths"] == []
    # The silent contact waits on the branch: waiting at the Welcome, not drop-off; the
    # replier's journey was ended by the branch: completed, not drop-off either.
    assert welcome["waitingCount"] == 1 and welcome["dropOffCount"] == 0
    assert data["completed"] == 2 and data["waitingCount"] == 1
    # Of the two settled at the Welcome, one reached the Offer (none went by the Reminder).
    assert offer["conversionRate"] == 50.0

    time_out(clean_app)
    data = report(clean_app, org_a.org_id, campaign_id)
    check_sums(data)
    welcome, reminder, offer = data["steps"]
    assert paths_of(reminder) == [("Step 1", "timeout", 1)]
    assert paths_of(offer) == [("Step 1", "read", 1), ("Step 2", "next", 1)]
    assert data["completed"] == 3 and data["waitingCount"] == 0
    assert sum(s["dropOffCount"] for s in data["steps"]) == 0
    # Shares of those who had their chance: 1 of the 3 settled at the Welcome took the
    # Reminder; 2 of 3 reached the Offer (not 2 of the 1 settled at the Reminder).
    assert reminder["conversionRate"] == 100 / 3
    assert offer["conversionRate"] == 200 / 3


def test_cohorts_and_series_count_the_same_events(clean_app, org_a, journey):  # noqa: F811
    read_and_reply(clean_app, journey)
    time_out(clean_app)
    org_id, campaign_id = org_a.org_id, journey["campaign_id"]
    with clean_app.app_context():
        session = db.session
        log = DripMessageLog
        sent_by_day = dict(
            session.execute(
                select(func.date(log.sent_at), func.count())
                .where(log.campaign_id == campaign_id, log.sent_at.is_not(None))
                .group_by(func.date(log.sent_at))
            ).all()
        )
        series = funnels.timeseries(
            session, org_id, campaign_id, NOW.date(), (NOW + timedelta(days=3)).date()
        )
        by_day = {str(d["date"]): d["sent"] for d in series["days"] if d["sent"]}
        assert by_day == {str(day): n for day, n in sent_by_day.items()}
        assert sum(d["read"] for d in series["days"]) == session.scalar(
            select(func.count()).where(log.campaign_id == campaign_id, log.read_at.is_not(None))
        )
        cohorts = funnels.cohorts(session, org_id, campaign_id, "day")["cohorts"]
        assert [c["size"] for c in cohorts] == [3]
        per_step = dict(
            session.execute(
                select(log.step_id, func.count())
                .where(log.campaign_id == campaign_id)
                .group_by(log.step_id)
            ).all()
        )
        assert cohorts[0]["reached"] == [per_step.get(s, 0) for s in journey["steps"]]


def test_dashboard_and_api_show_the_paths(clean_app, org_a, journey):  # noqa: F811
    read_and_reply(clean_app, journey)
    time_out(clean_app)
    campaign_id = journey["campaign_id"]
    client = clean_app.test_client()
    api = client.get(f"/api/drip-campaigns/{campaign_id}/analytics", headers=org_a.auth)
    offer = api.get_json()["data"]["steps"][2]
    assert {p["via"] for p in offer["paths"]} == {"read", "next"}
    assert login(client, org_a.email).status_code == 302
    page = client.get(f"/campaigns/{campaign_id}/analytics").get_data(as_text=True)
    assert "from “Step 1”, read it: 1" in page
    assert "from “Step 2”, in order: 1" in page
    assert "from “Step 1”, wait ran out: 1" in page
    # The first step has one way in (enrolling): no rows of paths under it.
    assert "enrolled: 3" not in page
