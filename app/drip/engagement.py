"""Applying what comes back from WhatsApp (statuses, contacts' messages) to message logs,
enrollments and contacts. Real webhooks and the sandbox provider both come through here.

Interface (bodies being written):
- StatusUpdate, InboundMessageEvent: the parsed events
- apply_status(session, organization_id, update) -> str
- apply_inbound(session, organization_id, event) -> str
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class StatusUpdate:
    wamid: str
    status: str  # sent | delivered | read | failed
    timestamp: datetime
    recipient: str | None = None
    callback_data: str | None = None  # "log=<message log id>" as the processor sent it
    errors: list[dict] = field(default_factory=list)  # [{"code": int, "title": str, ...}]


@dataclass(frozen=True)
class InboundMessageEvent:
    message_id: str
    from_phone: str  # digits as Meta sends them (no '+')
    timestamp: datetime
    message_type: str  # text | button | interactive | ...
    text: str | None = None
    button_payload: str | None = None
    context_wamid: str | None = None
    profile_name: str | None = None
