"""The columns every source of a contact's timeline selects (app.drip.contacts.timeline),
apart so that the sources kept in other modules (timeline_goals) build the same ones."""

from __future__ import annotations

from sqlalchemy import Integer, String, Text, cast, literal_column, null

# Ties at one instant: a higher rank happened later (and is listed first).
RANK = {
    "enrolled": 0,
    "message": 1,
    "status:sent": 2,
    "status:delivered": 3,
    "status:read": 4,
    "status:failed": 5,
    "click": 6,
    "reply": 7,
    # An event, then the conversion it made, then the stop that conversion causes.
    "event": 8,
    "converted": 9,
    "opt_out": 10,
    "stopped": 11,
    "completed": 12,
}
ENTRY_COLUMNS = ("at", "kind", "rank", "campaign_id", "step_id", "text", "status", "code", "ref")


def entry_columns(at, kind: str, *, rank: str | None = None, campaign_id=None, step_id=None,
             text=None, status=None, code=None, ref=None) -> list:  # fmt: skip
    """One source's columns of ENTRY_COLUMNS; absent ones are typed NULLs (PostgreSQL needs
    one type per column of a UNION)."""
    return [
        at.label("at"),
        literal_column(f"'{kind}'", String).label("kind"),
        literal_column(str(RANK[rank or kind]), Integer).label("rank"),
        (campaign_id if campaign_id is not None else cast(null(), Integer)).label("campaign_id"),
        (step_id if step_id is not None else cast(null(), Integer)).label("step_id"),
        (text if text is not None else cast(null(), Text)).label("text"),
        (status if status is not None else cast(null(), String)).label("status"),
        (code if code is not None else cast(null(), String)).label("code"),
        ref.label("ref"),
    ]
