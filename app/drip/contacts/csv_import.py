"""CSV import of contacts, in chunks of set-based upserts.

An import is a ContactImport row holding the file. Running it is a loop the caller drives,
committing after each chunk (app.tasks.jobs.run_contact_import):

    run = start(session, import_id)
    for chunk in pending_chunks(session, run):
        apply_chunk(session, run, chunk)      # upserts, tags, triggers, counters
        commit
    finish(session, run)

A chunk's contacts and the counters saying it is done are committed together, so a run that
stops half-way (crash, deploy) continues from processed_rows when run again; re-applying a
chunk would be harmless anyway, as every write is an upsert.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from app.drip import enrollment
from app.drip.contacts.changes import notify_tags_added
from app.drip.contacts.contact_upsert import (
    merge_repeated_contacts,
    refuse_taken_user_ids,
    upsert_contacts,
)
from app.drip.contacts.csv_mapping import MappingError, header_labels, is_exact, resolve
from app.drip.contacts.csv_report import (
    awaits_mapping,
    duplicate_entry,
    error_entry,
    header_entry,
    read_report,
    stored_cells,
    warning_entry,
)
from app.drip.contacts.csv_rows import (
    ContactRow,
    columns_from,
    is_blank,
    open_records,
    parse_row,
)
from app.drip.contacts.fields import FieldError
from app.drip.contacts.tags import attach_tags, ensure_tags
from app.drip.errors import NotFound, ValidationError
from app.drip.scope import scoped
from app.drip.sql import CHUNK_ROWS
from app.models import ContactImport, Organization, utcnow

# Files with more contact rows than this run as a background job; smaller ones at once.
SYNC_MAX_ROWS = 5000
# Rows kept for display and the failed-rows download, refused or with a warning
# (error_count counts every refused row).
MAX_STORED_ERRORS = 1000


def create_import(
    session: Session,
    organization_id: int,
    filename: str | None,
    content: bytes | None,
    *,
    user_id: int | None = None,
    mapping: object = None,
    ask_mapping: bool = False,
) -> ContactImport:
    """A queued import of this file, after checking it is UTF-8 CSV whose columns can run.

    `mapping` ({column name: target}, csv_mapping) maps the columns it names; the others are
    guessed. With `ask_mapping` (the import page), a header that is not exactly the
    documented column names leaves the import waiting for set_mapping instead. MappingError
    (field "mapping") for a mapping that cannot run, ValidationError (field "file") for a
    file that cannot; nothing is stored then."""
    if not content:
        raise _file_error("The file is empty: upload a CSV file with a header row.")
    records = open_records(content)
    try:
        header = next(records, None)
        if header is None:
            raise _file_error("The file is empty: upload a CSV file with a header row.")
        labels = header_labels(header)
        targets = None
        if not (ask_mapping and mapping is None and not is_exact(labels)):
            try:
                targets = resolve(labels, mapping)
            except MappingError as exc:
                if mapping is not None:
                    raise
                raise _file_error(exc.message) from None
        total = sum(1 for _ in records)
    except FieldError as exc:
        raise _file_error(str(exc)) from None
    except UnicodeDecodeError:
        raise _file_error("The file is not UTF-8 text: save it as “CSV UTF-8”.") from None
    except csv.Error as exc:
        raise _file_error(f"The file is not valid CSV (line {records.line_num}: {exc}).") from None
    imp = ContactImport(
        organization_id=organization_id,
        created_by_user_id=user_id,
        # NUL: a name PostgreSQL cannot store (a 500 on the upload otherwise).
        filename=(filename or "").replace("\x00", "")[:255] or "contacts.csv",
        content=content,
        status="queued",
        total_rows=total,
        processed_rows=0,
        created_count=0,
        updated_count=0,
        error_count=0,
        errors=[header_entry(labels, targets)],
    )
    session.add(imp)
    session.flush()
    return imp


def _file_error(message: str) -> ValidationError:
    return ValidationError(message, {"file": message})


def get_import(session: Session, organization_id: int, import_id: int) -> ContactImport:
    """The organization's import, without its file; NotFound for another organization's."""
    imp = session.scalar(
        scoped(ContactImport, organization_id)
        .options(defer(ContactImport.content))
        .where(ContactImport.id == import_id)
    )
    if imp is None:
        raise NotFound(f"Import {import_id} not found")
    return imp


def recent_imports(session: Session, organization_id: int, limit: int = 10) -> list[ContactImport]:
    return list(
        session.scalars(
            scoped(ContactImport, organization_id)
            .options(defer(ContactImport.content))
            .order_by(ContactImport.created_at.desc(), ContactImport.id.desc())
            .limit(limit)
        )
    )


def runs_in_background(imp: ContactImport) -> bool:
    return (imp.total_rows or 0) > SYNC_MAX_ROWS


@dataclass
class RunState:
    """What a run remembers across chunks: the contacts seen so far (key -> first row), the
    rows of the repeated ones, and how many entries the import already stores."""

    seen: dict[tuple[str, str], int] = field(default_factory=dict)
    repeats: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    stored: int = 0


@dataclass(frozen=True)
class ImportRun:
    """What a run needs of its import. Plain values, not the row: the row would reload its
    file after every commit."""

    import_id: int
    organization_id: int
    processed_rows: int
    targets: tuple[str, ...] | None = None
    state: RunState = field(default_factory=RunState, compare=False)


def start(session: Session, import_id: int) -> ImportRun | None:
    """The import marked running, or None when there is nothing (left) to do: done, or waiting
    for its columns to be mapped."""
    imp = session.scalar(
        select(ContactImport)
        .options(defer(ContactImport.content))
        .where(ContactImport.id == import_id)
    )
    if imp is None or imp.status == "done" or awaits_mapping(imp):
        return None
    imp.status = "running"
    imp.started_at = imp.started_at or utcnow()
    imp.last_error = None
    targets = read_report(imp.errors).targets
    run = ImportRun(
        imp.id, imp.organization_id, imp.processed_rows or 0, tuple(targets) if targets else None
    )
    run.state.stored = len(imp.errors or [])
    return run


@dataclass
class Chunk:
    consumed: int = 0  # records read, blank ones included: what processed_rows advances by
    rows: list[ContactRow] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)


def pending_chunks(session: Session, run: ImportRun) -> Iterator[Chunk]:
    """The chunks after the processed_rows already done, parsed as the file streams."""
    content = session.scalar(select(ContactImport.content).where(ContactImport.id == run.import_id))
    # One query for both: the region numbers without a country code are read in, and the
    # zone a row with a bad time zone falls back to (named in its warning).
    region, org_zone = session.execute(
        select(Organization.default_region, Organization.timezone).where(
            Organization.id == run.organization_id
        )
    ).one()
    region = region or "US"
    done = run.processed_rows
    records = open_records(content or b"")
    header = next(records)
    # An import stored before column mappings: its columns guessed, as they were then.
    targets = list(run.targets) if run.targets else resolve(header_labels(header))
    columns = columns_from(targets)
    number = 1  # the header is row 1
    # Rows already imported (a run that stopped): read again only to know their contacts, so
    # a later row repeating one of them is still reported.
    for record in islice(records, done):
        number += 1
        if not is_blank(record):
            try:
                _remember(run.state, parse_row(number, record, columns, region, org_zone))
            except FieldError:
                pass
    chunk = Chunk()
    for record in records:
        number += 1
        chunk.consumed += 1
        if not is_blank(record):
            _read_row(run.state, chunk, number, record, columns, region, org_zone)
        if chunk.consumed == CHUNK_ROWS:
            yield chunk
            chunk = Chunk()
    if chunk.consumed:
        yield chunk


def _read_row(state: RunState, chunk: Chunk, number, record, columns, region, org_zone) -> None:
    """The record into the chunk: a row to import (with its warnings, and a word when its
    contact was on an earlier row), or a refused row."""
    try:
        row = parse_row(number, record, columns, region, org_zone)
    except FieldError as exc:
        chunk.errors.append(error_entry(number, str(exc), stored_cells(record, columns.width)))
        return
    # The record as read; cut down (stored_cells) only for a row that is reported.
    row.cells = record
    chunk.rows.append(row)
    for text in row.warnings:
        chunk.warnings.append(warning_entry(number, text, stored_cells(record, columns.width)))
    rows = _remember(state, row)
    if rows:
        cells = stored_cells(record, columns.width)
        chunk.warnings.append(duplicate_entry(number, row.key, rows, cells))


def _remember(state: RunState, row: ContactRow) -> list[int] | None:
    """Note the row's contact; the rows so far of a contact seen before (this one last)."""
    first = state.seen.setdefault(row.key, row.number)
    if first == row.number:
        return None
    rows = state.repeats.setdefault(row.key, [first])
    rows.append(row.number)
    return list(rows)


def apply_chunk(session: Session, run: ImportRun, chunk: Chunk) -> None:
    """Upsert the chunk's contacts and tags, fire the triggers, advance the counters."""
    org_id = run.organization_id
    rows, repeats = merge_repeated_contacts(chunk.rows)
    rows, refused = refuse_taken_user_ids(session, org_id, rows)
    errors = [*chunk.errors, *refused]
    entries = sorted([*errors, *chunk.warnings], key=lambda entry: entry["row"])
    created_ids: list[int] = []
    if rows:
        ids, created_ids = upsert_contacts(session, org_id, rows)
        tag_ids = ensure_tags(session, org_id, (t for row in rows for t in row.tags))
        added = attach_tags(
            session, org_id, [(ids[row.key], tag_ids[t]) for row in rows for t in row.tags]
        )
        if created_ids:
            enrollment.on_contacts_created(session, org_id, created_ids)
        notify_tags_added(session, org_id, added)
    counters = {
        "processed_rows": ContactImport.processed_rows + chunk.consumed,
        "created_count": ContactImport.created_count + len(created_ids),
        "updated_count": ContactImport.updated_count + len(rows) - len(created_ids) + repeats,
        "error_count": ContactImport.error_count + len(errors),
    }
    # The header entry does not take a row's place.
    room = MAX_STORED_ERRORS + 1 - run.state.stored
    if entries and room > 0:
        kept = (
            session.scalar(select(ContactImport.errors).where(ContactImport.id == run.import_id))
            or []
        )
        counters["errors"] = [*kept, *entries[:room]]
        run.state.stored = len(counters["errors"])
    session.execute(
        update(ContactImport).where(ContactImport.id == run.import_id).values(**counters)
    )


def finish(session: Session, run: ImportRun) -> None:
    """Done: the file is dropped, the counters and row errors stay."""
    session.execute(
        update(ContactImport)
        .where(ContactImport.id == run.import_id)
        .values(status="done", finished_at=utcnow(), content=None)
    )


def fail(session: Session, import_id: int, message: str) -> None:
    """Mark a stopped import failed; processed_rows says where a new run continues."""
    imp = session.get(ContactImport, import_id, options=[defer(ContactImport.content)])
    if imp is not None:
        imp.status = "failed"
        imp.last_error = message[:2000]


def retry(session: Session, imp: ContactImport) -> bool:
    """Queue a failed import again; False when it has not failed."""
    if imp.status != "failed":
        return False
    imp.status = "queued"
    imp.last_error = None
    return True
