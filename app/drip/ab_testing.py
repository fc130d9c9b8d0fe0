"""A/B tests of step messages. The hooks below are what the sending pipeline calls; the A/B
issue fills them (assignment, counters, auto-winner)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session


def variant_for_send(session: Session, step_id: int, contact_id: int) -> tuple[int, str] | None:
    """(variant id, message text) when the step has a running test, else None (send the step)."""
    return None


def check_for_winners(session: Session, now: datetime) -> int:
    """Declare winners of running tests that have reached a decision; how many were declared."""
    return 0
