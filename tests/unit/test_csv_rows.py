"""Reading a contacts CSV: header columns, each row checked on its own."""

from __future__ import annotations

import pytest

from app.drip.contacts.csv_rows import ContactRow, open_records, parse_row, read_header
from app.drip.contacts.fields import FieldError, attributes, split_tags, tag_names


def test_known_columns_are_matched_loosely_and_others_are_attributes():
    columns = read_header(["Phone", "First Name", "last-name", " TimeZone ", "tags", "City", ""])
    assert (columns.phone, columns.first_name, columns.last_name) == (0, 1, 2)
    assert (columns.timezone, columns.tags) == (3, 4)
    assert columns.attributes == ((5, "City"),)  # the unnamed column is ignored


def test_header_needs_a_phone_column():
    with pytest.raises(FieldError, match="phone"):
        read_header(["first_name", "last_name"])


def test_header_columns_cannot_repeat():
    with pytest.raises(FieldError, match="twice"):
        read_header(["phone", "Phone"])
    with pytest.raises(FieldError, match="twice"):
        read_header(["phone", "city", "city"])


def row(cells, header=("phone", "first_name", "last_name", "timezone", "tags", "city")):
    return parse_row(7, list(cells), read_header(list(header)), "US")


def test_a_good_row():
    parsed = row(["(202) 555-0143", " Ada ", "", "Europe/London", "vip; news ;;vip", "London"])
    assert parsed == ContactRow(
        number=7,
        phone="+12025550143",
        first_name="Ada",
        last_name=None,
        timezone="Europe/London",
        tags=["vip", "news"],
        attributes={"city": "London"},
    )


def test_blank_attribute_cells_are_left_out():
    assert row(["+12025550143", "", "", "", "", "  "]).attributes == {}


def test_short_rows_are_fine():
    assert row(["+12025550143"]).first_name is None


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (["", "Ada"], "phone: missing"),
        (["12345", "Ada"], "phone: '12345' is not a valid phone number"),
        (["+12025550143", "x" * 121], "first_name: At most 120"),
        (["+12025550143", "", "", "", "x" * 65], "tags: Tag"),
        (["+12025550143", "", "", "", "", "", "extra"], "7 cells but the header has 6"),
    ],
)
def test_bad_rows_say_which_column_and_why(cells, message):
    with pytest.raises(FieldError) as caught:
        row(cells)
    assert message in str(caught.value)


def test_records_stream_utf8_with_or_without_bom():
    content = "\ufeffphone,first_name\n+12025550143,Zoë\n".encode()
    records = open_records(content)
    assert next(records) == ["phone", "first_name"]
    assert next(records) == ["+12025550143", "Zoë"]


def test_tags_and_attributes_checks():
    assert split_tags("a, b,,a", ",") == ["a", "b"]
    assert tag_names(["  spaced   out "]) == ["spaced out"]
    with pytest.raises(FieldError):
        tag_names("vip")  # a string is not a list of tags
    with pytest.raises(FieldError):
        tag_names([""])
    assert attributes({"age": 42, "vip": True, "note": None}) == {
        "age": 42,
        "vip": True,
        "note": None,
    }
    with pytest.raises(FieldError):
        attributes({"nested": {"a": 1}})
    with pytest.raises(FieldError):
        attributes(["not", "an", "object"])


def test_a_time_zone_that_is_not_one_is_a_warning_not_a_refused_row():
    parsed = parse_row(
        7,
        ["+12025550143", "Ada", "", "Mars/Olympus"],
        read_header(["phone", "first_name", "last_name", "timezone"]),
        "US",
        "Europe/Lisbon",
    )
    assert (parsed.phone, parsed.first_name, parsed.timezone) == ("+12025550143", "Ada", None)
    (warning,) = parsed.warnings
    assert "'Mars/Olympus' is not a time zone" in warning and "Europe/Lisbon" in warning


def test_headers_are_guessed_and_a_mapping_overrides_the_guess():
    columns = read_header(["Phone Number", "Given Name", "Surname", "Plan", "Notes"])
    assert (columns.phone, columns.first_name, columns.last_name) == (0, 1, 2)
    assert columns.attributes == ((3, "Plan"), (4, "Notes"))
    columns = read_header(
        ["Phone Number", "Given Name", "Surname", "Plan", "Notes"],
        {"Plan": "attribute:tier", "Notes": "ignore", "Surname": "tags"},
    )
    assert (columns.tags, columns.last_name, columns.attributes) == (2, None, ((3, "tier"),))


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"Nope": "phone"}, "not in the header row: 'Nope'"),
        ({"Plan": "birthday"}, "'Plan': map it to one of phone"),
        ({"Plan": "phone"}, "appears twice"),
        ({"Phone Number": "ignore"}, "needs a 'phone' column"),
        ({"Plan": "attribute:" + "x" * 65}, "at most 64 characters"),
        ({"Plan": "attribute: "}, "name the attribute"),
        (["phone"], "a JSON object"),
    ],
)
def test_a_mapping_that_cannot_run_says_why(mapping, message):
    with pytest.raises(FieldError, match=message):
        read_header(["Phone Number", "Plan"], mapping)


def test_header_count_and_names_are_limited():
    with pytest.raises(FieldError, match="at most 200"):
        read_header(["phone", *(f"c{i}" for i in range(200))])
    with pytest.raises(FieldError, match="at most 200 characters"):
        read_header(["phone", "x" * 201])
