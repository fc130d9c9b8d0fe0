"""The measured inputs of bench/capacity.py, in a scratch PostgreSQL schema (dropped after).

- A sample: `sends` contacts enrolled in campaigns of `sends_per_step` enrollments each (the
  workload's sends per campaign step and day, which is what the rollups' row count follows),
  one sent marketing message each spread over a day, then posted to the webhook in-process
  (Flask test client) as Meta reports them: sent, delivered (with conversation and pricing)
  and read, `statuses_per_delivery` a delivery; `reply_rate` of the contacts reply with a text.
  Rollups compacted, VACUUM ANALYZE; bytes per row = pg_total_relation_size / rows.
- CPU of the webhook per status and per reply: getrusage of this process while it posted
  (the app's Python only; PostgreSQL's CPU is in its own processes).
- Dropping a month: a table partitioned by month like the status events, a month filled with
  `drop_rows` rows, DETACH PARTITION + DROP TABLE timed, `drop_repeats` times.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import resource
import statistics
import time
from dataclasses import dataclass, field

from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app import create_app
from app.config import Config
from app.drip import accounts, analytics
from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.whatsapp.webhook import SIGNATURE_HEADER, signature_for
from bench.harness import PG
from tests.integration.enrollment_world import make_campaign
from tests.support.accounts import set_verified_account
from tests.support.scratch import drop_schema, scratch_schema

SCHEMA = "bench_capacity"
SECRET_KEY = "capacity-bench-secret-key"
APP_SECRET = "capacity_app_secret"
PHONE_ID = "100000000000077"
BUSINESS_PHONE = "15550100077"
ROUTE = "/api/webhooks/whatsapp"
ROLLUPS = ("drip_activity_rollups", "drip_enrollment_rollups")
# Tables measured one by one (rollups are the sum of ROLLUPS).
MEASURED = (
    "drip_message_logs",
    "whatsapp_status_events",
    "webhook_events",
    "inbound_messages",
    "drip_enrollments",
    "contacts",
)


@dataclass
class Measured:
    bytes_per_row: dict[str, float]  # as written, after VACUUM
    compact_bytes_per_row: dict[str, float]  # after VACUUM FULL
    sample: dict[str, str]  # table -> "bytes / rows" as measured
    rollup_rows_per_send: float
    status_ms: float
    reply_ms: float
    drop_times_ms: list[tuple[float, float]] = field(default_factory=list)  # detach, drop
    drop_partition_bytes: float = 0

    def drop_median_ms(self, part: int | None = None) -> float:
        """Median of the detach (0), the drop (1) or both (None)."""
        return statistics.median(sum(t) if part is None else t[part] for t in self.drop_times_ms)


def measure(
    *,
    sends: int,
    sends_per_step: float,
    statuses_per_delivery: int,
    reply_rate: float,
    drop_rows: int,
    drop_repeats: int,
) -> Measured:
    url = scratch_schema(PG, SCHEMA)
    try:
        result = _sample(url, sends, sends_per_step, statuses_per_delivery, reply_rate)
        engine = _engine(url)
        try:
            times, size = _drop_month(engine, drop_rows, drop_repeats)
        finally:
            engine.dispose()
        result.drop_times_ms, result.drop_partition_bytes = times, size
        return result
    finally:
        drop_schema(PG, SCHEMA)


def _engine(url: str):
    return create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


def _sample(url, sends, sends_per_step, per_delivery, reply_rate) -> Measured:
    app = create_app(Config(secret_key=SECRET_KEY, database_url=url))
    with app.app_context():
        upgrade()
        session = db.session
        org = accounts.create_organization(session, "Capacity")
        set_verified_account(app, session, org, PHONE_ID, APP_SECRET)
        contact_ids = _contacts(session, org.id, sends)
        per_step = max(1, math.ceil(sends_per_step))
        for start in range(0, sends, per_step):
            name = f"Spring {start // per_step + 1}"
            campaign = make_campaign(session, org.id, steps=((0, "minutes"),), name=name)
            ids = contact_ids[start : start + per_step]
            enrollment.enroll(session, campaign, contact_ids=ids)
        _sent_logs(session)
        session.commit()
        logs = session.execute(
            text(
                "SELECT l.wamid, extract(epoch FROM l.sent_at)::bigint, c.phone, c.first_name"
                " FROM drip_message_logs l JOIN contacts c ON c.id = l.contact_id ORDER BY l.id"
            )
        ).all()
        db.engine.dispose()
        client = app.test_client()
        statuses = _status_bodies(logs, per_delivery)
        status_ms = _post(client, statuses) / (3 * len(logs))
        rng = random.Random(21)
        replies = [_reply_body(*row) for row in rng.sample(logs, round(len(logs) * reply_rate))]
        reply_ms = _post(client, replies) / max(len(replies), 1)
        analytics.compact_all(session, analytics.last_watermarks(session))
        session.commit()
        db.engine.dispose()
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            # As written: the logs' updates and the compaction's deletes leave dead rows
            # that VACUUM frees for later rows but does not give back; VACUUM FULL rewrites
            # them away (what a table that reuses its free space tends to).
            # Only this schema's tables: a bare VACUUM would take every schema's.
            tables = ", ".join((*MEASURED, *ROLLUPS))
            conn.execute(text(f"VACUUM ANALYZE {tables}"))
            written = _sizes(conn)
            conn.execute(text(f"VACUUM FULL {tables}"))
            compact = _sizes(conn)
    finally:
        engine.dispose()
    return Measured(
        bytes_per_row={t: b / max(n, 1) for t, (b, n) in written.items()},
        compact_bytes_per_row={t: b / max(n, 1) for t, (b, n) in compact.items()},
        sample={t: f"{b:,} B / {n:,} rows" for t, (b, n) in written.items()},
        rollup_rows_per_send=written["rollups"][1] / sends,
        status_ms=status_ms,
        reply_ms=reply_ms,
    )


def _sizes(conn) -> dict[str, tuple[int, int]]:
    """(bytes with indexes and toast, of all its partitions, rows) per table; the two rollup
    tables as one."""
    sizes = {
        t: tuple(
            conn.execute(
                # A partitioned table's own size is 0: its partitions hold the rows.
                text(
                    "SELECT coalesce((SELECT sum(pg_total_relation_size(relid))::bigint"
                    " FROM pg_partition_tree(CAST(:t AS regclass))),"
                    f" pg_total_relation_size(:t)), (SELECT count(*) FROM {t})"
                ),
                {"t": t},
            ).one()
        )
        for t in (*MEASURED, *ROLLUPS)
    }
    parts = [sizes.pop(t) for t in ROLLUPS]
    sizes["rollups"] = (sum(p[0] for p in parts), sum(p[1] for p in parts))
    return sizes


def _contacts(session, organization_id: int, count: int) -> list[int]:
    """Contacts with a name, a time zone and a few attributes, as an import leaves them."""
    attributes = json.dumps({"city": "Lisbon", "plan": "premium", "source": "spring-import"})
    return list(
        session.scalars(
            text(
                "INSERT INTO contacts (organization_id, phone, first_name, last_name, timezone,"
                " attributes, created_at, updated_at) SELECT :org,"
                " '+1202' || lpad(g::text, 7, '0'), 'Maria' || g, 'Fernandes', 'Europe/Lisbon',"
                " CAST(:attrs AS json), now(), now() FROM generate_series(1, :n) g RETURNING id"
            ),
            {"org": organization_id, "n": count, "attrs": attributes},
        )
    )


def _sent_logs(session) -> None:
    """One marketing template message per enrollment, sent over the day before the last two
    hours (its reads come in up to two hours later), with a wamid as long as Meta's."""
    session.execute(
        text(
            "INSERT INTO drip_message_logs (organization_id, enrollment_id, campaign_id,"
            " step_id, contact_id, status, wamid, attempts, sent_at, created_at, updated_at,"
            " category, template_name, outside_window)"
            " SELECT e.organization_id, e.id, e.campaign_id, e.current_step_id, e.contact_id,"
            " 'sent', 'wamid.HBgLMTIwMjU1NTAxMjMVAgARGBI' || upper(substr(md5(e.id::text), 1, 24))"
            " || 'A', 1, s.at, s.at, s.at, 'marketing', 'spring_sale', true"
            " FROM drip_enrollments e, LATERAL (SELECT now() - interval '26 hours'"
            "   + (e.id % 86400) * interval '1 second' AS at) s"
        )
    )
    session.execute(
        text(
            "UPDATE drip_enrollments e SET last_step_id = l.step_id, last_sent_at = l.sent_at,"
            " status = 'completed', completed_at = l.sent_at, next_send_at = NULL"
            " FROM drip_message_logs l WHERE l.enrollment_id = e.id"
        )
    )


def _signed(value: dict) -> tuple[bytes, str]:
    change = {"field": "messages", "value": value}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [change]}],
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    return body, signature_for(body, APP_SECRET)


def _value() -> dict:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": BUSINESS_PHONE, "phone_number_id": PHONE_ID},
    }


def _status_bodies(logs, per_delivery: int) -> list[tuple[bytes, str]]:
    """sent, then delivered 3 s later, then read after a lognormal delay (median 10 min)."""
    rng = random.Random(7)
    out = []
    for status in ("sent", "delivered", "read"):
        for i in range(0, len(logs), per_delivery):
            items = []
            for wamid, sent_at, phone, _ in logs[i : i + per_delivery]:
                at = sent_at + {"sent": 0, "delivered": 3}.get(status, 0)
                if status == "read":
                    at = sent_at + 3 + min(int(rng.lognormvariate(math.log(600), 1.5)), 7000)
                item = {
                    "id": wamid,
                    "status": status,
                    "timestamp": str(at),
                    "recipient_id": phone.lstrip("+"),
                }
                if status != "read":
                    item["conversation"] = {
                        "id": hashlib.md5(wamid.encode()).hexdigest(),
                        "origin": {"type": "marketing"},
                    }
                    item["pricing"] = {
                        "billable": True,
                        "pricing_model": "PMP",
                        "category": "marketing",
                        "type": "regular",
                    }
                items.append(item)
            out.append(_signed({**_value(), "statuses": items}))
    return out


def _reply_body(wamid: str, sent_at: int, phone: str, first_name: str) -> tuple[bytes, str]:
    digits = phone.lstrip("+")
    message = {
        "context": {"from": BUSINESS_PHONE, "id": wamid},
        "from": digits,
        "id": "wamid.HBgLMTIwMjU1NTAxMjMVAgASGBQz" + wamid[-25:],
        "timestamp": str(sent_at + 900),
        "type": "text",
        "text": {"body": "Yes please, tell me more about the spring offer!"},
    }
    contacts = [{"profile": {"name": f"{first_name} Fernandes"}, "wa_id": digits}]
    return _signed({**_value(), "contacts": contacts, "messages": [message]})


def _post(client, bodies: list[tuple[bytes, str]]) -> float:
    """Post each delivery; the CPU milliseconds this process spent on them all."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    for body, signature in bodies:
        response = client.post(
            ROUTE,
            data=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
        )
        if response.status_code != 200 or b'"deferred"' in response.data:
            raise SystemExit(f"webhook answered {response.status_code}: {response.data[:200]!r}")
    after = resource.getrusage(resource.RUSAGE_SELF)
    return 1000 * (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def _drop_month(engine, rows: int, repeats: int) -> tuple[list[tuple[float, float]], float]:
    """Times (ms) of DETACH PARTITION, then of DROP TABLE, of a month of `rows` rows like the status
    events (primary and unique keys carry the partition key, as PostgreSQL requires), from a
    table that keeps a month before it; and the bytes of one such month."""
    times, size = [], 0
    with engine.connect() as conn:
        conn.execute(
            text(
                "CREATE TABLE drop_probe (id bigserial, organization_id integer NOT NULL,"
                " message_log_id bigint, wamid varchar(128) NOT NULL, status varchar(16)"
                " NOT NULL, occurred_at timestamptz NOT NULL, error_code varchar(16),"
                " error_title text, received_at timestamptz NOT NULL,"
                " PRIMARY KEY (id, received_at),"
                " UNIQUE (organization_id, wamid, status, received_at))"
                " PARTITION BY RANGE (received_at)"
            )
        )
        conn.execute(text("CREATE INDEX ON drop_probe (message_log_id)"))
        conn.execute(_partition(0))
        for r in range(1, repeats + 1):
            conn.execute(_partition(r))
            conn.execute(
                text(
                    "INSERT INTO drop_probe (organization_id, message_log_id, wamid, status,"
                    " occurred_at, received_at) SELECT 1 + g % 100, g, 'wamid.HBgLMTIwMjU1NTAx'"
                    " || md5(g::text), (ARRAY['sent','delivered','read'])[1 + g % 3],"
                    " t, t FROM generate_series(1, :n) g, LATERAL (SELECT"
                    " CAST(:month AS timestamptz) + g * (interval '27 days' / :n) AS t) x"
                ),
                {"n": rows, "month": _month(r)},
            )
            conn.execute(text(f"VACUUM ANALYZE drop_probe_{r}"))
            size = conn.execute(text(f"SELECT pg_total_relation_size('drop_probe_{r}')")).scalar()
            started = time.perf_counter()
            conn.execute(text(f"ALTER TABLE drop_probe DETACH PARTITION drop_probe_{r}"))
            detached = time.perf_counter()
            conn.execute(text(f"DROP TABLE drop_probe_{r}"))
            dropped = time.perf_counter()
            times.append((1000 * (detached - started), 1000 * (dropped - detached)))
    return times, size


def _month(n: int) -> str:
    return f"{2020 + n // 12}-{1 + n % 12:02d}-01"


def _partition(n: int):
    return text(
        f"CREATE TABLE drop_probe_{n} PARTITION OF drop_probe"
        f" FOR VALUES FROM ('{_month(n)}') TO ('{_month(n + 1)}')"
    )
