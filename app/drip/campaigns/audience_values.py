"""What the contacts' own values do to a message: how many lack a variable the message uses
(they get its fallback, or nothing), and how long the message comes out with the longest
value of each variable among them, against WhatsApp's limit. Counted in SQL in one query.

Who "the contacts" are: the campaign's waiting enrollments (active or paused) when it has
any, since they are who the step will reach; otherwise every contact of the organization
who has not opted out, since that is who may be enrolled. `scope` says which.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session

from app.drip.campaigns.templating import (
    ATTRIBUTE_PREFIX,
    MAX_TEXT_LENGTH,
    VARIABLE,
    is_known_variable,
)
from app.drip.enrollment import LIVE_STATUSES
from app.models import Contact, DripCampaign, DripEnrollment

SCOPE_ENROLLED = "enrolled"
SCOPE_ALL = "all"
# A message names a handful of variables; past this many distinct ones the rest go unreported
# (one query with two aggregates per variable).
VARIABLES_MAX = 20


@dataclass(frozen=True)
class Missing:
    variable: str
    missing: int
    total: int
    fallback: str | None  # what they get instead ("" or None: nothing)


@dataclass(frozen=True)
class AudienceValues:
    scope: str
    total: int
    missing: list[Missing]
    longest: int  # the text's length with the longest value of each variable
    limit: int = MAX_TEXT_LENGTH


def variables_in(texts: list[str]) -> dict[str, str | None]:
    """Known variable name -> its fallback (the first one given), over the texts."""
    found: dict[str, str | None] = {}
    for text in texts:
        for match in VARIABLE.finditer(text or ""):
            name = match.group(1)
            if is_known_variable(name):
                fallback = (match.group(2) or "").strip() or None
                if found.get(name) is None:
                    found[name] = fallback
    return dict(list(found.items())[:VARIABLES_MAX])


def _value(name: str):
    if name.startswith(ATTRIBUTE_PREFIX):
        return Contact.attributes[name[len(ATTRIBUTE_PREFIX) :]].as_string()
    return getattr(Contact, name)


def audience_values(
    session: Session, campaign: DripCampaign, text: str | None, others: list[str] = ()
) -> AudienceValues:
    """`text` is the message whose length is checked; `others` (template parameters, ...)
    only count towards the missing variables."""
    variables = variables_in([text or "", *others])
    enrolled = (
        select(DripEnrollment.contact_id)
        .where(
            DripEnrollment.campaign_id == campaign.id,
            DripEnrollment.status.in_(LIVE_STATUSES),
        )
        .scalar_subquery()
    )
    has_enrolled = session.scalar(
        select(func.count())
        .select_from(DripEnrollment)
        .where(DripEnrollment.campaign_id == campaign.id, DripEnrollment.status.in_(LIVE_STATUSES))
    )
    scope = SCOPE_ENROLLED if has_enrolled else SCOPE_ALL
    columns = [func.count().label("total")]
    for index, name in enumerate(variables):
        value = _value(name)
        empty = or_(value.is_(None), value == literal(""))
        columns.append(func.sum(case((empty, 1), else_=0)).label(f"m{index}"))
        columns.append(func.max(func.length(value)).label(f"l{index}"))
    query = select(*columns).where(Contact.organization_id == campaign.organization_id)
    if scope == SCOPE_ENROLLED:
        query = query.where(Contact.id.in_(enrolled))
    else:
        query = query.where(Contact.opted_out_at.is_(None))
    row = session.execute(query).one()
    total = int(row.total or 0)
    missing, longest_of = [], {}
    for index, (name, fallback) in enumerate(variables.items()):
        count = int(getattr(row, f"m{index}") or 0)
        longest_of[name] = int(getattr(row, f"l{index}") or 0)
        if count:
            missing.append(Missing(name, count, total, fallback))
    return AudienceValues(scope, total, missing, longest_length(text or "", longest_of))


def longest_length(text: str, longest_of: dict[str, int]) -> int:
    """The text's length with each variable replaced by the longer of its longest value and
    its fallback."""
    length = len(text)
    for match in VARIABLE.finditer(text):
        name, fallback = match.group(1), (match.group(2) or "").strip()
        length += max(longest_of.get(name, 0), len(fallback)) - len(match.group(0))
    return length
