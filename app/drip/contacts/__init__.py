"""Contacts: search and pages, changes (which fire the enrollment triggers), fields, phones,
tags and the CSV import."""

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
from app.drip.contacts.fields import WHATSAPP_USER_ID_MAX, FieldError, split_tags
from app.drip.contacts.phones import phone_field
from app.drip.contacts.search import contact_tags, get_contact, list_contacts
from app.drip.contacts.tags import ensure_tags, list_tags

__all__ = [
    "WHATSAPP_USER_ID_MAX",
    "FieldError",
    "apply_chunk",
    "contact_tags",
    "create_contact",
    "create_import",
    "delete_contact",
    "ensure_tags",
    "fail",
    "finish",
    "get_contact",
    "get_import",
    "list_contacts",
    "list_tags",
    "pending_chunks",
    "phone_field",
    "recent_imports",
    "retry",
    "runs_in_background",
    "split_tags",
    "start",
    "update_contact",
]
