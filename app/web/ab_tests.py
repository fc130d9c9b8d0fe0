"""A/B test pages: the organization's tests, a campaign's tests with the new-test form, a
test's results page (verdict, charts, table, and the editor its status allows), and its
exports (results CSV, server-rendered chart images).

The changes a results page posts (variants, start, pause, winner, allocations, delete) are
app.web.ab_test_actions; both render the results page through render_test_page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from app import reports
from app.auth import current_actor, current_org_id
from app.drip import ab
from app.drip.campaigns import live_steps
from app.drip.errors import DripError, ValidationError
from app.drip.paging import page_count
from app.drip.scope import get_scoped, scoped
from app.extensions import db
from app.models import DripAbTest, DripCampaign, DripCampaignStep, utcnow
from app.reports import (
    AB_CHARTS,
    METRIC_LABELS,
    confidence_label,
    count,
    embed_json,
    metric_label,
    rate,
)
from app.web.ab_forms import NewTestForm, VariantForm, edit_form
from app.web.actions import commit_or_report
from app.web.chart_download import image_response
from app.web.forms import EmptyForm, viewer_zone

bp = Blueprint("ab_tests", __name__)

PER_PAGE = 25
MAX_PAGE = 100_000  # keeps the offset a small integer whatever ?page= says


def helpers() -> dict:
    """What the templates format numbers and times with (times on the viewer's clock, as the
    results' days and dates are)."""
    zone = viewer_zone()

    def local(value) -> str:
        if value is None:
            return "—"
        shown = value.astimezone(zone)
        return f"{shown:%Y-%m-%d %H:%M} {shown.tzname()}"

    def local_day(iso_text: str | None) -> str:
        """An API time (ISO 8601) as the viewer's calendar day: "14 December 2030"."""
        if not iso_text:
            return "—"
        shown = datetime.fromisoformat(iso_text).astimezone(zone)
        return f"{shown.day} {shown:%B %Y}"

    return {
        "count": count,
        "rate": rate,
        "local": local,
        "local_day": local_day,
        "zone": zone.key,
        "metric_label": metric_label,
        "decisions": reports.DECISIONS,
        **reports.FORMATTERS,
    }


def attempt(action, form) -> bool:
    """commit_or_report, keeping the domain's own sentence on the form (form.problem) for
    the summary above its fields."""
    form.problem = None

    def run():
        try:
            return action()
        except DripError as exc:
            form.problem = exc.message
            raise

    return commit_or_report(run, form)


def campaign_of(campaign_id: int) -> DripCampaign:
    return get_scoped(db.session, DripCampaign, current_org_id(), campaign_id)


def load_test(campaign_id: int, test_id: int) -> DripAbTest:
    return ab.get_test(db.session, current_org_id(), campaign_id, test_id)


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def summaries(tests: list[DripAbTest]) -> list[dict]:
    """What a list shows of each test: its report, campaign, step and leader."""
    results = ab.results_for(db.session, tests, utcnow(), zone=viewer_zone())
    org_id = current_org_id()
    campaigns = {
        c.id: c
        for c in db.session.scalars(
            scoped(DripCampaign, org_id).where(DripCampaign.id.in_({t.campaign_id for t in tests}))
        )
    }
    steps = {
        s.id: s
        for s in db.session.scalars(
            scoped(DripCampaignStep, org_id).where(
                DripCampaignStep.id.in_({t.step_id for t in tests})
            )
        )
    }
    rows = []
    for test in tests:
        report = ab.test_dict(results[test.id])
        rows.append(
            {
                "test": test,
                "report": report,
                "campaign": campaigns[test.campaign_id],
                "step": steps.get(test.step_id),
                "leader": reports.leader(report),
            }
        )
    return rows


@bp.get("/ab-tests")
def index():
    page = _page()
    tests, total = ab.list_tests(db.session, current_org_id(), None, page, PER_PAGE)
    campaigns = []
    if not total:
        campaigns = db.session.scalars(
            scoped(DripCampaign, current_org_id())
            .where(DripCampaign.status != "archived")
            .order_by(DripCampaign.name)
            .limit(50)
        ).all()
    return render_template(
        "ab_tests/index.html",
        rows=summaries(tests),
        total=total,
        page=page,
        pages=page_count(total, PER_PAGE),
        campaigns=campaigns,
        **helpers(),
    )


def render_campaign_tests(campaign: DripCampaign, form: NewTestForm | None = None, status=200):
    page = _page()
    tests, total = ab.list_tests(db.session, current_org_id(), campaign.id, page, PER_PAGE)
    steps = live_steps(db.session, campaign.id)
    if form is None:
        form = NewTestForm(formdata=None)
    form.set_steps(steps)
    return render_template(
        "ab_tests/campaign.html",
        campaign=campaign,
        rows=summaries(tests),
        total=total,
        page=page,
        pages=page_count(total, PER_PAGE),
        form=form,
        has_steps=bool(steps),
        **helpers(),
    ), status


@bp.get("/campaigns/<int:campaign_id>/ab-tests")
def campaign_tests(campaign_id: int):
    return render_campaign_tests(campaign_of(campaign_id))


@bp.post("/campaigns/<int:campaign_id>/ab-tests")
def create(campaign_id: int):
    campaign = campaign_of(campaign_id)
    form = NewTestForm()
    form.set_steps(live_steps(db.session, campaign.id))
    created = []

    def create_test():
        fields = form.fields_for_domain()
        created.append(ab.create_test(db.session, current_actor(), campaign, fields))

    if form.validate_on_submit() and attempt(create_test, form):
        flash(
            "Test created as a draft with the step's message as its control. Add a variant, "
            "then start the test.",
            "success",
        )
        return redirect(url_for("ab_tests.show", campaign_id=campaign_id, test_id=created[0].id))
    return render_campaign_tests(campaign_of(campaign_id), form, status=422)


def start_blocker(campaign: DripCampaign, variants) -> str | None:
    """Why the test cannot start now (None: it can, as far as the page can tell)."""
    if campaign.status == "archived":
        return "Archived campaigns are read-only."
    try:
        ab.check_startable(variants)
    except ValidationError as exc:
        return exc.message
    return None


def render_test_page(
    campaign_id: int,
    test_id: int,
    *,
    add_form: VariantForm | None = None,
    edit_forms: dict | None = None,
    allocations: dict | None = None,
    allocation_error: str | None = None,
    status: int = 200,
):
    """The results page; a failed POST passes its form (with errors) and a 422."""
    campaign, now = campaign_of(campaign_id), utcnow()
    report = ab.report(db.session, current_org_id(), campaign_id, test_id, now, viewer_zone())
    test = load_test(campaign_id, test_id)
    variants = ab.variants_of(db.session, test)
    left = ab.HUNDRED - sum((v.traffic_allocation for v in variants), Decimal(0))
    if add_form is None:
        add_form = VariantForm(formdata=None)
        if left > 0:
            add_form.traffic_allocation.data = Decimal(ab.shown_percent(left))
    forms = {v.id: edit_form(v) for v in variants}
    forms.update(edit_forms or {})
    figures = {}
    if test.status != "draft":
        figures = {name: Markup(embed_json(build(report))) for name, build in AB_CHARTS.items()}
    return render_template(
        "ab_tests/show.html",
        campaign=campaign,
        test=test,
        step=db.session.get(DripCampaignStep, test.step_id),
        report=report,
        rows=reports.result_rows(report),
        figures=figures,
        level=confidence_label(report),
        matured_before=now - timedelta(hours=test.outcome_window_hours),
        max_duration_end=(
            test.started_at + timedelta(days=test.max_duration_days)
            if test.started_at and test.max_duration_days
            else None
        ),
        add_form=add_form,
        edit_forms=forms,
        left=ab.shown_percent(left),
        start_blocker=start_blocker(campaign, variants),
        allocations=allocations or {},
        allocation_error=allocation_error,
        action_form=EmptyForm(),
        metrics=METRIC_LABELS,
        **helpers(),
    ), status


@bp.get("/campaigns/<int:campaign_id>/ab-tests/<int:test_id>")
def show(campaign_id: int, test_id: int):
    return render_test_page(campaign_id, test_id)


@bp.get("/campaigns/<int:campaign_id>/ab-tests/<int:test_id>/results.csv")
def results_csv(campaign_id: int, test_id: int):
    report = ab.report(db.session, current_org_id(), campaign_id, test_id, utcnow(), viewer_zone())
    return Response(
        reports.ab_results_to_csv(report),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="ab-test-{test_id}-results.csv"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.get("/campaigns/<int:campaign_id>/ab-tests/<int:test_id>/charts/<chart>.<fmt>")
def chart_image(campaign_id: int, test_id: int, chart: str, fmt: str):
    report = ab.report(db.session, current_org_id(), campaign_id, test_id, utcnow(), viewer_zone())
    if chart not in AB_CHARTS or fmt not in reports.FORMATS:
        abort(404)
    figure = AB_CHARTS[chart](report)
    return image_response(figure, fmt, f"ab-test-{test_id}-{chart}.{fmt}")
