"""The webhook sweeper: recorded deliveries whose application failed (or whose request died)
are applied again, each in its own transaction, so one bad delivery never holds back the rest.
The transactions are the job's; what to apply and how is app.drip.engagement's (and
app.drip.templates' for template updates)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from app.drip import engagement, templates

log = logging.getLogger(__name__)


def sweep_webhook_events(
    session: Session, now: datetime, limit: int = engagement.SWEEP_LIMIT
) -> dict:
    ids = engagement.unapplied_deliveries(session, now, limit)
    session.commit()
    applied = failed = 0
    for event_id in ids:
        try:
            event = engagement.lock_unapplied(session, event_id)
            if event is None:  # applied meanwhile, or another sweeper holds it
                session.rollback()
                continue
            templates.apply_recorded(session, event, now)
            session.commit()
            applied += 1
        except Exception as exc:  # recorded; tried again by the next sweep
            session.rollback()
            log.warning("webhook event %s failed to apply: %s", event_id, exc)
            engagement.mark_failed(session, event_id, exc)
            session.commit()
            failed += 1
    return {"applied": applied, "failed": failed}
