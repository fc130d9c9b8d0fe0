"""What the campaign page's flow shows about each step besides its figures: the delay, the
template's status in the catalog (and the fallback's), the A/B test on it, how many
enrollments wait on it (and on its branch), its branch in words, and whether any journey
reaches it (app.drip.campaigns.graph). A handful of queries for all the steps together,
never one per step.
(The figures come from app.drip.analytics, which sits above this package: the page puts the
two together.)"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, tuple_
from sqlalchemy.orm import Session

from app.drip import enrollment
from app.drip.campaigns.graph import Graph, campaign_graph, step_title
from app.drip.campaigns.step_undo import next_live_step
from app.drip.enrollment import LIVE_STATUSES
from app.drip.templates import NOT_IN_CATALOG, SENDABLE_STATUSES
from app.models import (
    DripAbTest,
    DripCampaign,
    DripCampaignStep,
    DripEnrollment,
    WhatsAppTemplate,
)
from app.models.enrollments import ENROLLMENT_STATUSES

# Tests shown on a step: one that runs, or one being prepared (a paused one still splits
# nobody, but it is the step's test until it completes).
SHOWN_TEST_STATUSES = ("running", "paused", "draft")


@dataclass(frozen=True)
class TemplateState:
    name: str
    language: str
    status: str  # Meta's status (APPROVED, PAUSED, ...) or NOT_IN_CATALOG / "DELETED"
    sendable: bool


@dataclass(frozen=True)
class FlowStep:
    step: DripCampaignStep
    template: TemplateState | None
    fallback: TemplateState | None
    ab_test: DripAbTest | None
    waiting: int  # live enrollments whose next message is this step
    next_step: DripCampaignStep | None  # where they go if this step is deleted
    branch: str | None = None  # its branch in words
    branch_waiting: int = 0  # of `waiting`, those sent it and waiting on its branch
    unreachable: bool = False  # no journey leads to it


@dataclass(frozen=True)
class EnrollmentTally:
    """A campaign's enrollments counted three ways, from one GROUP BY."""

    by_status: dict[str, int]  # every status, 0 for none
    waiting: dict[int, int]  # step id -> live enrollments waiting on it
    on_branch: dict[int, int]  # step id -> those sent it and waiting on its branch


_TALLY = (
    select(
        DripEnrollment.status,
        DripEnrollment.current_step_id,
        DripEnrollment.wait_reason,
        func.count(),
    )
    .where(DripEnrollment.campaign_id == bindparam("campaign_id"))
    .group_by(DripEnrollment.status, DripEnrollment.current_step_id, DripEnrollment.wait_reason)
)


def enrollment_tally(session: Session, campaign_id: int) -> EnrollmentTally:
    """What enrollment_counts, waiting_counts and the branch's waiting count say of one
    campaign, in the one statement the campaign page runs instead of three."""
    by_status = dict.fromkeys(ENROLLMENT_STATUSES, 0)
    waiting: dict[int, int] = {}
    on_branch: dict[int, int] = {}
    for status, step_id, reason, n in session.execute(_TALLY, {"campaign_id": campaign_id}):
        by_status[status] = by_status.get(status, 0) + n
        if status in LIVE_STATUSES and step_id is not None:
            waiting[step_id] = waiting.get(step_id, 0) + n
        if status == "active" and reason == enrollment.WAIT_REASON:
            on_branch[step_id] = on_branch.get(step_id, 0) + n
    return EnrollmentTally(by_status, waiting, on_branch)


def step_templates(
    session: Session, organization_id: int, steps: list[DripCampaignStep]
) -> dict[tuple[str, str], WhatsAppTemplate]:
    """(name, language) -> the catalog row (deleted ones too) of each template or fallback the
    steps name."""
    wanted = {
        pair
        for s in steps
        for pair in (
            (s.template_name, s.template_language),
            (s.fallback_template_name, s.fallback_template_language),
        )
        if pair[0]
    }
    return _templates(session, organization_id, wanted)


def flow_steps(
    session: Session,
    campaign: DripCampaign,
    graph: Graph | None = None,
    *,
    tally: EnrollmentTally,
    catalog: dict[tuple[str, str], WhatsAppTemplate],
) -> list[FlowStep]:
    """The flow's steps, from the enrollment tally and the templates (step_templates) the
    page has read for its other parts too."""
    graph = graph or campaign_graph(session, campaign)
    steps = graph.steps
    tests = _tests(session, campaign.id)
    waiting, on_branch = tally.waiting, tally.on_branch
    unreachable = {step.id for step in graph.unreachable}

    def state(name, language) -> TemplateState | None:
        if not name:
            return None
        row = catalog.get((name, language))
        if row is None:
            return TemplateState(name, language, NOT_IN_CATALOG, False)
        status = "DELETED" if row.deleted_at is not None else row.status
        return TemplateState(name, language, status, status in SENDABLE_STATUSES)

    return [
        FlowStep(
            step=s,
            template=state(s.template_name, s.template_language)
            if s.message_type == "template"
            else None,
            fallback=state(s.fallback_template_name, s.fallback_template_language)
            if s.message_type == "text"
            else None,
            ab_test=tests.get(s.id),
            waiting=waiting.get(s.id, 0),
            next_step=next_live_step(steps, s),
            branch=branch_words(graph, s),
            branch_waiting=on_branch.get(s.id, 0),
            unreachable=s.id in unreachable,
        )
        for s in steps
    ]


def branch_words(graph: Graph, step: DripCampaignStep) -> str | None:
    """'Waits up to 2 days: replied → End the journey · read → Step 3 “Offer” · otherwise →
    Step 2 “Reminder”' (where each way leads as the processor goes: a deleted target is the
    next live step after it)."""
    branch = enrollment.Branch.from_json(step.branch)
    if branch is None:
        return None
    titles = {s.id: step_title(s) for s in graph.steps}
    edges = [edge for edge in graph.edges if edge.from_step_id == step.id]
    labels = [*branch.events, "otherwise"]
    ways = [
        f"{label} → {titles.get(edge.to_step_id, 'End the journey')}"
        for label, edge in zip(labels, edges, strict=False)
    ]
    unit = branch.wait_unit if branch.wait_amount != 1 else branch.wait_unit[:-1]
    return f"Waits up to {branch.wait_amount:,} {unit}: " + " · ".join(ways)


# Built once with bind parameters: building a statement and its cache key costs more CPU
# than running it, on a page read at every view (issue 21).
_TEMPLATES = select(WhatsAppTemplate).where(
    WhatsAppTemplate.organization_id == bindparam("organization_id"),
    tuple_(WhatsAppTemplate.name, WhatsAppTemplate.language).in_(
        bindparam("pairs", expanding=True)
    ),
)
_TESTS = (
    select(DripAbTest)
    .where(
        DripAbTest.campaign_id == bindparam("campaign_id"),
        DripAbTest.status.in_(SHOWN_TEST_STATUSES),
    )
    .order_by(DripAbTest.id.desc())
)


def _templates(session: Session, organization_id: int, wanted: set) -> dict:
    if not wanted:
        return {}
    rows = session.scalars(
        _TEMPLATES, {"organization_id": organization_id, "pairs": sorted(wanted)}
    )
    return {(r.name, r.language): r for r in rows}


def _tests(session: Session, campaign_id: int) -> dict[int, DripAbTest]:
    """step id -> its shown test: a running one first, else the newest paused or draft."""
    rows = session.scalars(_TESTS, {"campaign_id": campaign_id})
    shown: dict[int, DripAbTest] = {}
    for test in rows:
        current = shown.get(test.step_id)
        if current is None or (test.status == "running" and current.status != "running"):
            shown[test.step_id] = test
    return shown
