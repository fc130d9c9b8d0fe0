"""A/B test lifecycle: create (with its control), start, pause, declare a winner, delete.

draft -> running <-> paused -> completed. A test can be created and started while its
campaign is a draft: it assigns when the campaign sends. One running or paused test per step
(the database holds the running one unique; a paused one keeps its contacts' variants, so a
second test on the step would reassign them). Completing a test, automatically or by hand,
stores the decision with a snapshot of the statistics and makes the winner's text the step's
message for every later send. Domain code: no Flask, no commit.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.drip.ab import results as ab_results
from app.drip.ab import shapes as ab_report
from app.drip.ab import variants as ab_variants
from app.drip.campaigns import ensure_editable
from app.drip.errors import Conflict, NotFound, ValidationError
from app.drip.limits import NAME_MAX
from app.drip.scope import get_scoped, scoped
from app.drip.sql import savepoint_on_postgresql
from app.models import DripAbTest, DripAbVariant, DripCampaign, DripCampaignStep
from app.models.ab_tests import WINNING_METRICS

ACTIONS = ("start", "pause", "declare_winner", "reallocate")
DEFAULTS = {
    "winning_metric": "read_rate",
    "confidence_threshold": 0.95,
    "min_sample_size": 100,
    "outcome_window_hours": 72,
    "control_allocation": 50,
}
CONFIDENCE_RANGE = (0.5, 0.999)
MAX_SAMPLE = 10_000_000
MAX_WINDOW_HOURS = 30 * 24
# A window of 0 hours matures no success ever, so the automatic winner could never decide.
MIN_WINDOW_HOURS = 1
MAX_DURATION_DAYS = 366
# Settings that may be given beside the defaults (None: not set).
OPTIONAL = ("planned_sample_size", "max_duration_days")


def get_test(session: Session, organization_id: int, campaign_id: int, test_id: int) -> DripAbTest:
    """The organization's test of this campaign, or NotFound."""
    get_scoped(session, DripCampaign, organization_id, campaign_id)
    test = get_scoped(session, DripAbTest, organization_id, test_id)
    if test.campaign_id != campaign_id:
        raise NotFound(f"A/B test {test_id} not found in this campaign.")
    return test


def list_tests(
    session: Session, organization_id: int, campaign_id: int | None, page: int, per_page: int
) -> tuple[list[DripAbTest], int]:
    """A page of tests, newest first, of one campaign (or of the organization: None)."""
    query = scoped(DripAbTest, organization_id)
    if campaign_id is not None:
        get_scoped(session, DripCampaign, organization_id, campaign_id)
        query = query.where(DripAbTest.campaign_id == campaign_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(
        query.order_by(DripAbTest.created_at.desc(), DripAbTest.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def _step(session: Session, campaign: DripCampaign, step_id) -> DripCampaignStep:
    step = None
    if isinstance(step_id, int) and not isinstance(step_id, bool):
        step = session.scalars(
            scoped(DripCampaignStep, campaign.organization_id).where(
                DripCampaignStep.id == step_id,
                DripCampaignStep.campaign_id == campaign.id,
                DripCampaignStep.deleted_at.is_(None),
            )
        ).first()
    if step is None:
        raise ValidationError(
            "Choose a step of this campaign to test.", {"step_id": "A step of this campaign."}
        )
    _ensure_text_step(step)
    return step


def _ensure_text_step(step: DripCampaignStep) -> None:
    if step.message_type != "text":
        raise ValidationError(
            "A template step cannot be A/B tested: its text is the approved template's. Test "
            "a text step, or test templates as separate campaigns.",
            {"step_id": "A text step (this one sends a template)."},
        )


def _settings(fields: dict) -> dict:
    values = {k: fields[k] if fields.get(k) is not None else v for k, v in DEFAULTS.items()}
    errors = {}
    if values["winning_metric"] not in WINNING_METRICS:
        errors["winning_metric"] = ", ".join(WINNING_METRICS) + "."
    low, high = CONFIDENCE_RANGE
    confidence = values["confidence_threshold"]
    if not isinstance(confidence, int | float) or not low <= confidence <= high:
        errors["confidence_threshold"] = f"A fraction from {low} to {high}, e.g. 0.95."
    if not _whole(values["min_sample_size"], 1, MAX_SAMPLE):
        errors["min_sample_size"] = f"A whole number of sends per variant, 1 to {MAX_SAMPLE:,}."
    if not _whole(values["outcome_window_hours"], MIN_WINDOW_HOURS, MAX_WINDOW_HOURS):
        errors["outcome_window_hours"] = (
            f"Whole hours, {MIN_WINDOW_HOURS} to {MAX_WINDOW_HOURS}: a success must have time"
            " to happen before the automatic winner counts it."
        )
    optional = _optional(fields, errors)
    if errors:
        raise ValidationError("The test settings need attention.", errors)
    values.update(optional)
    values["confidence_threshold"] = float(confidence)
    values["control_allocation"] = ab_variants.allocation(
        values["control_allocation"], "control_allocation"
    )
    return values


def _optional(fields: dict, errors: dict) -> dict:
    """planned_sample_size and max_duration_days when given (None clears them)."""
    values = {k: fields[k] for k in OPTIONAL if k in fields}
    planned = values.get("planned_sample_size")
    if planned is not None and not _whole(planned, 1, MAX_SAMPLE):
        errors["planned_sample_size"] = (
            f"A whole number of sends per variant, 1 to {MAX_SAMPLE:,}, or empty for the default."
        )
    days = values.get("max_duration_days")
    if days is not None and not _whole(days, 1, MAX_DURATION_DAYS):
        errors["max_duration_days"] = (
            f"Whole days, 1 to {MAX_DURATION_DAYS}, or empty for no maximum."
        )
    return values


def _ensure_metric_measurable(campaign: DripCampaign, metric: str) -> None:
    if metric == "conversion_rate" and not campaign.goal_event:
        raise ValidationError(
            "The conversion rate needs a goal: give the campaign a goal event first, or choose"
            " another winning metric.",
            {"winning_metric": "This campaign has no goal, so nothing can convert."},
        )


def update_settings(session: Session, test: DripAbTest, fields: dict) -> dict:
    """Change the planned sample size (a draft only: the boundary is tuned before the data,
    or the tuning could be chosen by the data) and the maximum duration (until the test
    ends); {field: [before, after]} of what changed."""
    errors: dict = {}
    values = _optional(fields, errors)
    if errors:
        raise ValidationError("The test settings need attention.", errors)
    if test.status == "completed":
        raise Conflict("A completed test's settings cannot change.")
    if "planned_sample_size" in values and test.status != "draft":
        if values["planned_sample_size"] != test.planned_sample_size:
            raise ValidationError(
                "The planned sample size is set before the test starts: the always-valid"
                " p-values are tuned for it, and changing it with the data in view would"
                " let the data choose its own test.",
                {"planned_sample_size": "Fixed once the test has started."},
            )
    changes = {}
    for name, value in values.items():
        if getattr(test, name) != value:
            changes[name] = [getattr(test, name), value]
            setattr(test, name, value)
    session.flush()
    return changes


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def create_test(session: Session, campaign: DripCampaign, fields: dict) -> DripAbTest:
    """A draft test of a step with its control variant: the step's message, at
    control_allocation percent (default 50)."""
    ensure_editable(campaign)
    name = fields.get("name").strip() if isinstance(fields.get("name"), str) else ""
    if not name or len(name) > NAME_MAX:
        raise ValidationError("Give the test a name.", {"name": f"1 to {NAME_MAX} characters."})
    step = _step(session, campaign, fields.get("step_id"))
    settings = _settings(fields)
    _ensure_metric_measurable(campaign, settings["winning_metric"])
    test = DripAbTest(
        organization_id=campaign.organization_id,
        campaign_id=campaign.id,
        step_id=step.id,
        name=name,
        status="draft",
        winning_metric=settings["winning_metric"],
        confidence_threshold=settings["confidence_threshold"],
        min_sample_size=settings["min_sample_size"],
        outcome_window_hours=settings["outcome_window_hours"],
        planned_sample_size=settings.get("planned_sample_size"),
        max_duration_days=settings.get("max_duration_days"),
        phase=1,
    )
    session.add(test)
    session.flush()
    session.add(
        DripAbVariant(
            organization_id=campaign.organization_id,
            test_id=test.id,
            name="Control",
            message_content=step.message_content,
            traffic_allocation=settings["control_allocation"],
            is_control=True,
        )
    )
    session.flush()
    return test


def _other_active_test(session: Session, test: DripAbTest) -> DripAbTest | None:
    return session.scalars(
        select(DripAbTest).where(
            DripAbTest.step_id == test.step_id,
            DripAbTest.id != test.id,
            DripAbTest.status.in_(("running", "paused")),
        )
    ).first()


def start(session: Session, test: DripAbTest, now: datetime) -> DripAbTest:
    """Start a draft test, or resume a paused one."""
    ensure_editable(session.get(DripCampaign, test.campaign_id))
    if test.status not in ("draft", "paused"):
        raise Conflict(f"Only a draft or paused test can start; this one is {test.status}.")
    step = session.get(DripCampaignStep, test.step_id)
    if step.deleted_at is not None:
        raise Conflict("The step of this test was deleted.")
    _ensure_text_step(step)
    ab_variants.check_startable(ab_variants.variants_of(session, test))
    other = _other_active_test(session, test)
    if other is not None:
        raise Conflict(_busy_step(other))
    test.status = "running"
    test.started_at = test.started_at or now
    test.phase_started_at = test.phase_started_at or now
    try:
        with savepoint_on_postgresql(session):
            session.flush()
    except IntegrityError:  # another test of the step started meanwhile
        raise Conflict("Another test of this step started meanwhile: one runs at a time.") from None
    return test


def _busy_step(other: DripAbTest) -> str:
    return (
        f'This step already has a {other.status} test ("{other.name}", id {other.id}): one '
        "test runs per step. Declare its winner or delete it first."
    )


def pause(session: Session, test: DripAbTest) -> DripAbTest:
    """Stop assigning: contacts not assigned yet get the step's message, assigned contacts
    keep their variant."""
    if test.status != "running":
        raise Conflict(f"Only a running test can be paused; this one is {test.status}.")
    test.status = "paused"
    session.flush()
    return test


def declare_winner(
    session: Session, test: DripAbTest, variant_id, now: datetime, *, decided_by: str = "manual"
) -> DripAbTest:
    """Complete the test with this variant (any variant of the test) as the winner."""
    if test.status not in ("running", "paused"):
        raise Conflict(
            f"A winner is declared for a running or paused test; this one is {test.status}."
        )
    variant = None
    if isinstance(variant_id, int) and not isinstance(variant_id, bool):
        variant = session.get(DripAbVariant, variant_id)
    if variant is None or variant.test_id != test.id:
        raise ValidationError(
            "The winner must be a variant of this test.",
            {"winner_id": "A variant id of this test."},
        )
    results = ab_results.test_results(session, test, now)
    decision = {"code": "manual", "reason": "declared by hand", "winnerId": variant.id}
    complete(session, results, variant, decided_by, now, decision)
    return test


def complete(
    session: Session,
    results: ab_results.TestResults,
    winner: DripAbVariant | None,
    decided_by: str,
    now: datetime,
    decision: dict,
) -> None:
    """End the test: the decision and its statistics are stored, and a winner's text becomes
    the step's message (without a winner, "no difference found", the step keeps its own)."""
    test = results.test
    snapshot = ab_report.snapshot(results, decision)
    snapshot["autoDecision"] = snapshot["statistics"]["sequential"]["decision"]
    test.status = "completed"
    test.winner_variant_id = None if winner is None else winner.id
    test.decided_by = decided_by
    test.ended_at = now
    test.decision_snapshot = snapshot
    if winner is not None:
        step = session.get(DripCampaignStep, test.step_id)
        step.message_content = winner.message_content
    session.flush()


def delete_test(session: Session, test: DripAbTest) -> None:
    """Delete a test that is not running (its logs keep their messages, without a variant)."""
    ensure_editable(session.get(DripCampaign, test.campaign_id))
    session.refresh(test, with_for_update=True)
    if test.status == "running":
        raise Conflict(
            "A running test cannot be deleted: pause it (or declare a winner) first, so that "
            "no message is being assigned one of its variants."
        )
    test.winner_variant_id = None
    session.flush()
    session.execute(delete(DripAbVariant).where(DripAbVariant.test_id == test.id))
    session.delete(test)
    session.flush()


def apply_action(session: Session, test: DripAbTest, body: dict, now: datetime) -> DripAbTest:
    """PATCH of a test: {action: start | pause | declare_winner (winner_id) | reallocate
    (allocations: {variant id: percent})}, or, without an action, its settings
    (planned_sample_size, max_duration_days: update_settings)."""
    # The auto-winner job may be deciding this test: wait for it, then act on what it left.
    session.refresh(test, with_for_update={"key_share": True})
    action = body.get("action")
    if action is None and any(k in body for k in OPTIONAL):
        update_settings(session, test, body)
        return test
    if action == "start":
        return start(session, test, now)
    if action == "pause":
        return pause(session, test)
    if action == "declare_winner":
        return declare_winner(session, test, body.get("winner_id"), now)
    if action == "reallocate":
        shares: dict[int, Decimal] = body.get("allocations") or {}
        if not shares:
            raise ValidationError(
                "Give the new allocations.", {"allocations": "[{variantId, trafficAllocation}]"}
            )
        ab_variants.reallocate(session, test, shares, now)
        return test
    raise ValidationError("Unknown action.", {"action": ", ".join(ACTIONS) + "."})
