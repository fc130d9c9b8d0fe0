"""The steps of an import around its run: mapping the columns of a file uploaded from the page
(or dropping it), and what the user gets back: the report and the failed rows."""

from __future__ import annotations

import re
from itertools import islice

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.drip.contacts.csv_import import get_import
from app.drip.contacts.csv_mapping import resolve
from app.drip.contacts.csv_report import (
    HEADER,
    Report,
    awaits_mapping,
    failed_rows,
    header_entry,
    read_report,
)
from app.drip.contacts.csv_rows import is_blank, open_records
from app.drip.errors import Conflict
from app.models import ContactImport


def set_mapping(
    session: Session, organization_id: int, import_id: int, mapping: object
) -> ContactImport:
    """Map the columns of an import that waits for it ({column name: target}; columns left
    out are guessed). MappingError, and nothing changed, when they cannot run."""
    imp = get_import(session, organization_id, import_id)
    if not awaits_mapping(imp):
        raise Conflict("This import's columns are already mapped.")
    report = read_report(imp.errors)
    targets = resolve(report.columns, mapping)
    entries = [entry for entry in imp.errors if entry.get("kind") != HEADER]
    imp.errors = [header_entry(report.columns, targets), *entries]
    return imp


def cancel_import(session: Session, organization_id: int, import_id: int) -> None:
    """Drop an import that waits for its column mapping, and its file."""
    imp = get_import(session, organization_id, import_id)
    if not awaits_mapping(imp):
        raise Conflict("Only an import waiting for its columns can be cancelled.")
    session.delete(imp)


def sample_rows(
    session: Session, organization_id: int, import_id: int, count: int = 3
) -> list[list[str]]:
    """The first few non-blank rows of a file still held, for the mapping page (the file
    streams: only these rows are read)."""
    get_import(session, organization_id, import_id)  # 404 for another organization's
    content = session.scalar(select(ContactImport.content).where(ContactImport.id == import_id))
    records = open_records(content or b"")
    try:
        next(records, None)
        rows = [record for record in islice(records, count * 5) if not is_blank(record)]
    except (UnicodeDecodeError, ValueError):
        return []
    return rows[:count]


def import_report(imp: ContactImport) -> Report:
    return read_report(imp.errors)


def failed_rows_table(
    session: Session, organization_id: int, import_id: int
) -> tuple[str, list[str], list[list]]:
    """(filename, header, rows) of the import's refused rows and rows with a warning, for a
    CSV download: the file's columns, then "row" and "error"."""
    imp = get_import(session, organization_id, import_id)
    header, rows = failed_rows(imp.errors)
    # The name goes into a Content-Disposition header: plain characters only.
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", imp.filename.rsplit(".", 1)[0]).strip("-.")
    return f"{stem[:80] or 'contacts'}-failed-rows.csv", header, rows
