"""A processing pass with its transactions: claim and commit, send outside any transaction
(at each phone number's rate, many at once), record and commit; batch after batch.

Called by the recurring job, the cron endpoint and the benchmarks; the domain steps are in
app.drip.sending.processor and app.drip.sending.outcomes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from app.drip import sending
from app.extensions import db
from app.models import WhatsAppAccount, utcnow
from app.tasks.in_flight import InFlight
from app.tasks.sender import Route, sender_for_app
from app.whatsapp import AllowedHosts, CloudApiClient, SandboxProvider

log = logging.getLogger(__name__)


@dataclass
class PassStats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    ambiguous: int = 0
    completed: int = 0
    parked: int = 0
    reconciled: int = 0
    unsubscribed: int = 0
    paused_accounts: int = 0
    # Enrollments held on a template that cannot be sent: at the claim (its status in the
    # catalog), or when Meta refused it (app.drip.sending.refusals).
    held: int = 0
    outside_window: int = 0  # free text due outside the 24-hour window, no fallback: ended
    batches: int = 0
    # The pass stopped on its time budget (or its batch limit) with more due: worth handing on
    # to another pass at once rather than waiting for the next interval.
    more_due: bool = False


def routes_for(session, organization_ids: set[int]) -> dict[int, Route]:
    """The Cloud API client for organizations with a WhatsApp account, else the sandbox."""
    box = current_app.extensions["drip_secret_box"]
    allowed = AllowedHosts(current_app.config["WHATSAPP_API_ALLOWED_HOSTS"])
    accounts = {
        a.organization_id: a
        for a in session.scalars(
            select(WhatsAppAccount).where(WhatsAppAccount.organization_id.in_(organization_ids))
        )
    }
    routes = {}
    for org_id in organization_ids:
        account = accounts.get(org_id)
        if account is None:
            routes[org_id] = Route(SandboxProvider(), f"sandbox:{org_id}", 0)
            continue
        client = CloudApiClient(
            account.api_base_url,
            account.api_version,
            account.phone_number_id,
            box.decrypt(account.access_token_encrypted),
            read_timeout=current_app.config["WHATSAPP_READ_TIMEOUT"],
            # Checked at every send, not only when saved: an account saved before the rule, or
            # since the operator narrowed the list, is paused and nothing goes to its address.
            allowed_hosts=allowed,
        )
        routes[org_id] = Route(client, account.phone_number_id, account.rate_limit_per_second)
    return routes


def run_processing_pass(
    now: datetime | None = None,
    *,
    batch_size: int | None = None,
    max_batches: int | None = None,
    time_budget: float | None = None,
    on_backlog: Callable[[], object] | None = None,
) -> dict:
    """Send what is due, batch after batch, until nothing is due or the budget is spent.

    At most two batches are out at once; outcomes are recorded as they finish, a batch's
    worth at a time, and the next batch is claimed as soon as there is room for it (leaving
    out the organizations whose number has its share out: app.tasks.in_flight).

    on_backlog is called once, when a claim comes back full (more may be due than this pass
    will send soon): the job then asks for another pass beside this one."""
    config = current_app.config
    batch_size = batch_size or config["PROCESSOR_BATCH_SIZE"]
    time_budget = (
        time_budget if time_budget is not None else config.get("PROCESSOR_TIME_BUDGET", 25)
    )
    started = time.monotonic()
    stats = PassStats()
    sender = sender_for_app()
    session = db.session
    flight = InFlight()
    # Messages Meta held back for the per-user marketing cap (131049 status webhooks): back to
    # their step for a retry a day later (issue 17), before this pass claims what is due.
    sending.schedule_marketing_cap_retries(session, now or utcnow())
    session.commit()
    while True:
        # Every pass claims at least once: a budget spent before its first claim would hand
        # on forever without sending.
        if stats.batches and (
            (max_batches is not None and stats.batches >= max_batches)
            or time.monotonic() - started > time_budget
        ):
            stats.more_due = True
            break
        if flight.out > batch_size:  # no room for another batch yet
            flight.collect(wait=1.0)
            _record_some(session, flight, now, stats, batch_size)
            continue
        full = flight.full()
        claim = sending.claim(
            session, now or utcnow(), batch_size, config.get("PUBLIC_BASE_URL"), skip=full
        )
        session.commit()
        _count_claim(stats, claim)
        if on_backlog is not None and claim.claimed == batch_size:
            on_backlog()
            on_backlog = None
        if claim.outgoing:
            routes = routes_for(session, {m.organization_id for m in claim.outgoing})
            session.commit()  # end the read transaction before the network calls
            flight.add(sender.submit(claim.outgoing, routes), claim.outgoing, routes)
        flight.collect()
        _record_some(session, flight, now, stats, batch_size)
        if claim.claimed < batch_size:
            if not full:
                break  # nothing else is due
            # Only organizations with their share out have more due: wait for their sends.
            flight.wait_for_room(full, started + time_budget)
            _record_some(session, flight, now, stats, batch_size)
    flight.wait_all()
    _record_some(session, flight, now, stats, 1)
    return asdict(stats)


def _count_claim(stats: PassStats, claim: sending.Claim) -> None:
    stats.batches += 1
    stats.claimed += claim.claimed
    stats.parked += claim.parked
    stats.reconciled += claim.reconciled
    stats.unsubscribed += claim.unsubscribed
    stats.held += claim.held
    stats.outside_window += claim.outside_window


def _record_some(session, flight: InFlight, now: datetime | None, stats, at_least: int) -> None:
    """Record the finished outcomes once there are at least `at_least` (or all are done)."""
    if not flight.finished or (len(flight.finished) < at_least and flight.out):
        return
    results, attempts = flight.take()
    counts = sending.record(session, results, now or utcnow(), attempts)
    sending.note_account_health(session, results, now or utcnow())  # the failure banner
    session.commit()
    for name, value in asdict(counts).items():
        setattr(stats, name, getattr(stats, name) + value)
