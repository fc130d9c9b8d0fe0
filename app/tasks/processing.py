"""A processing pass with its transactions: claim and commit, send outside any transaction
(at each phone number's rate, many at once), record and commit; batch after batch.

Called by the recurring job, the cron endpoint and the benchmarks; the domain steps are in
app.drip.sending.processor and app.drip.sending.outcomes.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime

from flask import current_app
from redis import Redis
from sqlalchemy import select

from app.drip import sending
from app.extensions import db
from app.models import WhatsAppAccount, utcnow
from app.whatsapp import (
    AllowedHosts,
    CloudApiClient,
    ErrorKind,
    Provider,
    RateLimiter,
    SandboxProvider,
    SendError,
    SendResult,
)

log = logging.getLogger(__name__)


@dataclass
class Route:
    """How one organization's messages go out."""

    provider: Provider
    key: str  # rate-limit key: the phone number
    rate: int  # messages per second; 0 = no limit (the sandbox)


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


class Sender:
    """The process-wide pieces of sending: a thread pool and the rate limiter."""

    def __init__(self, concurrency: int, redis: Redis | None):
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="drip-send")
        self.limiter = RateLimiter(redis)

    def submit(self, messages, routes: dict[int, Route]) -> list[Future]:
        """Start sending; each future gives (message, SendResult or SendError)."""
        return [
            self.pool.submit(lambda m: (m, self._send(m, routes[m.organization_id])), message)
            for message in messages
        ]

    def _send(self, message: sending.Outgoing, route: Route) -> SendResult | SendError:
        try:
            self.limiter.acquire(route.key, route.rate)
        # Nothing has gone out yet: a retry is safe. Raised, it would fail the whole batch's
        # recording, leaving its sent messages unrecorded and its unsent ones parked for 24 h.
        except Exception as exc:
            log.exception("rate limiter failed before sending log %s", message.log_id)
            return SendError(
                ErrorKind.RETRY,
                "Could not take a sending slot (the message was not sent); retrying",
                title=type(exc).__name__,
            )
        try:
            if message.kind == "template":
                return route.provider.send_template(
                    message.to,
                    message.template_name,
                    message.template_language,
                    message.template_parameters,
                    message.callback_data,
                    components=message.template_components or None,
                    user_id=message.recipient_user_id,
                )
            return route.provider.send_text(
                message.to, message.body, message.callback_data, user_id=message.recipient_user_id
            )
        except SendError as error:
            return error
        # A bug must not lose track of a message that may have gone out.
        except Exception as exc:
            log.exception("unexpected error sending log %s", message.log_id)
            return SendError(ErrorKind.AMBIGUOUS, f"Unexpected error: {exc.__class__.__name__}")


_senders: dict[tuple, Sender] = {}


def sender_for_app() -> Sender:
    config = current_app.config
    key = (config.get("REDIS_URL"), config["SEND_CONCURRENCY"])
    if key not in _senders:
        # Timeouts: a Redis that stops answering must fail fast (the limiter then degrades),
        # not hold every send.
        redis = (
            Redis.from_url(key[0], socket_connect_timeout=2, socket_timeout=2) if key[0] else None
        )
        _senders[key] = Sender(key[1], redis)
    return _senders[key]


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
) -> dict:
    """Send what is due, batch after batch, until nothing is due or the budget is spent."""
    config = current_app.config
    batch_size = batch_size or config["PROCESSOR_BATCH_SIZE"]
    time_budget = (
        time_budget if time_budget is not None else config.get("PROCESSOR_TIME_BUDGET", 25)
    )
    started = time.monotonic()
    stats = PassStats()
    sender = sender_for_app()
    session = db.session
    in_flight: tuple[list[Future], dict[int, int]] | None = None
    # Messages Meta held back for the per-user marketing cap (131049 status webhooks): back to
    # their step for a retry a day later (issue 17), before this pass claims what is due.
    sending.schedule_marketing_cap_retries(session, now or utcnow())
    session.commit()
    while max_batches is None or stats.batches < max_batches:
        claim = sending.claim(session, now or utcnow(), batch_size, config.get("PUBLIC_BASE_URL"))
        session.commit()
        stats.batches += 1
        stats.claimed += claim.claimed
        stats.parked += claim.parked
        stats.reconciled += claim.reconciled
        stats.unsubscribed += claim.unsubscribed
        stats.held += claim.held
        stats.outside_window += claim.outside_window
        if claim.outgoing:
            routes = routes_for(session, {m.organization_id for m in claim.outgoing})
            session.commit()  # end the read transaction before the network calls
            # This batch goes out while the previous one is recorded.
            next_flight = (sender.submit(claim.outgoing, routes), _attempts(claim))
        else:
            next_flight = None
        if in_flight is not None:
            _record(session, in_flight, now, stats)
        in_flight = next_flight
        if claim.claimed < batch_size or time.monotonic() - started > time_budget:
            break
    if in_flight is not None:
        _record(session, in_flight, now, stats)
    return asdict(stats)


def _record(session, flight, now: datetime | None, stats: PassStats) -> None:
    futures, attempts = flight
    results = [future.result() for future in futures]
    counts = sending.record(session, results, now or utcnow(), attempts)
    sending.note_account_health(session, results, now or utcnow())  # the failure banner
    session.commit()
    for name, value in asdict(counts).items():
        setattr(stats, name, getattr(stats, name) + value)


def _attempts(claim: sending.Claim) -> dict[int, int]:
    return {m.log_id: m.attempts for m in claim.outgoing}
