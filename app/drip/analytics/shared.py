"""Reads that the reports of one page share. The dashboard builds the funnel, engagement,
cohorts, time series and lift of one campaign, and each report on its own loads the campaign,
its clock, its steps and some of the same totals: inside `reads_shared(session)` each read
marked `@shared` runs once per set of arguments, and the later calls get the first answer.

Only for a page that reads and does not write in between (the answers are not refreshed), and
callers treat the answers as read-only: they are the same objects for every report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

from sqlalchemy.orm import Session

from app.drip.scope import get_scoped
from app.models import DripCampaign

P = ParamSpec("P")
T = TypeVar("T")
_KEY = "drip.analytics.shared_reads"


@contextmanager
def reads_shared(session: Session) -> Iterator[None]:
    """Within: each `@shared` read with the same arguments runs once."""
    outer = session.info.get(_KEY)
    if outer is None:
        session.info[_KEY] = {}
    try:
        yield
    finally:
        if outer is None:
            session.info.pop(_KEY, None)


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def shared(read: Callable[P, T]) -> Callable[P, T]:
    """A read (session first, then hashable arguments or lists) that `reads_shared` shares."""

    @wraps(read)
    def wrapper(session: Session, *args):
        answers = session.info.get(_KEY)
        if answers is None:
            return read(session, *args)
        key = (read, *map(_hashable, args))
        if key not in answers:
            answers[key] = read(session, *args)
        return answers[key]

    return wrapper


@shared
def campaign(session: Session, organization_id: int, campaign_id: int) -> DripCampaign:
    """The organization's campaign, or NotFound."""
    return get_scoped(session, DripCampaign, organization_id, campaign_id)
