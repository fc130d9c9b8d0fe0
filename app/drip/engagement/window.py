"""Meta's customer service window: free text reaches a contact only within 24 hours of their
last message to the business (Contact.last_inbound_at, set by every inbound message). A
template does not open it. The processor (what a step sends) and the activation report (who
would be outside at send time) both ask here, so they never disagree at the boundary."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.drip.sql import as_utc

SERVICE_WINDOW = timedelta(hours=24)


def window_open(last_inbound_at: datetime | None, at: datetime) -> bool:
    """Whether a contact whose last message came at `last_inbound_at` (None: never) may get
    free text at `at`. Exactly 24 hours later it is closed."""
    return last_inbound_at is not None and at - as_utc(last_inbound_at) < SERVICE_WINDOW
