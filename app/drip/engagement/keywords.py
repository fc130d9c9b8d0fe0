"""Opt-out keywords: the defaults plus the organization's own, and the reasons an opt-out
is recorded with."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Organization

DEFAULT_KEYWORDS = ("STOP", "UNSUBSCRIBE", "CANCEL")


REASON_KEYWORD = "keyword"


REASON_META_OPT_OUT = "meta_131050"


REASON_USER_PREFERENCES = "meta_user_preferences"


def normalized(word: str | None) -> str:
    """A keyword as it is compared: trimmed, case-folded."""
    return (word or "").strip().casefold()


def organization_keywords(session: Session, organization_id: int) -> frozenset[str]:
    """The default opt-out keywords plus the organization's own, normalized."""
    extra = session.scalar(
        select(Organization.opt_out_keywords).where(Organization.id == organization_id)
    )
    words = [*DEFAULT_KEYWORDS, *(w for w in extra or () if isinstance(w, str))]
    return frozenset(normalized(w) for w in words if normalized(w))


def is_opt_out(candidates: Iterable[str | None], keywords: frozenset[str]) -> bool:
    """Whether any of the texts (message text, button payload, button title) is a keyword."""
    return any(normalized(text) in keywords for text in candidates if text)
