"""What the step editor offers to pick: the organization's catalog templates (deleted ones left
out), each with what its step must fill in (body parameters with where they sit, a header
parameter, URL-button parameters) and whether it may be picked (REJECTED and DISABLED may not)
or used as a text step's fallback (body parameters only)."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.drip.campaigns.template_preview import (
    MEDIA_HEADERS,
    header_format,
    header_needs_parameter,
    parameter_slots,
    url_buttons,
)
from app.drip.templates import REFUSED_AT_SAVE, ensure_sandbox_catalog
from app.models import WhatsAppTemplate, utcnow

PICKER_MAX = 1_000  # templates offered in one editor (a WABA holds at most 250 by default)


def template_key(name: str | None, language: str | None) -> str:
    """How the editor names a template in one form value: name:language."""
    return f"{name}:{language}" if name else ""


def split_key(key: str | None) -> tuple[str, str]:
    name, _, language = (key or "").strip().partition(":")
    return name.strip(), language.strip() or "en_US"


def picker_entry(row: WhatsAppTemplate) -> dict:
    fmt = header_format(row)
    needs_header = header_needs_parameter(row)
    buttons = url_buttons(row)
    selectable = row.status not in REFUSED_AT_SAVE and row.status != "UNKNOWN"
    return {
        "key": template_key(row.name, row.language),
        "name": row.name,
        "language": row.language,
        "category": row.category,
        "status": row.status,
        "reason": row.reason,
        "selectable": selectable,
        "fallbackOk": selectable and not needs_header and not buttons,
        "bodyText": row.body_text or "",
        "headerText": (row.header or {}).get("text") if fmt == "TEXT" else None,
        "footerText": row.footer_text,
        "slots": parameter_slots(row),
        "header": _header_input(fmt) if needs_header else None,
        "buttons": [
            {"label": f"Button “{b.get('text') or 'URL'}”: the end of {b.get('url', '')}"}
            for b in buttons
        ],
    }


def _header_input(fmt: str | None) -> dict:
    if fmt in MEDIA_HEADERS:
        return {"format": fmt, "label": f"Header {fmt.lower()}: its https link"}
    return {"format": "TEXT", "label": "Header text (the header's {{1}})"}


# Built once: the editor reads it on every view (issue 21).
_PICKER_ROWS = (
    select(WhatsAppTemplate)
    .where(
        WhatsAppTemplate.organization_id == bindparam("organization_id"),
        WhatsAppTemplate.deleted_at.is_(None),
    )
    .order_by(WhatsAppTemplate.name, WhatsAppTemplate.language, WhatsAppTemplate.id)
    .limit(PICKER_MAX)
)


def step_catalog(session: Session, organization_id: int) -> list[dict]:
    """The editor's templates by name then language (a sandbox organization that never
    synced gets the built-in catalog first: the caller commits)."""
    return picker_catalog(session, organization_id)[0]


def picker_catalog(session: Session, organization_id: int) -> tuple[list[dict], bool]:
    """step_catalog, and whether the sandbox's built-in catalog was written (then the caller
    commits; otherwise nothing was, and a commit would only expire what the page loaded)."""
    arguments = {"organization_id": organization_id}
    rows = session.scalars(_PICKER_ROWS, arguments).all()
    # A catalog with a live template is not a sandbox's that never synced: no more to ask.
    synced = not rows and ensure_sandbox_catalog(session, organization_id, utcnow()) is not None
    if synced:
        rows = session.scalars(_PICKER_ROWS, arguments).all()
    return [picker_entry(row) for row in rows], synced
