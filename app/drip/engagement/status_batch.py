"""A webhook batch of statuses of known messages, applied in a fixed number of statements.

- apply_known(session, organization_id, updates, now) -> ({(wamid, status): APPLIED}, wamids
  of the organization's logs): what app.drip.engagement.apply.apply_statuses does for the
  statuses whose wamid is a log's; the rest (settling an ambiguous send, a retired wamid,
  not ours) go one by one through apply_status.

The same steps as apply_status, on plain rows instead of ORM objects: the logs are read (and
locked, in id order) in one SELECT of the columns a status reads, the (wamid, status) events
recorded in one INSERT ... ON CONFLICT DO NOTHING, merged in Python (statuses.merge: the same
order-independent rules) and written back in one UPDATE. Loading 25 logs as ORM objects and
flushing them one UPDATE each cost about half of a webhook request's CPU (issue 21,
bench/webhook_cpu.py); an UPDATE ... FROM unnest() also runs the logs' statement-level rollup
triggers once per batch instead of once per log (app.drip.sql.rows).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache, lru_cache
from operator import attrgetter
from types import SimpleNamespace

from sqlalchemy import bindparam, column, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app.drip.engagement import statuses as message_status
from app.drip.engagement.costs import price_logs
from app.drip.engagement.statuses import Failure
from app.drip.enrollment import branching_step_ids, rejudge_branches
from app.drip.sql import as_utc, insert_many_once
from app.models import DripEnrollment, DripMessageLog, WhatsAppStatusEvent, utcnow
from app.whatsapp import StatusUpdate

APPLIED = "applied"
# Statuses that can decide a branch: a read, or a failure that ends enrollments (which undoes
# a branch taken after it). Sent and delivered never do.
BRANCHING_STATUSES = ("read", "failed")

_LOGS = DripMessageLog.__table__
_EVENTS = WhatsAppStatusEvent.__table__
# What merge(), price_logs() and apply_failure() write on a log: written back when changed.
_MERGED = (
    "status",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "error_code",
    "error_message",
    "pricing_billable",
    "pricing_model",
    "pricing_type",
    "pricing_category",
    "market",
    "cost",
    "currency",
)
# ... and what they read besides.
_READ = ("id", "organization_id", "enrollment_id", "step_id", "contact_id", "wamid", "created_at")
_merged = attrgetter(*_MERGED)
# Its columns sent as arrays; organization_id and received_at are the same for the batch.
_EVENT_ARRAYS = (
    "message_log_id",
    "wamid",
    "status",
    "occurred_at",
    "message_created_at",
    "error_code",
    "error_title",
)


def apply_known(
    session: Session, organization_id: int, updates: list[StatusUpdate], now: datetime | None
) -> tuple[dict, set[str]]:
    """Apply the statuses (all of tracked kinds) whose wamid is one of the organization's logs;
    ({(wamid, status): APPLIED} for the ones recorded now, the wamids found)."""
    logs = _locked_logs(session, organization_id, sorted({u.wamid for u in updates}))
    rows, seen = [], set()
    for update_ in updates:
        key = (update_.wamid, update_.status)
        if update_.wamid not in logs or key in seen:
            continue
        seen.add(key)
        failure = Failure.from_errors(update_.errors) if update_.status == "failed" else None
        rows.append((update_, failure, as_utc(update_.timestamp)))
    recorded = _record_events(
        session,
        [message_status.event_row(logs[u.wamid], u.wamid, u.status, at, f) for u, f, at in rows],
    )
    before = {log.id: _merged(log) for log in logs.values()}
    outcomes, priced, judged = {}, [], []
    for update_, failure, at in rows:
        if (organization_id, update_.wamid, update_.status) not in recorded:
            continue
        log = logs[update_.wamid]
        message_status.merge(log, update_.status, at, failure)
        priced.append((log, update_))
        if failure is not None:
            # What it ends and the replies it judges again read the logs merged so far, as
            # the ORM's autoflush showed them to apply_status.
            _write_back(session, logs.values(), before)
            message_status.apply_failure(session, log, failure, at)
        if update_.status in BRANCHING_STATUSES:
            judged.append((log, update_.status))
        outcomes[(update_.wamid, update_.status)] = APPLIED
    price_logs(session, organization_id, priced)  # one rate-card load for the batch
    _write_back(session, logs.values(), before)
    if judged:
        judge_branches(session, organization_id, judged, now or utcnow())
    return outcomes, set(logs)


def judge_branches(session: Session, organization_id: int, changed: list, now: datetime):
    """Decide again the branches these statuses may settle: a read, on its own message's
    enrollment; a failure, on every enrollment of its contact (the failure may end them, which
    undoes a branch taken after it). Nothing at all for an organization without branches."""
    branching = branching_step_ids(session, organization_id)
    if not branching:
        return
    enrollments = {log.enrollment_id for log, status in changed if log.step_id in branching}
    contacts = {log.contact_id for log, status in changed if status == "failed"}
    rejudge_branches(
        session,
        or_(DripEnrollment.id.in_(enrollments), DripEnrollment.contact_id.in_(contacts)),
        now=now,
    )


def _locked_logs(session: Session, organization_id: int, wamids: list[str]) -> dict:
    """The organization's logs with these wamids as plain mutable rows, locked in id order (two
    batches touching the same logs never deadlock), by wamid."""
    if not wamids:
        return {}
    rows = session.execute(_statement("logs"), {"org": organization_id, "wamids": wamids})
    names = tuple(rows.keys())
    logs = (SimpleNamespace(**dict(zip(names, row, strict=True))) for row in rows)
    return {log.wamid: log for log in logs}


def _record_events(session: Session, rows: list[dict]) -> set[tuple]:
    """Insert the (wamid, status) events not recorded yet; (organization id, wamid, status)
    of the ones that went in. On PostgreSQL one INSERT ... SELECT FROM unnest() of one array
    per column: its text is the same for any batch, where a multi-row VALUES is new SQL for
    psycopg to parse every time (its cache skips long statements)."""
    if not rows:
        return set()
    if session.get_bind().dialect.name != "postgresql":
        keys = insert_many_once(session, WhatsAppStatusEvent, rows, message_status.EVENT_KEY)
        return {key[:3] for key in keys}
    params = {f"a_{name}": [row[name] for row in rows] for name in _EVENT_ARRAYS}
    params |= {"org": rows[0]["organization_id"], "now": utcnow()}  # one organization's
    found = session.execute(_statement("events"), params)
    return {tuple(row) for row in found}


def _write_back(session: Session, logs, before: dict) -> None:
    """One UPDATE of the logs whose merged columns changed since `before` (which it moves on),
    of the columns that changed (a delivered batch writes status and delivered_at: fewer
    arrays to send); ORM copies of them already in the session re-read what it wrote."""
    changed = [(log, _merged(log)) for log in logs]
    changed = [(log, merged) for log, merged in changed if merged != before[log.id]]
    if not changed:
        return
    columns = tuple(
        name
        for i, name in enumerate(_MERGED)
        if any(merged[i] != before[log.id][i] for log, merged in changed)
    )
    statement = _update_statement(session.get_bind().dialect.name, columns)
    names, now = ("id", *columns), utcnow()
    if session.get_bind().dialect.name == "postgresql":
        params = {f"a_{name}": [getattr(log, name) for log, _ in changed] for name in names}
        session.execute(statement, {**params, "now": now})
    else:  # SQLite: an executemany (its row triggers run per row whatever the statement)
        rows = [{f"b_{n}": getattr(log, n) for n in names} | {"now": now} for log, _ in changed]
        session.execute(statement, rows)
    for log, merged in changed:
        before[log.id] = merged
        loaded = session.identity_map.get(identity_key(DripMessageLog, log.id))
        if loaded is not None:
            session.expire(loaded)


@cache
def _statement(kind: str):
    """The batch's statements, built once: building and coercing them anew for each delivery
    cost more CPU than running them."""
    if kind == "logs":
        return (
            select(*(_LOGS.c[name] for name in _READ + _MERGED))
            .where(
                _LOGS.c.organization_id == bindparam("org"),
                _LOGS.c.wamid.in_(bindparam("wamids", expanding=True)),
            )
            .order_by(_LOGS.c.id)
            .with_for_update()
        )
    source = _unnest(_EVENTS, _EVENT_ARRAYS, "event_rows")
    scalars = (
        bindparam("org", type_=_EVENTS.c.organization_id.type),
        bindparam("now", type_=_EVENTS.c.received_at.type),
    )
    return (
        postgresql_insert(_EVENTS)
        .from_select(
            [*_EVENT_ARRAYS, "organization_id", "received_at"],
            select(*(source.c[name] for name in _EVENT_ARRAYS), *scalars),
        )
        .on_conflict_do_nothing(index_elements=list(message_status.EVENT_KEY))
        .returning(_EVENTS.c.organization_id, _EVENTS.c.wamid, _EVENTS.c.status)
    )


@lru_cache(maxsize=64)
def _update_statement(dialect: str, columns: tuple[str, ...]):
    """UPDATE of these columns of the logs: FROM unnest() on PostgreSQL, an executemany's
    statement on SQLite. A few combinations in practice (one per kind of status)."""
    now = bindparam("now", type_=_LOGS.c.updated_at.type)
    if dialect == "postgresql":
        source = _unnest(_LOGS, ("id", *columns), "log_rows")
        return (
            update(_LOGS)
            .where(_LOGS.c.id == source.c.id)
            .values(updated_at=now, **{name: source.c[name] for name in columns})
        )
    return (
        update(_LOGS)
        .where(_LOGS.c.id == bindparam("b_id", type_=_LOGS.c.id.type))
        .values(
            updated_at=now,
            **{n: bindparam(f"b_{n}", type_=_LOGS.c[n].type) for n in columns},
        )
    )


def _unnest(table, names: tuple, alias: str):
    """unnest() of one array parameter a_<name> per column, as a table of those columns."""
    arrays = [bindparam(f"a_{name}", type_=ARRAY(table.c[name].type)) for name in names]
    columns = (column(name, table.c[name].type) for name in names)
    return func.unnest(*arrays).table_valued(*columns).render_derived(name=alias)
