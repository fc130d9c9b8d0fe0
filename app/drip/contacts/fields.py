"""Checks on a contact's fields, shared by the forms, the API and the CSV import. No database.

Each checker returns the clean value or raises FieldError(message); `collect` turns the
FieldErrors of several fields into one ValidationError naming each field.
"""

from __future__ import annotations

import re
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.drip.errors import ValidationError
from app.drip.limits import (
    ATTRIBUTE_KEY_MAX,
    ATTRIBUTE_VALUE_MAX,
    ATTRIBUTES_MAX,
    CONTACT_NAME_MAX,
    TAG_MAX,
    TAGS_PER_CONTACT_MAX,
)

NAME_MAX = CONTACT_NAME_MAX
TIMEZONE_MAX = 64
_SPACES = re.compile(r"\s+")


class FieldError(ValueError):
    """One field's problem; str() is the message shown next to the field."""


def text_or_none(value, max_length: int) -> str | None:
    """A trimmed string, or None for null / empty."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError("Must be text.")
    value = value.strip()
    if len(value) > max_length:
        raise FieldError(f"At most {max_length} characters.")
    return value or None


def name(value) -> str | None:
    return text_or_none(value, NAME_MAX)


def timezone(value) -> str | None:
    value = text_or_none(value, TIMEZONE_MAX)
    if value is not None and not is_timezone(value):
        raise FieldError(f"Unknown time zone {value!r}: use an IANA name such as Europe/Paris.")
    return value


@lru_cache(maxsize=1024)
def is_timezone(value: str) -> bool:
    try:
        ZoneInfo(value)
    # OSError: ZoneInfo reads the name as a path; "America" is a directory (IsADirectoryError)
    # and a very long name is too long for the file system. Not a zone, not a 500.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


# Meta's business-scoped user id (BSUID): an ISO 3166 country code, a dot, up to 128
# alphanumerics ("US.13491208655302741918"); a parent BSUID has ENT between them
# ("US.ENT.11815799212886844830"). The column holds 160 characters.
WHATSAPP_USER_ID_MAX = 160
WHATSAPP_USER_ID_PATTERN = r"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$"
_WHATSAPP_USER_ID = re.compile(WHATSAPP_USER_ID_PATTERN)


def whatsapp_user_id(value) -> str | None:
    """A BSUID as Meta writes it, or None for null / empty."""
    value = text_or_none(value, WHATSAPP_USER_ID_MAX)
    if value is not None and not _WHATSAPP_USER_ID.fullmatch(value):
        raise FieldError(
            "A WhatsApp user id is a country code, a dot and letters or digits, "
            "such as US.13491208655302741918."
        )
    return value


def tag_name(value) -> str:
    if not isinstance(value, str):
        raise FieldError("Each tag must be text.")
    clean = _SPACES.sub(" ", value).strip()
    if not clean:
        raise FieldError("A tag cannot be empty.")
    if len(clean) > TAG_MAX:
        raise FieldError(f"Tag {clean[:20]!r}… is longer than {TAG_MAX} characters.")
    return clean


def tag_names(values) -> list[str]:
    """Clean tag names, duplicates removed, in their first order."""
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise FieldError("A list of tag names.")
    # Counted as sent, repeats included (as the OpenAPI document's maxItems counts), and
    # before any is cleaned.
    if len(values) > TAGS_PER_CONTACT_MAX:
        raise FieldError(f"At most {TAGS_PER_CONTACT_MAX} tags.")
    return list(dict.fromkeys(tag_name(value) for value in values))


def split_tags(text: str | None, separators: str = ",;") -> list[str]:
    """ "vip; newsletter" -> ["vip", "newsletter"] (blank parts dropped)."""
    parts = re.split("[" + re.escape(separators) + "]", text or "")
    return tag_names([part for part in parts if part.strip()])


def attributes(value) -> dict:
    """Free-form attributes: an object of name -> text, number, true/false or null."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError("An object of name: value pairs.")
    if len(value) > ATTRIBUTES_MAX:
        raise FieldError(f"At most {ATTRIBUTES_MAX} attributes.")
    clean = {}
    for raw_key, item in value.items():
        key = raw_key.strip() if isinstance(raw_key, str) else raw_key
        if not isinstance(key, str) or not key or len(key) > ATTRIBUTE_KEY_MAX:
            raise FieldError(f"Attribute names are text of 1 to {ATTRIBUTE_KEY_MAX} characters.")
        if item is not None and not isinstance(item, str | int | float | bool):
            raise FieldError(f"Attribute {key!r}: a text, number, true/false or null value.")
        if isinstance(item, str) and len(item) > ATTRIBUTE_VALUE_MAX:
            raise FieldError(f"Attribute {key!r}: at most {ATTRIBUTE_VALUE_MAX} characters.")
        clean[key] = item
    return clean


def collect(checks: dict[str, tuple]) -> dict:
    """Run {field: (checker, value)}; the clean values, or one ValidationError for all fields."""
    clean, errors = {}, {}
    for field, (checker, value) in checks.items():
        try:
            clean[field] = checker(value)
        except FieldError as exc:
            errors[field] = str(exc)
    if errors:
        first = next(iter(errors.values()))
        raise ValidationError(first if len(errors) == 1 else "Please correct the fields.", errors)
    return clean
