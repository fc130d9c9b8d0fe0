"""A campaign's journey as a graph: where each live step leads (in order, or by its branch),
which steps no journey can reach, and what to say about it before activation.

The editor draws it, the API gives it with the campaign, and activation warns with its
sentences: a step nobody reaches and a branch the campaign's settings keep from being taken
are both mistakes a marketer wants to hear about before contacts are enrolled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.drip import enrollment
from app.drip.campaigns.branches import branch_targets, campaign_problem, title
from app.drip.campaigns.lifecycle import live_steps
from app.drip.errors import Conflict
from app.models import DripCampaign, DripCampaignStep


@dataclass
class Edge:
    from_step_id: int
    to_step_id: int | None  # None: the end of the journey
    via: str  # "next" (in order, or the timeout's default), "timeout", or the event

    def as_json(self) -> dict:
        return {"fromStepId": self.from_step_id, "toStepId": self.to_step_id, "via": self.via}


@dataclass
class Graph:
    steps: list[DripCampaignStep]
    edges: list[Edge] = field(default_factory=list)
    unreachable: list[DripCampaignStep] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "edges": [edge.as_json() for edge in self.edges],
            "unreachableStepIds": [step.id for step in self.unreachable],
            "warnings": list(self.warnings),
        }


# How a sentence names a step: 'Step 3 “Offer”' (title(step, start=False) inside one).
step_title = title


class GraphConfirmationNeeded(Conflict):
    """Activation of a journey with a step no path reaches, or a branch its settings keep from
    being taken: the marketer hears it first and goes ahead only when told to."""

    code = "warnings_need_confirmation"

    def __init__(self, warnings: list[str]):
        super().__init__(
            " ".join(warnings) + " Change the journey, or go ahead anyway.",
            details={"warnings": list(warnings)},
        )
        self.warnings = list(warnings)


def campaign_graph(session: Session, campaign: DripCampaign) -> Graph:
    """The graph of the campaign's live steps as they are now."""
    steps = live_steps(session, campaign.id)
    live = {step.id for step in steps}
    named = {target for step in steps for target in branch_targets(step) if target not in live}
    gone = {}
    for target in named:
        row = session.get(DripCampaignStep, target)
        if row is not None and row.campaign_id == campaign.id:
            gone[target] = row.position
    return build_graph(campaign, steps, gone)


def build_graph(
    campaign: DripCampaign, steps: list[DripCampaignStep], gone: dict[int, int] | None = None
) -> Graph:
    """The graph of `steps` (live, in order). `gone` gives the position of each deleted step a
    branch still names: the processor follows such a target to the first live step after it
    (app.drip.enrollment.CampaignPlans.target), and so does the graph."""
    graph = Graph(steps=list(steps))
    for index, step in enumerate(steps):
        following = steps[index + 1].id if index + 1 < len(steps) else None
        branch = enrollment.Branch.from_json(step.branch)
        if branch is None:
            graph.edges.append(Edge(step.id, following, enrollment.IN_ORDER))
            continue
        for rule in branch.rules:
            graph.edges.append(Edge(step.id, _to(rule.to, following, steps, gone), rule.event))
        timeout_via = (
            enrollment.IN_ORDER if branch.on_timeout == enrollment.NEXT else enrollment.TIMEOUT
        )
        to = _to(branch.on_timeout, following, steps, gone)
        graph.edges.append(Edge(step.id, to, timeout_via))
        for event in branch.events:
            problem = campaign_problem(campaign, event)
            if problem:
                graph.warnings.append(
                    f"The branch of {title(step, start=False)} on “{event}” is never taken. "
                    + problem
                )
    graph.unreachable = _unreachable(steps, graph.edges)
    graph.warnings[:0] = [
        f"{step_title(step)} can never be reached: no step leads to it."
        for step in graph.unreachable
    ]
    return graph


def _to(target, following: int | None, steps: list, gone: dict | None) -> int | None:
    if target == enrollment.END:
        return None
    if target == enrollment.NEXT:
        return following
    if any(step.id == target for step in steps):
        return target
    position = (gone or {}).get(target)
    if position is None:
        return following
    after = [step.id for step in steps if step.position > position]
    return after[0] if after else None


def _unreachable(steps: list[DripCampaignStep], edges: list[Edge]) -> list[DripCampaignStep]:
    if not steps:
        return []
    leads: dict[int, set[int]] = {}
    for edge in edges:
        if edge.to_step_id is not None:
            leads.setdefault(edge.from_step_id, set()).add(edge.to_step_id)
    seen = {steps[0].id}
    todo = [steps[0].id]
    while todo:
        for nxt in leads.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return [step for step in steps if step.id not in seen]
