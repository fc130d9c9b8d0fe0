"""Contacts: search and pages, changes (which fire the enrollment triggers), fields, phones,
tags, the CSV import and the timeline of what happened to a contact."""

from app.drip.contacts.changes import create_contact, delete_contact, update_contact
from app.drip.contacts.csv_import import (
    apply_chunk,
    create_import,
    fail,
    finish,
    get_import,
    pending_chunks,
    recent_imports,
    retry,
    runs_in_background,
    start,
)
from app.drip.contacts.csv_mapping import (
    FIELD_LABELS,
    HEADER_COLUMNS_MAX,
    HEADER_NAME_MAX,
    KNOWN_COLUMNS,
    MAPPING_TEXT_MAX,
    MappingError,
)
from app.drip.contacts.csv_mapping import guess as guess_target
from app.drip.contacts.csv_report import DUPLICATE_POLICY, awaits_mapping
from app.drip.contacts.fields import WHATSAPP_USER_ID_MAX, FieldError, split_tags
from app.drip.contacts.import_steps import (
    cancel_import,
    failed_rows_table,
    import_report,
    sample_rows,
    set_mapping,
)
from app.drip.contacts.phones import phone_field
from app.drip.contacts.search import contact_tags, get_contact, list_contacts
from app.drip.contacts.tags import ensure_tags, list_tags
from app.drip.contacts.timeline import KINDS as TIMELINE_KINDS
from app.drip.contacts.timeline import Timeline, TimelineEntry, contact_timeline

__all__ = [
    "DUPLICATE_POLICY",
    "FIELD_LABELS",
    "HEADER_COLUMNS_MAX",
    "HEADER_NAME_MAX",
    "KNOWN_COLUMNS",
    "MAPPING_TEXT_MAX",
    "TIMELINE_KINDS",
    "WHATSAPP_USER_ID_MAX",
    "FieldError",
    "MappingError",
    "Timeline",
    "TimelineEntry",
    "apply_chunk",
    "awaits_mapping",
    "cancel_import",
    "contact_tags",
    "contact_timeline",
    "create_contact",
    "create_import",
    "delete_contact",
    "ensure_tags",
    "fail",
    "failed_rows_table",
    "finish",
    "get_contact",
    "get_import",
    "guess_target",
    "import_report",
    "list_contacts",
    "list_tags",
    "pending_chunks",
    "phone_field",
    "recent_imports",
    "retry",
    "runs_in_background",
    "sample_rows",
    "set_mapping",
    "split_tags",
    "start",
    "update_contact",
]
