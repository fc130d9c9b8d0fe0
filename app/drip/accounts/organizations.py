"""Organizations: created, renamed, their region and time zone, found by name."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip.errors import Conflict, NotFound, ValidationError
from app.drip.limits import KEYWORD_MAX, OPT_OUT_KEYWORDS_MAX
from app.models import Organization


def create_organization(session: Session, name: str, *, timezone: str = "UTC") -> Organization:
    name = (name or "").strip()
    if not name:
        raise ValidationError("An organization needs a name.", {"name": "Required."})
    if session.scalar(select(Organization.id).where(Organization.name == name)):
        raise Conflict(f"An organization named {name!r} already exists.")
    validate_timezone(timezone, "timezone")
    org = Organization(name=name, timezone=timezone, opt_out_keywords=[])
    session.add(org)
    session.flush()
    return org


def update_organization(
    session: Session,
    org: Organization,
    *,
    default_region: str,
    timezone: str,
    opt_out_keywords: list | None = None,
) -> Organization:
    """Change the region used to read local phone numbers, the organization's time zone and,
    when given, its own opt-out keywords (besides STOP, UNSUBSCRIBE and CANCEL)."""
    region = (default_region or "").strip().upper()
    errors = {}
    if region not in phonenumbers.SUPPORTED_REGIONS:
        errors["default_region"] = "A two-letter country code such as US or GB."
    try:
        validate_timezone(timezone, "timezone")
    except ValidationError as exc:
        errors.update(exc.fields)
    keywords = org.opt_out_keywords
    if opt_out_keywords is not None:
        try:
            keywords = clean_opt_out_keywords(opt_out_keywords)
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError("The organization settings need attention.", errors)
    org.default_region, org.timezone, org.opt_out_keywords = region, timezone, keywords
    session.flush()
    return org


def clean_opt_out_keywords(values) -> list[str]:
    """Trimmed keywords, blanks and repeats (ignoring case) dropped, or ValidationError: each
    is matched against every inbound message, so their number and length are limited."""
    field = "opt_out_keywords"
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise ValidationError("Opt-out keywords are a list of texts.", {field: "A list of texts."})
    if len(values) > OPT_OUT_KEYWORDS_MAX:
        message = f"At most {OPT_OUT_KEYWORDS_MAX} opt-out keywords."
        raise ValidationError(message, {field: message})
    words = {}
    for value in values:
        word = value.strip()
        if len(word) > KEYWORD_MAX:
            message = f"An opt-out keyword has at most {KEYWORD_MAX} characters."
            raise ValidationError(message, {field: message})
        if word:
            words.setdefault(word.casefold(), word)
    return list(words.values())


def organization_by_name(session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        raise NotFound(f"No organization named {name!r}.")
    return org


def validate_timezone(value: str, field: str) -> None:
    if not isinstance(value, str):  # ZoneInfo({}) is a TypeError: a 500 (found by schemathesis)
        raise ValidationError("The time zone must be a text.", {field: "An IANA name."})
    try:
        ZoneInfo(value)
    # OSError: "America" is a directory of the tz database, a long name too long for a path.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(
            f"Unknown time zone {value!r}.", {field: "Use an IANA name such as Europe/Paris."}
        ) from None
