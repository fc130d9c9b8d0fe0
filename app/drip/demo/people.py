"""The demo's people: names, fictional-but-valid phone numbers and their time zones, and the
contact rows of the demo's history, written in bulk.

Phone numbers come from ranges set aside for fiction, which `phonenumbers` accepts: in North
America +1 NXX 555 0100-0199 (one hundred per area code), in the UK Ofcom's drama ranges
(020 7946 0xxx, 0113 496 0xxx, 0121 496 0xxx, 0161 496 0xxx). Area code 202 is left to the
live demo campaign's contacts (app.drip.demo), so the two never collide.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip.contacts import ensure_tags
from app.drip.demo.bulk import insert_rows
from app.models import Contact, ContactTag

FIRST_NAMES = (
    "Ana", "Ben", "Chloé", "Dev", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor",
    "Wen", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Carmen", "Daniel", "Elif", "Felix",
    "Hannah", "Isaac", "Julia", "Kofi", "Lucia", "Mateo", "Nadia", "Oscar", "Sofia", "Theo",
)  # fmt: skip
LAST_NAMES = (
    "Souza", "Okafor", "Martin", "Patel", "Schmidt", "Haddad", "Kim", "Tanaka", "García",
    "Berg", "Nguyen", "Johnson", "Williams", "Brown", "Taylor", "Evans", "Walker", "Khan",
    "Rossi", "Müller", "Cohen", "Silva", "Ali", "Murphy", "Davies", "Lopez", "Chen", None,
)  # fmt: skip
PLANS = (("free", 70), ("pro", 24), ("team", 6))
SOURCES = (("website", 48), ("instagram", 27), ("referral", 15), ("store", 10))
# Fictional North American numbers: area code -> the zone of its city.
US_AREA_CODES = {
    **dict.fromkeys((212, 646, 718, 917, 617, 305, 404, 215, 313, 704), "America/New_York"),
    **dict.fromkeys((312, 773, 214, 713, 512, 612, 615, 314), "America/Chicago"),
    **dict.fromkeys((303, 720, 801, 505), "America/Denver"),
    **dict.fromkeys((602, 480), "America/Phoenix"),
    **dict.fromkeys((213, 310, 415, 510, 206, 503, 702, 619), "America/Los_Angeles"),
}
# Ofcom's drama ranges: the E.164 prefix of 1,000 numbers each.
UK_PREFIXES = ("+4420794600", "+4411349600", "+4412149600", "+4416149600")
UNKNOWN_ZONE_SHARE = 0.08  # contacts whose time zone nobody knows
HISTORY_TAG = "new-signup"
EXTRA_TAGS = (("newsletter", 0.3), ("vip", 0.03))


@dataclass(frozen=True)
class Person:
    phone: str
    zone: str  # where they live, for when they sign up and when they read
    known_zone: str | None  # what the contact row says (sometimes unknown)
    first_name: str
    last_name: str | None
    plan: str
    source: str


def phone_pool() -> list[tuple[str, str]]:
    """Every fictional number the history may use, with its zone, in a fixed order."""
    pool = [
        (f"+1{code}5550{n:03d}", zone)
        for code, zone in US_AREA_CODES.items()
        for n in range(100, 200)
    ]
    pool += [
        (f"{prefix[:-2]}{n:04d}", "Europe/London") for prefix in UK_PREFIXES for n in range(1000)
    ]
    return pool


def _weighted(rng: random.Random, choices) -> str:
    names, weights = zip(*choices, strict=True)
    return rng.choices(names, weights=weights)[0]


def taken_phones(session: Session, organization_id: int) -> set[str]:
    """The organization's numbers already in use (the demo never takes them again)."""
    return set(
        session.scalars(select(Contact.phone).where(Contact.organization_id == organization_id))
    )


def people(rng: random.Random, count: int, taken: set[str]) -> list[Person]:
    """`count` different people with numbers from the pool that are not taken."""
    pool = [(phone, zone) for phone, zone in phone_pool() if phone not in taken]
    if count > len(pool):
        raise ValueError(f"the demo has {len(pool)} fictional numbers left, not {count}")
    chosen = rng.sample(pool, count)
    return [
        Person(
            phone=phone,
            zone=zone,
            known_zone=None if rng.random() < UNKNOWN_ZONE_SHARE else zone,
            first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES),
            plan=_weighted(rng, PLANS),
            source=_weighted(rng, SOURCES),
        )
        for phone, zone in chosen
    ]


def history_tags(rng: random.Random, count: int) -> list[tuple[str, ...]]:
    """Everyone has the sign-up tag (the campaign's trigger); some have more."""
    return [
        (HISTORY_TAG, *(name for name, share in EXTRA_TAGS if rng.random() < share))
        for _ in range(count)
    ]


def insert_contacts(
    session: Session,
    organization_id: int,
    persons: Sequence[Person],
    joined: Sequence[datetime],
    tags: Sequence[Sequence[str]],
    rng: random.Random,
) -> list[int]:
    """The contacts, created shortly before each one's sign-up time (`joined`) and tagged
    then; their ids in the same order."""
    rows = []
    for person, at in zip(persons, joined, strict=True):
        created = at - timedelta(seconds=rng.uniform(5, 90))
        rows.append(
            {
                "organization_id": organization_id,
                "phone": person.phone,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "timezone": person.known_zone,
                "attributes": {"plan": person.plan, "source": person.source},
                "created_at": created,
                "updated_at": created,
                # They joined by writing to the shop on WhatsApp: their window opens then.
                "last_inbound_at": at,
            }
        )
    insert_rows(session, Contact, rows)
    found = dict(
        session.execute(
            select(Contact.phone, Contact.id).where(Contact.organization_id == organization_id)
        ).all()
    )
    ids = [found[person.phone] for person in persons]
    _tag(session, organization_id, ids, joined, tags)
    return ids


def _tag(session: Session, organization_id: int, ids, joined, tags) -> None:
    tag_ids = ensure_tags(session, organization_id, sorted({n for names in tags for n in names}))
    rows = [
        {
            "contact_id": contact_id,
            "tag_id": tag_ids[name],
            "organization_id": organization_id,
            "created_at": at,
        }
        for contact_id, at, names in zip(ids, joined, tags, strict=True)
        for name in names
    ]
    insert_rows(session, ContactTag, rows)
