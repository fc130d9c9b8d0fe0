"""Template sends Meta refused because of the template itself (132015 paused, 132016 disabled,
132001 unknown in that language): the catalog learns the template's state and the step is held.

The refused message is not failed: its log stays pending with a retry time (as a retryable
error's), its enrollment is held on the template (app.drip.templates.hold_enrollments) and due
again at once, and the step's other due enrollments are held with it, so nothing more of that
step goes out. When the template is approved again (a status webhook or a sync),
release_holds frees them and the next pass sends the same log again.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.drip import templates
from app.drip.sending.messages import Outgoing
from app.drip.sql import as_utc, id_in
from app.models import DripEnrollment, WhatsAppTemplate
from app.whatsapp import SendError

# Meta's code -> the catalog status it tells (None: Meta does not know the template).
STATUS_BY_CODE: dict[str, str | None] = {"132015": "PAUSED", "132016": "DISABLED", "132001": None}
HELD_NOTE = "; the step's messages wait until the template is approved again"


def is_template_refusal(message: Outgoing, error: SendError) -> bool:
    return message.kind == "template" and error.code in STATUS_BY_CODE


class TemplateRefusals:
    """Collects a batch's refused template sends; `flush` updates the catalog and holds."""

    def __init__(self, session: Session, now: datetime):
        self.session, self.now = session, now
        # (organization, name, language) -> [(message, error)]
        self._refused: dict[tuple[int, str, str], list[tuple[Outgoing, SendError]]] = defaultdict(
            list
        )

    def add(self, message: Outgoing, error: SendError) -> None:
        key = (message.organization_id, message.template_name, message.template_language)
        self._refused[key].append((message, error))

    def flush(self) -> int:
        """Update the templates and hold their enrollments; how many enrollments were held."""
        held = 0
        for (org_id, name, language), refused in self._refused.items():
            row = templates.find_template(self.session, org_id, name, language)
            if row is not None:
                self._learn(row, refused[-1][1])
            template_id = row.id if row is not None else None  # None: held by step name
            refused_ids = [message.enrollment_id for message, _ in refused]
            held += templates.hold_enrollments(self.session, refused_ids, template_id, self.now)
            # Leased by the claim: due again now, so a release sends it in the next pass.
            self.session.execute(
                update(DripEnrollment)
                .where(id_in(self.session, DripEnrollment.id, refused_ids))
                .values(next_send_at=self.now)
                .execution_options(synchronize_session=False)
            )
            steps = {message.step_id for message, _ in refused}
            held += templates.hold_enrollments(
                self.session, self._due_at(org_id, steps), template_id, self.now
            )
        self._refused.clear()
        return held

    def _learn(self, row: WhatsAppTemplate, error: SendError) -> None:
        """What Meta's refusal says about the template, unless a newer change is stored."""
        if row.status_changed_at is not None and as_utc(row.status_changed_at) > self.now:
            return
        status = STATUS_BY_CODE[error.code]
        if status is None:
            row.deleted_at = row.deleted_at or self.now  # the row stays: steps name it
        else:
            row.status = status
        row.reason = error.message or error.title
        row.status_changed_at = self.now

    def _due_at(self, organization_id: int, step_ids: set[int]) -> list[int]:
        """The step's other enrollments due now, not held yet (leased ones are in flight: their
        own answer decides)."""
        return list(
            self.session.scalars(
                select(DripEnrollment.id).where(
                    DripEnrollment.organization_id == organization_id,
                    DripEnrollment.current_step_id.in_(step_ids),
                    DripEnrollment.status == "active",
                    DripEnrollment.next_send_at <= self.now,
                    DripEnrollment.held_at.is_(None),
                )
            )
        )
