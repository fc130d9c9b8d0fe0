"""Reading a contacts CSV: the header, and each row checked into a ContactRow. No database.

Columns (mapped by the user, else guessed by csv_mapping: "Phone Number" = phone): phone,
whatsapp_user_id (Meta's business-scoped user id; a row needs a phone, this, or both),
first_name, last_name, timezone, tags (";"-separated); any other column is an attribute
unless ignored. A time zone that is not one is a warning, not a refused row: the contact is
imported without it (and so follows the organization's zone).
Rows are numbered as a spreadsheet shows them: the header is row 1, the first contact row 2.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from app.drip.contacts import fields
from app.drip.contacts.csv_mapping import (
    ATTRIBUTE,
    KNOWN_COLUMNS,
    MappingError,
    header_labels,
    resolve,
)
from app.drip.contacts.fields import FieldError
from app.drip.contacts.phones import normalize_phone


@dataclass(frozen=True)
class Columns:
    """Where each known column is in a row (None: not in the file), and the attributes."""

    phone: int | None
    whatsapp_user_id: int | None
    first_name: int | None
    last_name: int | None
    timezone: int | None
    tags: int | None
    attributes: tuple[tuple[int, str], ...]
    width: int


@dataclass(slots=True)
class ContactRow:
    number: int
    phone: str | None
    first_name: str | None
    last_name: str | None
    timezone: str | None
    tags: list[str]
    attributes: dict = field(default_factory=dict)
    whatsapp_user_id: str | None = None
    # Imported anyway, with a word for the user (a time zone that is not one).
    warnings: list[str] = field(default_factory=list)
    # The record as read, for the failed-rows download (set by the import, kept per chunk).
    cells: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        """Who the row is: its phone, else its WhatsApp user id."""
        return ("phone", self.phone) if self.phone else ("whatsapp_user_id", self.whatsapp_user_id)

    def merge(self, later: ContactRow) -> None:
        """Fold a later row for the same contact into this one, as two upserts would."""
        self.whatsapp_user_id = later.whatsapp_user_id or self.whatsapp_user_id
        self.first_name = later.first_name or self.first_name
        self.last_name = later.last_name or self.last_name
        self.timezone = later.timezone or self.timezone
        self.tags = list(dict.fromkeys([*self.tags, *later.tags]))
        self.attributes = {**self.attributes, **later.attributes}


def open_records(content: bytes) -> Iterator[list[str]]:
    """The CSV records of a UTF-8 file (a BOM is fine), decoded as they are read."""
    stream = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    return csv.reader(stream)


def read_header(header: list[str], mapping: object = None) -> Columns:
    """The columns of this header row, mapped as the user said (csv_mapping.resolve) or, for
    the columns the mapping leaves out, as guessed. FieldError for a header that cannot run."""
    labels = header_labels(header)
    try:
        targets = resolve(labels, mapping)
    except MappingError as exc:
        raise FieldError(exc.message) from None
    return columns_from(targets)


def columns_from(targets: list[str]) -> Columns:
    """Columns of checked targets (csv_mapping.resolve's)."""
    known = {target: index for index, target in enumerate(targets) if target in KNOWN_COLUMNS}
    attributes = tuple(
        (index, target[len(ATTRIBUTE) :])
        for index, target in enumerate(targets)
        if target.startswith(ATTRIBUTE)
    )
    return Columns(
        phone=known.get("phone"),
        whatsapp_user_id=known.get("whatsapp_user_id"),
        first_name=known.get("first_name"),
        last_name=known.get("last_name"),
        timezone=known.get("timezone"),
        tags=known.get("tags"),
        attributes=attributes,
        width=len(targets),
    )


def is_blank(record: list[str]) -> bool:
    return not any(cell.strip() for cell in record)


def parse_row(
    number: int, record: list[str], columns: Columns, region: str, org_zone: str | None = None
) -> ContactRow:
    """The row's contact, or FieldError naming the column and what is wrong with it."""
    if len(record) > columns.width and not is_blank(record[columns.width :]):
        raise FieldError(
            f"The row has {len(record)} cells but the header has {columns.width} columns."
        )

    def cell(index: int | None) -> str:
        return record[index].strip() if index is not None and index < len(record) else ""

    # PostgreSQL text cannot hold NUL: such a row failed its whole chunk of the import (found
    # by fuzzing). It is reported with the column, as any other bad cell.
    known = [(name, getattr(columns, name)) for name in KNOWN_COLUMNS]
    for name, index in [*known, *((key, index) for index, key in columns.attributes)]:
        if index is not None and index < len(record) and "\x00" in record[index]:
            raise FieldError(f"{name}: contains a NUL character.")

    if not cell(columns.phone) and not cell(columns.whatsapp_user_id):
        raise FieldError("phone: missing (a row needs a phone or a whatsapp_user_id).")
    values = {}
    warnings = []
    try:
        values["timezone"] = fields.timezone(cell(columns.timezone))
    except FieldError:
        values["timezone"] = None
        warnings.append(
            f"timezone: {cell(columns.timezone)[:64]!r} is not a time zone (use an IANA name "
            f"such as Europe/Paris); imported without it: the contact keeps its time zone, or "
            f"follows the organization's ({org_zone or 'UTC'})."
        )
    for name, checker, index in (
        ("phone", lambda v: normalize_phone(v, region) if v else None, columns.phone),
        ("whatsapp_user_id", fields.whatsapp_user_id, columns.whatsapp_user_id),
        ("first_name", fields.name, columns.first_name),
        ("last_name", fields.name, columns.last_name),
        ("tags", lambda v: fields.split_tags(v, ";"), columns.tags),
    ):
        try:
            values[name] = checker(cell(index))
        except FieldError as exc:
            raise FieldError(f"{name}: {exc}") from None
    attributes = {}
    for index, key in columns.attributes:
        value = cell(index)
        if len(value) > fields.ATTRIBUTE_VALUE_MAX:
            raise FieldError(f"{key}: at most {fields.ATTRIBUTE_VALUE_MAX} characters.")
        if value:
            attributes[key] = value
    return ContactRow(number=number, attributes=attributes, warnings=warnings, **values)
