"""What each claimed enrollment's step sends, decided before anything is leased or logged:

- a template step sends its catalog template, or is held when that template cannot be sent
  (paused, disabled, rejected, pending, deleted at Meta, not in the catalog);
- a text step sends its text inside the contact's 24-hour customer service window (their last
  inbound message); outside it, the step's fallback template (held like a template step when
  that one cannot be sent), and without a fallback the enrollment ends (Meta would refuse the
  text with 131047): no request, no message log.

The catalog rows of a batch are read in one query.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from app.drip.engagement import window_open
from app.drip.templates import is_sendable
from app.models import DripCampaignStep, WhatsAppTemplate

SERVICE = "SERVICE"  # the category of free text inside the window


@dataclass
class Plan:
    """What one enrollment's step sends: its text, or a catalog template (its own or the text
    step's fallback)."""

    kind: str  # text | template
    template: WhatsAppTemplate | None = None
    fallback: bool = False
    # Sent while the contact's 24-hour window is closed: the contact counts against the
    # account's messaging limit (drip_message_logs.outside_window).
    outside: bool = False

    @property
    def category(self) -> str:
        return self.template.category if self.template is not None else SERVICE


@dataclass
class Decisions:
    steps: dict[int, DripCampaignStep] = field(default_factory=dict)
    plans: dict[int, Plan] = field(default_factory=dict)  # enrollment id -> what it sends
    # template id (None: not in the catalog) -> enrollments held on it
    holds: dict[int | None, list[int]] = field(default_factory=lambda: defaultdict(list))
    outside_window: list[int] = field(default_factory=list)  # enrollments to end, no fallback

    @property
    def held(self) -> set[int]:
        return {enrollment_id for ids in self.holds.values() for enrollment_id in ids}


def decide(session: Session, rows, now: datetime) -> Decisions:
    """Decide for rows with id, organization_id, current_step_id and last_inbound_at."""
    decisions = Decisions(steps=_steps(session, {r.current_step_id for r in rows}))
    wanted = set()
    for row in rows:
        step = decisions.steps.get(row.current_step_id)
        if step is not None:
            wanted.add(_template_key(row, step, now))
    catalog = _catalog(session, {key for key in wanted if key is not None})
    for row in rows:
        step = decisions.steps.get(row.current_step_id)
        if step is None:
            continue
        key = _template_key(row, step, now)
        if key is None and step.message_type != "template":
            if window_open(row.last_inbound_at, now):
                decisions.plans[row.id] = Plan("text")
            else:
                decisions.outside_window.append(row.id)
            continue
        template = catalog.get(key) if key is not None else None
        if not is_sendable(template):
            decisions.holds[template.id if template is not None else None].append(row.id)
            continue
        fallback = step.message_type != "template"
        outside = fallback or not window_open(row.last_inbound_at, now)
        decisions.plans[row.id] = Plan("template", template, fallback=fallback, outside=outside)
    return decisions


def _template_key(row, step: DripCampaignStep, now: datetime) -> tuple | None:
    """(organization, name, language) of the template this step would send, if any."""
    if step.message_type == "template":
        if not step.template_name or not step.template_language:
            return None
        return (row.organization_id, step.template_name, step.template_language)
    if window_open(row.last_inbound_at, now) or not step.fallback_template_name:
        return None
    return (row.organization_id, step.fallback_template_name, step.fallback_template_language)


def _steps(session: Session, step_ids: set) -> dict[int, DripCampaignStep]:
    ids = [i for i in step_ids if i is not None]
    if not ids:
        return {}
    return {
        s.id: s
        for s in session.scalars(select(DripCampaignStep).where(DripCampaignStep.id.in_(ids)))
    }


def _catalog(session: Session, keys: set[tuple]) -> dict[tuple, WhatsAppTemplate]:
    if not keys:
        return {}
    rows = session.scalars(
        select(WhatsAppTemplate).where(
            tuple_(
                WhatsAppTemplate.organization_id,
                WhatsAppTemplate.name,
                WhatsAppTemplate.language,
            ).in_(list(keys))
        )
    )
    return {(t.organization_id, t.name, t.language): t for t in rows}
