"""Phone numbers: anything a person types, read as E.164 with the `phonenumbers` library."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from app.drip.contacts.fields import FieldError
from app.drip.errors import ValidationError

MAX_INPUT_LENGTH = 40


class InvalidPhone(FieldError):
    """A number that cannot be read or is not a valid number; str() is the reason."""


def normalize_phone(raw: str | None, region: str | None) -> str:
    """E.164 (+14155550143) for a number written in any common format.

    A number written without a country code (no leading + or international prefix) is read
    in `region` (the organization's default region, e.g. "US", "GB").
    """
    # JSON bodies can carry any type here (a list, a number): that is a clear "not a phone
    # number", never an AttributeError on .strip() (a 500, found by schemathesis).
    if raw is not None and not isinstance(raw, str):
        raise InvalidPhone("A phone number is text, such as +12025550143.")
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("A phone number is required.")
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidPhone("That is too long to be a phone number.")
    region = (region or "").upper() or None
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        raise InvalidPhone(_invalid(text, region)) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(_invalid(text, region))
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _invalid(text: str, region: str | None) -> str:
    if text.startswith("+") or not region:
        return f"{text!r} is not a valid phone number."
    return (
        f"{text!r} is not a valid phone number in region {region}; "
        "write other countries' numbers with + and the country code."
    )


def phone_field(raw: str | None, region: str | None, field: str = "phone") -> str:
    """normalize_phone for form and API input: an invalid number is a field error."""
    try:
        return normalize_phone(raw, region)
    except InvalidPhone as exc:
        raise ValidationError(str(exc), {field: str(exc)}) from None
