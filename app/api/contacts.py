"""JSON API: contacts (list, create, one contact, edit, delete, timeline) and the CSV
import."""

from __future__ import annotations

import json
from contextlib import contextmanager

from flask import Blueprint, Response, g, request, url_for
from flask_login import current_user

from app.api.contacts_openapi import OPENAPI
from app.api.respond import json_body, ok, paged, paging_args, text_arg
from app.auth import current_org_id
from app.drip import contacts
from app.drip.errors import DripError, ValidationError
from app.envelope import camel_case
from app.extensions import db
from app.models import Contact, ContactImport
from app.reports import write_csv
from app.tasks import enqueue, run_contact_import

bp = Blueprint("api_contacts", __name__, url_prefix="/api")

__all__ = ["OPENAPI", "bp"]

# The API's field names and the domain's.
WRITABLE = {
    "phone": "phone",
    "whatsappUserId": "whatsapp_user_id",
    "firstName": "first_name",
    "lastName": "last_name",
    "timezone": "timezone",
    "tags": "tags",
    "attributes": "attributes",
    "optedOut": "opted_out",
}
# Sent back as they were read: ignored rather than refused.
READ_ONLY = {"id", "createdAt", "updatedAt", "optedOutAt", "optOutReason"}


def serialize_contact(contact: Contact, tags: list[str]) -> dict:
    return {
        "id": contact.id,
        "phone": contact.phone,
        "whatsappUserId": contact.whatsapp_user_id,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "timezone": contact.timezone,
        "tags": tags,
        "attributes": contact.attributes or {},
        "optedOutAt": contact.opted_out_at,
        "optOutReason": contact.opt_out_reason,
        "createdAt": contact.created_at,
        "updatedAt": contact.updated_at,
    }


def serialize_import(imp: ContactImport) -> dict:
    return {
        "id": imp.id,
        "filename": imp.filename,
        "status": imp.status,
        "awaitingMapping": contacts.awaits_mapping(imp),
        "totalRows": imp.total_rows,
        "processedRows": imp.processed_rows,
        "created": imp.created_count,
        "updated": imp.updated_count,
        "errorCount": imp.error_count,
        **import_report(imp),
        "lastError": imp.last_error,
        "createdAt": imp.created_at,
        "startedAt": imp.started_at,
        "finishedAt": imp.finished_at,
    }


def import_report(imp: ContactImport) -> dict:
    """The rows an import refused, those it took with a warning, the repeated contacts (the
    last row wins), and the column mapping it ran with."""
    report = contacts.import_report(imp)
    return {
        "errors": [{"row": e["row"], "message": e.get("message", "")} for e in report.errors],
        "warnings": [
            {"row": e["row"], "message": e.get("message", "")}
            for e in sorted([*report.warnings, *report.duplicates], key=lambda e: e["row"])
        ],
        "duplicates": [
            {
                "field": camel_case(group["field"]),
                "value": group["key"],
                "rows": group["rows"],
                "winningRow": group["winningRow"],
            }
            for group in report.repeated
        ],
        "duplicateRule": contacts.DUPLICATE_POLICY,
        "mapping": report.mapping,
        "failedRowsUrl": url_for("api_contacts.import_failed_rows", import_id=imp.id),
    }


def mapping_arg() -> dict | None:
    """The optional `mapping` form field: JSON {column name: target}."""
    raw = request.form.get("mapping")
    if raw is None or not raw.strip():
        return None
    if len(raw) > contacts.MAPPING_TEXT_MAX:
        message = f"mapping: at most {contacts.MAPPING_TEXT_MAX:,} characters of JSON."
        raise ValidationError(message, {"mapping": message})
    try:
        mapping = json.loads(raw)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict):
        message = (
            'mapping: a JSON object of column name to field, such as {"Phone Number": '
            '"phone", "Plan": "attribute:plan", "Notes": "ignore"}.'
        )
        raise ValidationError(message, {"mapping": message})
    return mapping


@contextmanager
def api_field_names():
    """Domain errors name fields as Python does (first_name); the API says firstName."""
    try:
        yield
    except DripError as exc:
        fields = exc.details.get("fields") if isinstance(exc.details, dict) else None
        if fields:
            renamed = {camel_case(name): message for name, message in fields.items()}
            exc.details = {**exc.details, "fields": renamed}
            if isinstance(exc, ValidationError):
                exc.fields = renamed
        raise


def contact_changes_from(body: dict) -> dict:
    unknown = sorted(set(body) - set(WRITABLE) - READ_ONLY)
    if unknown:
        raise ValidationError(
            "Unknown fields: " + ", ".join(unknown) + ".",
            {name: "Unknown field." for name in unknown},
        )
    return {WRITABLE[name]: value for name, value in body.items() if name in WRITABLE}


def opted_out_arg() -> bool | None:
    raw = (request.args.get("optedOut") or "").lower()
    if raw in ("", "any"):
        return None
    if raw not in ("true", "false"):
        raise ValidationError("optedOut is true or false.", {"optedOut": "true or false."})
    return raw == "true"


def _one(contact: Contact) -> dict:
    return serialize_contact(
        contact, contacts.contact_tags(db.session, current_org_id(), contact.id)
    )


@bp.get("/contacts")
def list_contacts():
    page, per_page = paging_args()
    result = contacts.list_contacts(
        db.session,
        current_org_id(),
        q=text_arg("q"),
        tag=text_arg("tag"),
        opted_out=opted_out_arg(),
        page=page,
        per_page=per_page,
    )
    items = [serialize_contact(c, result.tags[c.id]) for c in result.contacts]
    return paged(items, result.total, page, per_page)


@bp.post("/contacts")
def create_contact():
    with api_field_names():
        changes = contact_changes_from(json_body())
        contact = contacts.create_contact(db.session, current_org_id(), **changes)
    db.session.commit()
    return ok(_one(contact), status=201)


@bp.get("/contacts/<int:contact_id>")
def get_contact(contact_id: int):
    return ok(_one(contacts.get_contact(db.session, current_org_id(), contact_id)))


@bp.get("/contacts/<int:contact_id>/timeline")
def contact_timeline(contact_id: int):
    contacts.get_contact(db.session, current_org_id(), contact_id)  # 404 before 422
    page, per_page = paging_args()
    result = contacts.contact_timeline(db.session, current_org_id(), contact_id, page, per_page)
    return paged([serialize_entry(e) for e in result.entries], result.total, page, per_page)


def serialize_entry(entry: contacts.TimelineEntry) -> dict:
    return {
        "at": entry.at,
        "kind": entry.kind,
        "campaignId": entry.campaign_id,
        "stepId": entry.step_id,
        "text": entry.text,
        "status": entry.status,
        "details": entry.details,
    }


@bp.patch("/contacts/<int:contact_id>")
def update_contact(contact_id: int):
    contacts.get_contact(db.session, current_org_id(), contact_id)  # 404 before 400
    with api_field_names():
        changes = contact_changes_from(json_body())
        contact = contacts.update_contact(db.session, current_org_id(), contact_id, changes)
    db.session.commit()
    return ok(_one(contact))


@bp.delete("/contacts/<int:contact_id>")
def delete_contact(contact_id: int):
    contacts.delete_contact(db.session, current_org_id(), contact_id)
    db.session.commit()
    return ok({"id": contact_id, "deleted": True})


@bp.post("/contacts/import")
def import_contacts():
    upload = request.files.get("file")
    if upload is None:
        message = "Send the CSV as multipart/form-data in the field 'file'."
        raise ValidationError(message, {"file": message})
    user_id = None if g.api_key is not None else current_user.id
    mapping = mapping_arg()
    imp = contacts.create_import(
        db.session,
        current_org_id(),
        upload.filename,
        upload.read(),
        user_id=user_id,
        mapping=mapping,
    )
    db.session.commit()
    import_id = imp.id
    if contacts.runs_in_background(imp):
        enqueue(run_contact_import, import_id)
        status_url = url_for("api_contacts.get_import", import_id=import_id)
        response = ok(
            {"importId": import_id, "status": "queued", "statusUrl": status_url}, status=202
        )
        response.headers["Location"] = status_url
        return response
    run_contact_import(import_id)
    imp = contacts.get_import(db.session, current_org_id(), import_id)
    return ok(
        {
            "importId": imp.id,
            "status": imp.status,
            "totalRows": imp.total_rows,
            "created": imp.created_count,
            "updated": imp.updated_count,
            "errorCount": imp.error_count,
            **import_report(imp),
        }
    )


@bp.get("/contacts/imports/<int:import_id>")
def get_import(import_id: int):
    return ok(serialize_import(contacts.get_import(db.session, current_org_id(), import_id)))


@bp.get("/contacts/imports/<int:import_id>/failed-rows")
def import_failed_rows(import_id: int):
    """The refused rows and the rows with a warning as CSV (formula cells neutralised)."""
    filename, header, rows = contacts.failed_rows_table(db.session, current_org_id(), import_id)
    return Response(
        write_csv(header, rows),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
