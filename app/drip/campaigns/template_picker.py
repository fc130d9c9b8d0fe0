"""What the step editor offers to pick: the organization's catalog templates (deleted ones left
out), each with what its step must fill in (body parameters with where they sit, a header
parameter, URL-button parameters) and whether it may be picked (REJECTED and DISABLED may not)
or used as a text step's fallback (body parameters only)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.drip.campaigns.template_preview import (
    MEDIA_HEADERS,
    header_format,
    header_needs_parameter,
    parameter_slots,
    url_buttons,
)
from app.drip.templates import REFUSED_AT_SAVE, ensure_sandbox_catalog, list_templates
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


def step_catalog(session: Session, organization_id: int) -> list[dict]:
    """The editor's templates by name then language (a sandbox organization that never
    synced gets the built-in catalog first: the caller commits)."""
    ensure_sandbox_catalog(session, organization_id, utcnow())
    page = list_templates(session, organization_id, per_page=PICKER_MAX)
    return [picker_entry(row) for row in page.templates]
