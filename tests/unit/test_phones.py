"""Phone numbers are stored as E.164; what cannot be a number is a clear field error."""

from __future__ import annotations

import pytest

from app.drip.contacts.phones import InvalidPhone, normalize_phone, phone_field
from app.drip.errors import ValidationError


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 202 555 0143", "US", "+12025550143"),
        ("(202) 555-0143", "US", "+12025550143"),
        ("202.555.0143", "US", "+12025550143"),
        ("  +44 20 7946 0123 ", "US", "+442079460123"),
        ("020 7946 0123", "GB", "+442079460123"),
        ("0044 20 7946 0123", "GB", "+442079460123"),
        ("+44 (0)20 7946 0123", "FR", "+442079460123"),
        ("+1 202 555 0143", None, "+12025550143"),
        ("020 7946 0123", "gb", "+442079460123"),
    ],
)
def test_numbers_are_read_as_e164(raw, region, expected):
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("+44 7700 900123", "GB"),  # Ofcom's drama range: not a valid number to phonenumbers
        ("12345", "US"),
        ("not a number", "US"),
        ("+1 202 555 014", "US"),  # a digit short
        ("020 7946 0123", "US"),  # a UK number read in the US
        ("202 555 0143", None),  # no country code and no region to read it in
        ("+" + "1" * 60, "US"),
    ],
)
def test_invalid_numbers_are_refused(raw, region):
    with pytest.raises(InvalidPhone):
        normalize_phone(raw, region)


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_a_number_is_required(raw):
    with pytest.raises(InvalidPhone, match="required"):
        normalize_phone(raw, "US")


def test_the_message_says_which_region_a_local_number_was_read_in():
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone("020 7946 0123", "US")
    assert "region US" in str(caught.value)
    assert "+" in str(caught.value)


def test_phone_field_is_a_validation_error_naming_the_field():
    with pytest.raises(ValidationError) as caught:
        phone_field("12345", "US", field="phone")
    assert caught.value.status == 422
    assert "phone" in caught.value.fields
    assert phone_field("(202) 555-0143", "US") == "+12025550143"
