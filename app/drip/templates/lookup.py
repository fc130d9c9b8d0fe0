"""Which catalog template a step names, and whether it may be sent or saved."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import WhatsAppTemplate

# Meta sends only APPROVED templates; any other status is a hold for the steps that use it.
SENDABLE_STATUSES = frozenset({"APPROVED"})
# A step may not be saved with these: Meta will not send them again without a new review.
REFUSED_AT_SAVE = frozenset({"REJECTED", "DISABLED"})


def find_template(
    session: Session, organization_id: int, name: str, language: str
) -> WhatsAppTemplate | None:
    """The organization's catalog row for (name, language), deleted at Meta or not."""
    return session.scalar(
        select(WhatsAppTemplate).where(
            WhatsAppTemplate.organization_id == organization_id,
            WhatsAppTemplate.name == name,
            WhatsAppTemplate.language == language,
        )
    )


def is_sendable(template: WhatsAppTemplate | None) -> bool:
    """Whether a send of this template can go to Meta now (not gone, approved)."""
    return (
        template is not None
        and template.deleted_at is None
        and template.status in SENDABLE_STATUSES
    )
