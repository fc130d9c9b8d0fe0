"""The campaign page's CPU (issue 21) is mostly its SQL statements and its forms: a view reads
each thing once (the steps are not loaded again one by one after a commit, the enrollments are
counted in one GROUP BY for the tiles and the flow, the organization's clock is read once), and
however many steps the campaign has, the statements are the same. The settings form's ~600 time
zones are rendered once per process, exactly as WTForms renders them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from wtforms.widgets import Select

from app.drip import analytics, audit, campaigns, enrollment
from app.drip.campaigns.step_undo import waiting_counts
from app.extensions import db
from app.models import DripCampaign, DripCampaignStep, DripEnrollment
from app.web.campaign_forms import CampaignForm
from tests.integration.test_campaign_pages import add_step, create
from tests.integration.test_dashboard_queries import statements_of

# The statements of one view of the demo's onboarding campaign: the session lookup, the
# campaign, its steps, the flow's reads, its figures (two of the funnel's reads), the undo
# offer, the catalog, the preview contacts, the holds, the activity and the banner's account
# check. There were 39, some of them the same statement run again, then 23 with the whole
# funnel behind the figures.
PAGE_STATEMENTS = 15


def viewed(app, client, path: str) -> list[str]:
    client.get(path)  # the first view of a process may load what later views keep
    return statements_of(app, client, path)


def test_a_campaign_page_view_runs_each_statement_once(clean_app, client_a, onboarding):
    statements = viewed(clean_app, client_a, f"/campaigns/{onboarding}")
    repeated = {s.split("\n")[0] for s in statements if statements.count(s) > 1}
    assert not repeated
    assert len(statements) <= PAGE_STATEMENTS


def test_the_statements_do_not_grow_with_the_steps(clean_app, client_a):
    cid = create(client_a)
    for index in range(2):
        assert add_step(client_a, cid, name=f"Step {index}").status_code == 302
    few = viewed(clean_app, client_a, f"/campaigns/{cid}")
    for index in range(2, 8):
        assert add_step(client_a, cid, name=f"Step {index}").status_code == 302
    many = viewed(clean_app, client_a, f"/campaigns/{cid}")
    assert "Step 7" in client_a.get(f"/campaigns/{cid}").get_data(as_text=True)
    assert len(many) == len(few)


def branch_waiting(session, campaign_id: int) -> dict[int, int]:
    """step id -> live enrollments sent it and waiting on its branch: the read the tally
    replaced."""
    rows = session.execute(
        select(DripEnrollment.current_step_id, func.count())
        .where(
            DripEnrollment.campaign_id == campaign_id,
            DripEnrollment.status == "active",
            DripEnrollment.wait_reason == enrollment.WAIT_REASON,
        )
        .group_by(DripEnrollment.current_step_id)
    )
    return {step_id: int(n) for step_id, n in rows}


def test_the_tally_counts_as_the_three_reads_it_replaces(clean_app, onboarding):
    with clean_app.app_context():
        tally = campaigns.enrollment_tally(db.session, onboarding)
        assert sum(tally.by_status.values()) > 100  # the demo's history has thousands
        assert tally.by_status == campaigns.enrollment_counts(db.session, [onboarding])[onboarding]
        assert tally.waiting == waiting_counts(db.session, onboarding)
        assert tally.on_branch == branch_waiting(db.session, onboarding)


def test_a_page_of_events_says_how_many_there_are_past_the_end_too(clean_app, onboarding):
    with clean_app.app_context():
        campaign = db.session.get(DripCampaign, onboarding)
        org = campaign.organization_id
        first, total = audit.campaign_events(db.session, org, onboarding, limit=2)
        assert total >= 1 and len(first) == min(2, total)
        assert audit.campaign_events(db.session, org, onboarding, limit=2, offset=total) == (
            [],
            total,
        )
        assert audit.campaign_events(db.session, org, onboarding + 1000, limit=2) == ([], 0)


@pytest.mark.parametrize("zone", ["contact", "Europe/Berlin", "UTC", "America/New_York"])
def test_the_time_zones_render_as_wtforms_renders_them(clean_app, zone):
    with clean_app.test_request_context("/"):
        for _ in range(2):  # the second from the kept options
            form = CampaignForm(formdata=None, data={"window_timezone": zone})
            field = form.window_timezone
            assert str(field()) == str(Select()(field))
            assert str(field(class_="x")) == str(Select()(field, class_="x"))
            assert f'<option selected value="{zone}">' in str(field())


def test_the_flow_figures_are_the_funnels(clean_app, onboarding):
    """The flow's figures come from two of the funnel's reads: they are its sent, read, replied
    and drop-off counts, with enrollments held for a marketing-cap retry (moved out of
    "waiting") and ended by the goal (moved out of "stopped") among them."""
    e = DripEnrollment
    with clean_app.app_context():
        session = db.session
        for status, column, reason in (
            ("active", e.wait_reason, "marketing_cap"),
            ("stopped", e.stop_reason, "converted"),
        ):
            some = select(e.id).where(e.campaign_id == onboarding, e.status == status).limit(40)
            session.execute(update(e).where(e.id.in_(some)).values({column: reason}))
        session.commit()
        campaign = session.get(DripCampaign, onboarding)
        funnel = analytics.funnel(session, campaign.organization_id, onboarding)
        step_ids = list(
            session.scalars(
                select(DripCampaignStep.id).where(
                    DripCampaignStep.campaign_id == onboarding,
                    DripCampaignStep.deleted_at.is_(None),
                )
            )
        )
        figures = analytics.step_figures(session, onboarding, step_ids)
    rows = {row["stepId"]: row for row in funnel["steps"]}
    assert sum(rows[s]["dropOffReasons"]["marketingCap"] for s in step_ids) > 0
    assert sum(rows[s]["dropOffReasons"]["converted"] for s in step_ids) > 0
    assert sum(rows[s]["dropOffCount"] for s in step_ids) > 0
    assert figures == {
        s: {
            "sent": rows[s]["sentCount"],
            "read": rows[s]["readCount"],
            "replied": rows[s]["repliedCount"],
            "dropped": rows[s]["dropOffCount"],
        }
        for s in step_ids
    }


def test_the_web_entry_point_keeps_the_app_out_of_the_collector(tmp_path):
    """wsgi.py (what gunicorn loads) freezes what importing the app made: a full collection in
    a request walks only what requests made (issue 21). In a process of its own: frozen
    objects are never freed."""
    environ = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "SECRET_KEY": "x"}
    environ.pop("REDIS_URL", None)
    frozen = subprocess.run(
        [sys.executable, "-c", "import gc, wsgi; print(gc.get_freeze_count())"],
        cwd=Path(__file__).resolve().parents[2],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert int(frozen.split()[-1]) > 10_000
