"""Before sending: what a campaign will send, to whom, inside or outside their 24-hour window,
what Meta will bill and what it will cost, and how long the first step needs under the
account's messaging limit.

The audience is the campaign's live enrollments, or an enrollment not made yet (a tag, or
contact ids: the contacts enroll() would add, the opted out and those already in the campaign
left out). An upper bound: everyone is assumed to reach every step (nobody replies, opts out
or converts on the way, and a step held on its template is counted as sent once released);
only a stop the window forces (free text outside it, no fallback template) ends a contact's
way, as the processor would. Send times are estimated as the window
report does (app.drip.campaigns.window_report): the next send, or now plus the first step's
delay for a new enrollment, and each later step's delay added (the send window not counted).

Per message: the category (the template's, from the catalog; free text inside the window is
SERVICE; outside it the text step's fallback template's), billable by Meta's rule (MARKETING
and AUTHENTICATION always, UTILITY outside the window only, SERVICE never), and the price of
the contact's market on the estimated send date from the organization's rate card.

daysForFirstStep: the days the first message to everyone needs under the messaging limit (unique
people reached outside their window per moving 24 hours): ceil(outside / limit), at least 1
when anything is sent, 0 when nothing is; None when the account has no limit (unlimited or not
known: the limit sets no bound). The people the account reached in the last 24 hours for other
campaigns are not subtracted.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip import templates
from app.drip.campaigns.forecast_audience import (
    live_cohorts,
    new_enrollment_cohorts,
    new_enrollment_target,
)
from app.drip.campaigns.lifecycle import live_steps
from app.drip.errors import ValidationError
from app.drip.limits import ENROLL_IDS_MAX, TAG_MAX
from app.drip.pricing import market_for_phone, rate_card
from app.models import DripCampaign, DripCampaignStep, WhatsAppAccount, utcnow

SERVICE = "SERVICE"
MAX_ID = 2**63 - 1


def billable(category: str | None, inside_window: bool) -> bool:
    """Meta's rule for a delivered message: service free, utility free inside the window,
    marketing and authentication always billed (an unknown category counted as billed)."""
    if category == SERVICE:
        return False
    if category == "UTILITY":
        return not inside_window
    return True


@dataclass
class StepForecast:
    step_id: int
    position: int
    name: str | None
    message_type: str
    category: str | None  # the template's; SERVICE for a text step (its fallback: below)
    has_fallback: bool = False  # a text step's fallback template (its category may be unknown)
    fallback_category: str | None = None
    messages: int = 0  # sent: inside the window, plus outside it as a template
    inside_window: int = 0
    outside_window: int = 0  # sent outside the window (they count against the limit)
    stopped: int = 0  # free text outside the window without a fallback: not sent
    billable: int = 0
    cost: Decimal = Decimal(0)
    unpriced: int = 0  # billable messages the rate card has no price for
    categories: Counter = field(default_factory=Counter)  # messages per category


@dataclass
class Forecast:
    audience: int
    steps: list[StepForecast]
    currency: str | None
    rate_card_date: date | None
    rate_card_source: str
    rate_card_sample: bool
    messaging_limit: int | None
    first_step_outside: int  # contacts whose first message goes outside their window
    first_step_messages: int
    new_enrollment: bool

    @property
    def total_cost(self) -> Decimal:
        return sum((s.cost for s in self.steps), Decimal(0))

    @property
    def billable(self) -> int:
        return sum(s.billable for s in self.steps)

    @property
    def messages(self) -> int:
        return sum(s.messages for s in self.steps)

    @property
    def days_for_first_step(self) -> int | None:
        if self.messaging_limit is None:
            return None
        if not self.first_step_messages:
            return 0
        return max(1, math.ceil(self.first_step_outside / self.messaging_limit))


def forecast(
    session: Session,
    campaign: DripCampaign,
    *,
    tag: str | None = None,
    contact_ids: list | None = None,
    search: dict | None = None,
    now: datetime | None = None,
) -> Forecast:
    """The forecast of the live enrollments, or of enrolling a tag, contact ids or everyone
    matching a search ({q, tag}, as the enroll form has it) now."""
    now = now or utcnow()
    if sum(v is not None for v in (tag, contact_ids, search)) > 1:
        raise ValidationError(
            "Forecast a tag or contact ids, not both.",
            {"contactIds": "Give a tag or contact ids, not both."},
        )
    tag, contact_ids = _clean_target(tag, contact_ids)
    search = _clean_search(search)
    steps = live_steps(session, campaign.id)
    card = rate_card(session, campaign.organization_id)
    new = tag is not None or contact_ids is not None or search is not None
    if new:
        target = new_enrollment_target(campaign, tag=tag, contact_ids=contact_ids, search=search)
        start = now + (_delay(steps[0]) if steps else timedelta(0))
        cohorts = new_enrollment_cohorts(session, target, start, steps, market_for_phone)
    else:
        cohorts = live_cohorts(session, campaign, now, steps, market_for_phone)
    result = Forecast(
        audience=sum(cohorts.values()),
        steps=[_step_row(session, campaign.organization_id, s) for s in steps],
        currency=None,
        rate_card_date=_card_date(card, now.date()),
        rate_card_source=card.source,
        rate_card_sample=card.sample,
        messaging_limit=session.scalar(
            select(WhatsAppAccount.messaging_limit).where(
                WhatsAppAccount.organization_id == campaign.organization_id
            )
        ),
        first_step_outside=0,
        first_step_messages=0,
        new_enrollment=new,
    )
    _walk(result, cohorts, card)
    return result


def _walk(result: Forecast, cohorts: Counter, card) -> None:
    """Each cohort step by step: what it is sent, inside or outside, billed, priced."""
    prices: dict[tuple, object] = {}
    currencies: Counter = Counter()
    for cohort, n in cohorts.items():
        for i in range(cohort.first, len(result.steps)):
            row = result.steps[i]
            inside = i < cohort.inside
            sent, category = _sends(row, inside)
            if not sent:
                row.stopped += n
                break
            row.messages += n
            row.categories[category or "unknown"] += n
            if inside:
                row.inside_window += n
            else:
                row.outside_window += n
            if i == cohort.first:
                result.first_step_messages += n
                result.first_step_outside += 0 if inside else n
            if not billable(category, inside):
                continue
            row.billable += n
            key = (cohort.market, category, cohort.dates[i - cohort.first])
            if key not in prices:
                prices[key] = card.price(*key)
            if prices[key] is None:
                row.unpriced += n
                continue
            row.cost += prices[key].amount * n
            currencies[prices[key].currency] += n
    if currencies:
        result.currency = currencies.most_common(1)[0][0]
    elif card.currencies:
        result.currency = card.currencies[0]


def _sends(row: StepForecast, inside: bool) -> tuple[bool, str | None]:
    """Whether the step sends to a contact inside (or outside) the window, and the category:
    as app.drip.sending.plan decides (free text outside: the fallback template, or a stop)."""
    if row.message_type == "template":
        return True, row.category
    if inside:
        return True, SERVICE
    return row.has_fallback, row.fallback_category


def _step_row(session: Session, organization_id: int, step: DripCampaignStep) -> StepForecast:
    if step.message_type == "template":
        category = _category(session, organization_id, step.template_name, step.template_language)
        return StepForecast(step.id, step.position, step.name, step.message_type, category)
    row = StepForecast(step.id, step.position, step.name, step.message_type, SERVICE)
    if step.fallback_template_name:
        row.fallback_category = _category(
            session,
            organization_id,
            step.fallback_template_name,
            step.fallback_template_language,
        )
        row.has_fallback = True
    return row


def _category(session: Session, organization_id: int, name, language) -> str | None:
    if not name or not language:
        return None
    template = templates.find_template(session, organization_id, name, language)
    return template.category if template is not None else None


def _delay(step: DripCampaignStep) -> timedelta:
    return timedelta(**{step.delay_unit: step.delay_amount})


def _card_date(card, today: date) -> date | None:
    """The date the rates in force today took effect (the card's newest date if all are
    later)."""
    dates = [row.effective_from for row in card.rows if row.effective_from <= today]
    return max(dates, default=card.effective_date)


def _clean_search(search) -> dict | None:
    if search is None:
        return None
    q, tag = (search.get("q"), search.get("tag")) if isinstance(search, dict) else (1, 1)
    if any(v is not None and not isinstance(v, str) for v in (q, tag)):
        raise ValidationError("The search must be {q, tag}.", {"search": "q and tag are strings."})
    q, tag = (q or "").strip() or None, (tag or "").strip() or None
    if q is None and tag is None:
        raise ValidationError(
            "Give a search text or a tag.", {"search": "Give a search text or a tag."}
        )
    return {"q": q, "tag": tag}


def _clean_target(tag, contact_ids) -> tuple[str | None, list[int] | None]:
    if tag is not None:
        # Counted as sent, as the OpenAPI document's maxLength counts.
        too_long = not isinstance(tag, str) or len(tag) > TAG_MAX
        tag = tag.strip() if isinstance(tag, str) else ""
        if not tag or too_long:
            raise ValidationError(
                "Give a tag name.", {"tag": f"A tag name, at most {TAG_MAX} characters."}
            )
        return tag, None
    if contact_ids is None:
        return None, None
    ids = list(contact_ids)
    if (
        not ids
        or len(ids) > ENROLL_IDS_MAX
        or any(isinstance(i, bool) or not isinstance(i, int) or abs(i) > MAX_ID for i in ids)
    ):
        raise ValidationError(
            f"contactIds must be a list of 1 to {ENROLL_IDS_MAX:,} contact ids.",
            {"contactIds": f"1 to {ENROLL_IDS_MAX:,} whole numbers (64-bit)."},
        )
    return None, list(dict.fromkeys(ids))
