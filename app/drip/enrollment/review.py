"""The pre-launch review: before enrolling a tag, a search or chosen contacts, how many would
be enrolled, how many skipped and why, and when the first step would reach them, per time zone.

It selects with enroll()'s own target (enrolling._targets) and decides each contact's fate
with enroll()'s own columns (enrolling.fate_columns), counted in SQL instead of inserted, and
times the first step with the Scheduler that sets next_send_at: the review's numbers are what
Enroll then does (tests/integration/test_audience_review.py holds them equal).
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from app.drip.enrollment.enrolling import (
    _targets,  # the same validation and selection as enroll()
    enrollable_first_step,
    fate_columns,
)
from app.drip.enrollment.holdout import in_holdout
from app.drip.enrollment.schedule import SendWindow
from app.drip.enrollment.timing import Scheduler
from app.drip.limits import ENROLL_IDS_MAX
from app.drip.zones import resolve_zone
from app.models import Contact, DripCampaign, DripCampaignStep, Tag

# Zones listed one by one; the rest are summed as "other zones".
ZONES_SHOWN = 8
# Tag names compared with a typo'd one (an organization has tens of tags, rarely thousands).
TAGS_COMPARED = 5_000
SUGGESTIONS = 3
HASHED_PER_READ = 10_000
# enroll()'s skip reasons in words (the review's and the API's skippedText).
SKIP_REASON_TEXT = {
    "not_found": "not one of your contacts",
    "opted_out": "opted out",
    "already_active": "already active in this campaign",
    "already_paused": "paused in this campaign",
    "already_completed": "completed this campaign (re-enrollment is off)",
}


@dataclass(frozen=True)
class ZoneRow:
    """Contacts who would be enrolled, on one clock (None: the other zones, summed)."""

    timezone: str | None
    contacts: int
    first_send_at: datetime  # UTC; for the other zones, the earliest of them
    last_send_at: datetime  # the same, but for the other zones the latest
    zones: int = 1  # how many zones the row sums


@dataclass
class AudienceReview:
    matching: int  # the organization's contacts the target selects
    would_enroll: int
    skipped: dict[str, int]  # reason (enrolling.SKIP_REASONS) -> contacts
    by_timezone: list[ZoneRow]
    step: DripCampaignStep
    window: SendWindow
    organization_zone: str
    tag: str | None = None  # the tag asked for (the target's or the search's), stripped
    tag_exists: bool | None = None  # None: no tag was asked for
    suggestions: list[str] = field(default_factory=list)
    q: str | None = None  # the search text, when the target is a search
    sample_contact_id: int | None = None  # the first contact who would be enrolled
    # Of would_enroll, those the campaign's holdout would take (recorded, never messaged):
    # the sticky hash decides, so this is the count Enroll then reports as held out.
    would_hold_out: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def message(self) -> str | None:
        """What a person should know first, in words (None when all is as expected)."""
        if self.matching == 0:
            if self.tag and (self.tag_exists is False or not self.q):
                text = f"No contact has the tag “{self.tag}”."
                if self.suggestions:
                    names = " or ".join(f"“{s}”" for s in self.suggestions)
                    text += f" Did you mean {names}?"
                return text
            if self.q:
                return "No contact matches this search."
            return "None of these ids is one of your contacts."
        if self.would_enroll == 0:
            return "Everyone selected would be skipped: nobody would be enrolled."
        return None


def review_audience(
    session: Session,
    campaign: DripCampaign,
    *,
    contact_ids=None,
    tag: str | None = None,
    search: dict | None = None,
    now: datetime | None = None,
    zones_shown: int = ZONES_SHOWN,
) -> AudienceReview:
    """What enroll() with the same target would do now, without enrolling anyone. Refuses
    (ValidationError) what enroll() refuses: a bad target, an archived campaign, no steps."""
    org_id = campaign.organization_id
    targets = _targets(org_id, contact_ids, tag, search, ENROLL_IDS_MAX)
    step = enrollable_first_step(session, campaign)
    scheduler = Scheduler(session, campaign, now)
    org_zone = resolve_zone(scheduler.org_zone).key
    skipped: Counter = Counter()
    zones: Counter = Counter()
    matching, sample, held = 0, None, 0
    for target, wanted in targets:
        found = 0
        for reason, zone, count in session.execute(_counts(campaign, target)):
            found += count
            if reason is None:
                # Contacts without a known zone are on the organization's clock.
                zones[resolve_zone(zone, org_zone).key] += count
            else:
                skipped[reason] += count
        if wanted is not None and len(wanted) > found:
            skipped["not_found"] += len(wanted) - found
        matching += found
        if sample is None and zones:
            sample = session.scalar(_first_eligible(campaign, target))
        held += _held_out(session, campaign, target)
    asked_tag = (tag if tag is not None else (search or {}).get("tag")) or ""
    review = AudienceReview(
        matching=matching,
        would_enroll=sum(zones.values()),
        skipped=dict(sorted(skipped.items())),
        by_timezone=_zone_rows(zones, scheduler, step, zones_shown),
        step=step,
        window=scheduler.window,
        organization_zone=org_zone,
        sample_contact_id=sample,
        # Without a salt yet (it is drawn at the first Enroll), the share is what is expected.
        would_hold_out=held
        if campaign.holdout_salt
        else round(sum(zones.values()) * (campaign.holdout_percent or 0) / 100),
        q=((search or {}).get("q") or "").strip() or None,
    )
    if asked_tag.strip():
        review.tag = asked_tag.strip()
        review.tag_exists, review.suggestions = _tag_check(session, org_id, review.tag)
    return review


def _reason(campaign: DripCampaign):
    """enrolling._skip_reason as SQL: the first reason that applies, NULL for enrolled."""
    live, completed = fate_columns(campaign)
    return case(
        (Contact.opted_out_at.is_not(None), "opted_out"),
        (live == "active", "already_active"),
        (live == "paused", "already_paused"),
        (completed, "already_completed"),
    )


def _counts(campaign: DripCampaign, target: Select) -> Select:
    """(reason, contact time zone, contacts) of the target, grouped in the database."""
    rows = target.with_only_columns(
        _reason(campaign).label("reason"), Contact.timezone.label("timezone")
    ).subquery()
    return select(rows.c.reason, rows.c.timezone, func.count()).group_by(
        rows.c.reason, rows.c.timezone
    )


def _held_out(session: Session, campaign: DripCampaign, target: Select) -> int:
    """How many eligible contacts of the target the holdout's hash takes. The hash is
    computed here, not in SQL: only the ids are read, streamed."""
    percent, salt = campaign.holdout_percent or 0, campaign.holdout_salt
    if percent <= 0 or not salt:
        return 0
    ids = session.execute(
        target.where(_reason(campaign).is_(None)).execution_options(yield_per=HASHED_PER_READ)
    ).scalars()
    return sum(1 for contact_id in ids if in_holdout(salt, contact_id, percent))


def _first_eligible(campaign: DripCampaign, target: Select) -> Select:
    return target.where(_reason(campaign).is_(None)).order_by(Contact.id).limit(1)


def _zone_rows(
    zones: Counter, scheduler: Scheduler, step: DripCampaignStep, shown: int
) -> list[ZoneRow]:
    """The largest zones one by one, the rest summed; each with the first step's send time as
    the Scheduler sets next_send_at for a contact of that zone enrolled now."""

    def due(zone: str) -> datetime:
        return scheduler.due(scheduler.now, step.delay_amount, step.delay_unit, zone)

    ranked = sorted(zones.items(), key=lambda item: (-item[1], item[0]))
    rows = [ZoneRow(zone, n, due(zone), due(zone)) for zone, n in ranked[:shown]]
    rest = ranked[shown:]
    if rest:
        times = [due(zone) for zone, _n in rest]
        rows.append(ZoneRow(None, sum(n for _z, n in rest), min(times), max(times), len(rest)))
    return rows


def _tag_check(session: Session, organization_id: int, name: str) -> tuple[bool, list[str]]:
    """Whether the organization has this tag, and if not its closest tags (a typo's cure)."""
    tags = select(Tag.name).where(Tag.organization_id == organization_id)
    if session.scalar(tags.where(Tag.name == name).limit(1)) is not None:
        return True, []
    names = list(session.scalars(tags.order_by(Tag.name).limit(TAGS_COMPARED)))
    folded = {n.casefold(): n for n in names}
    close = difflib.get_close_matches(name.casefold(), list(folded), n=SUGGESTIONS, cutoff=0.6)
    return False, [folded[c] for c in close]
