"""Hypothesis fuzzing of the CSV reader (app/drip/csv_rows.py), read the way the importer reads
a file (app/drip/csv_import.py: create_import checks the whole file, pending_chunks parses
each row): random cells (quotes, delimiters, newlines, NUL, non-ASCII, huge), quoting styles,
line endings, BOMs, other encodings and raw bytes.

A file is either refused as a whole with a clear reason (not UTF-8, not CSV, no phone column)
or each of its non-blank rows becomes a contact or a FieldError naming the column; nothing
else is raised. What a row becomes can be stored as it is.
"""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.drip.contacts import fields
from app.drip.contacts.csv_rows import ContactRow, is_blank, open_records, parse_row, read_header
from app.drip.contacts.fields import FieldError

HEADERS = st.lists(
    st.sampled_from(
        ["phone", "Phone", "first_name", "First Name", "last-name", "timezone", "tags", "city"]
    )
    | st.text(max_size=10),
    min_size=1,
    max_size=7,
)
PHONES = st.sampled_from(
    ["+12025550143", "(202) 555-0144", "+44 20 7946 0123", "202.555.0145", "+1 202 555 014"]
) | st.text(st.characters(categories=["Nd", "Zs", "Pd"]) | st.sampled_from("+()."), max_size=20)
CELLS = st.one_of(
    st.text(max_size=20),
    PHONES,
    st.sampled_from(["", " ", "\x00", 'a"b', "a,b", "a\nb", "a\r\nb", "vip; news", "Europe/Paris"]),
    st.sampled_from(["America", "Mars/Olympus", "a" * 300, "é" * 1001, "\ufeff", "\u2028"]),
    st.text(st.characters(codec="utf-8", categories=None), max_size=8),
)
QUOTING = st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])
ENDINGS = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def csv_files(draw) -> bytes:
    header = draw(HEADERS)
    width = len(header)
    rows = draw(
        st.lists(st.lists(CELLS, min_size=0, max_size=width + 2), max_size=8),
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=draw(QUOTING), lineterminator=draw(ENDINGS))
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    return text.encode(encoding, errors="replace")


FULL_HEADER = ["phone", "first_name", "last_name", "timezone", "tags", "city", "note"]
GOOD_PHONES = st.sampled_from(
    ["+12025550143", "(202) 555-0144", " +44 20 7946 0123 "]
) | st.from_regex(r"\+1202555[0-9]{4}", fullmatch=True)


@st.composite
def files_of_good_phones(draw) -> bytes:
    """Rows whose phone is good, so that the odd cells of the other columns are read."""
    rows = draw(
        st.lists(
            st.tuples(GOOD_PHONES, st.lists(CELLS, min_size=len(FULL_HEADER) - 1, max_size=6)),
            min_size=1,
            max_size=6,
        )
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=draw(QUOTING), lineterminator=draw(ENDINGS))
    writer.writerows([FULL_HEADER, *([phone, *cells] for phone, cells in rows)])
    return buffer.getvalue().encode(draw(st.sampled_from(["utf-8", "utf-8-sig"])))


BYTES = st.one_of(
    csv_files(),
    files_of_good_phones(),
    st.binary(max_size=200),
    st.builds(lambda b: b"phone,first_name\n" + b, st.binary(max_size=100)),
    st.builds(lambda n: b'phone,note\n+12025550143,"' + b"x" * n + b'"\n', st.integers(0, 200_000)),
    st.sampled_from([b"", b"\xef\xbb\xbf", b"\n\n", b'phone\n"unclosed', b"phone\n\x00\n"]),
)


def read_like_the_importer(content: bytes) -> tuple[str, list]:
    """("refused", [reason]) or ("read", [ContactRow | (row number, message)])."""
    records = open_records(content)
    try:
        header = next(records, None)
        if header is None:
            return "refused", ["empty"]
        columns = read_header(header)
        body = list(records)
    except FieldError as exc:
        return "refused", [str(exc)]
    except UnicodeDecodeError:
        return "refused", ["not UTF-8"]
    except csv.Error as exc:
        return "refused", [str(exc)]
    outcomes = []
    for number, record in enumerate(body, start=2):
        if is_blank(record):
            continue
        try:
            outcomes.append(parse_row(number, record, columns, "US"))
        except FieldError as exc:
            outcomes.append((number, str(exc)))
    return "read", outcomes


def storable_text(value, limit: int | None = None) -> None:
    assert isinstance(value, str) and "\x00" not in value
    value.encode("utf-8")
    if limit is not None:
        assert len(value) <= limit


def check_row(row: ContactRow) -> None:
    storable_text(row.phone)
    assert row.phone.startswith("+") and row.phone[1:].isdigit() and row.phone[1:].isascii()
    for name in (row.first_name, row.last_name):
        if name is not None:
            storable_text(name, fields.NAME_MAX)
            assert name == name.strip() and name
    if row.timezone is not None:
        ZoneInfo(row.timezone)
    for tag in row.tags:
        storable_text(tag, fields.TAG_MAX)
    for key, value in row.attributes.items():
        storable_text(key, fields.ATTRIBUTE_KEY_MAX)
        storable_text(value, fields.ATTRIBUTE_VALUE_MAX)


@settings(max_examples=300, deadline=None)
@given(BYTES)
def test_every_file_is_refused_or_read_row_by_row(content):
    verdict, outcomes = read_like_the_importer(content)
    if verdict == "refused":
        assert all(isinstance(reason, str) and reason.strip() for reason in outcomes)
        return
    for outcome in outcomes:
        if isinstance(outcome, ContactRow):
            check_row(outcome)
        else:
            number, message = outcome
            assert number >= 2 and message.strip()
            # The message names the column at fault, or the row's width.
            assert ":" in message or "cells" in message, message


@settings(max_examples=300, deadline=None)
@given(
    GOOD_PHONES,
    st.lists(CELLS, min_size=len(FULL_HEADER) - 1, max_size=len(FULL_HEADER) - 1),
    QUOTING,
    ENDINGS,
)
def test_a_row_with_a_good_phone_is_a_contact_or_names_its_bad_column(phone, cells, quoting, end):
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=quoting, lineterminator=end)
    writer.writerows([FULL_HEADER, [phone, *cells]])
    verdict, outcomes = read_like_the_importer(buffer.getvalue().encode())
    assert verdict == "read"
    # Usually one row; a lone "\r" in a cell the writer left unquoted ends a record there.
    for outcome in outcomes:
        if isinstance(outcome, ContactRow):
            check_row(outcome)
        else:
            number, message = outcome
            assert number >= 2
            assert message.split(":")[0] in FULL_HEADER or "cells" in message, message
