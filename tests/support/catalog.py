"""Catalog templates for tests whose steps send templates: a step's template must be in the
organization's catalog and APPROVED, or its enrollments are held (nothing is sent)."""

from __future__ import annotations

import zlib

from app.models import WhatsAppTemplate, utcnow


def add_template(
    session,
    organization_id: int,
    name: str,
    language: str = "en_US",
    *,
    category: str = "MARKETING",
    status: str = "APPROVED",
    parameters: list[str] | None = None,
    parameter_format: str = "positional",
    body_text: str | None = None,
    header: dict | None = None,
    buttons: list | None = None,
    meta_id: str | None = None,
) -> WhatsAppTemplate:
    """A catalog row as a sync would write it (positional {{1}}.. body by default). No commit."""
    parameters = list(parameters or [])
    if body_text is None:
        body_text = " ".join(["Hello"] + [f"{{{{{p}}}}}" for p in parameters])
    now = utcnow()
    row = WhatsAppTemplate(
        organization_id=organization_id,
        meta_id=meta_id or meta_id_of(name),
        name=name,
        language=language,
        category=category,
        status=status,
        quality_score="GREEN",
        parameter_format=parameter_format,
        parameters=parameters,
        body_text=body_text,
        header=header,
        buttons=buttons,
        synced_at=now,
        status_changed_at=now,
    )
    session.add(row)
    session.flush()
    return row


def meta_id_of(name: str) -> str:
    """Meta's template id of add_template's rows (numeric, as Meta's; the fake's ids alike)."""
    return str(zlib.crc32(name.encode()))
