"""The data bench/load.py runs on, and the database side of its reconciliation.

- Organization "Load 1" (with the dashboard user and the demo's "New customer onboarding"
  history, app/drip/demo) has a campaign "Spring announcement" whose first message went out to
  every contact ten minutes ago: one message log each, status sent, wamid `wamid.LOAD.<id>`.
  The webhook stream reports those messages sent, delivered and read.
- Every organization "Load n" has its own WhatsApp number (tier 1,000/s, at the fake Cloud
  API) and a one-step campaign "Live sends" whose enrollments fall due at the sending stream's
  rate once schedule_sends() has spread them over the run.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_migrate import upgrade
from sqlalchemy import select, text

from app import create_app
from app.config import Config
from app.drip import accounts, templates
from app.drip.analytics import funnels as funnel
from app.drip.campaigns import lifecycle as campaigns
from app.drip.campaigns import steps
from app.drip.demo import history as demo_history
from app.drip.demo.seed import seed_demo_data
from app.drip.enrollment import actions as enrollment
from app.extensions import db
from app.models import DripCampaign, utcnow

SECRET_KEY = "load-bench-secret-key"
TOKEN = "load-bench-token"
FAKE_HOSTS = {"whatsapp_api_allowed_hosts": ("127.0.0.1",)}  # the fake Cloud API's host
EMAIL, PASSWORD = "load@drip.example", "load-bench-password"
WAMID_PREFIX = "wamid.LOAD."
TIER = 1000  # messages per second of each number (Meta's highest tier); Drip paces 5% under


@dataclass
class World:
    url: str
    phone_ids: list[str]
    app_secret: str  # of the first number (the webhook stream's)
    history_campaign_id: int
    announcement_campaign_id: int
    send_campaign_ids: list[int]
    wamids: list[str] = field(default_factory=list)
    log_baseline: int = 0  # highest message log id before the workers start


def app_for(url: str):
    return create_app(Config(secret_key=SECRET_KEY, database_url=url, **FAKE_HOSTS))


def build(url: str, fake_base: str, *, announced: int, sends: int, numbers: int) -> World:
    """Migrate the schema and make the data: `announced` sent logs for the webhook stream,
    `sends` enrollments (split between `numbers` organizations) for the sending stream."""
    app = app_for(url)
    with app.app_context():
        upgrade()
        session = db.session
        orgs, phone_ids, app_secret = [], [], ""
        for n in range(1, numbers + 1):
            org = accounts.create_organization(session, f"Load {n}")
            # Unique per run: the Redis rate-limit timeline is keyed by the number.
            phone_id = "1" + "".join(secrets.choice("0123456789") for _ in range(14))
            secret = secrets.token_hex(16)
            account = accounts.set_whatsapp_account(
                session,
                app.extensions["drip_secret_box"],
                org,
                phone_number_id=phone_id,
                access_token=TOKEN,
                app_secret=secret,
                api_base_url=fake_base,
                messages_per_second=TIER,
                allowed_hosts=app.config["WHATSAPP_API_ALLOWED_HOSTS"],
            )
            account.api_version = "v21.0"
            orgs.append(org)
            phone_ids.append(phone_id)
            app_secret = app_secret or secret
        first = orgs[0]
        accounts.create_user(session, first, EMAIL, PASSWORD)
        # The demo's template steps name the built-in catalog's templates: as if this number's
        # business account listed them (an organization with an account is not a sandbox).
        templates.sync_templates(session, first.id, templates.sandbox_pages(), utcnow())
        seed_demo_data(session, first.id)
        # The demo's own sends fall due by the clock: its live enrollments when its send
        # windows open, and its messages Meta held back (131049), retried a day later inside
        # those windows. At 09:30 UTC two of them went out during the run and the
        # reconciliation, which counts the stream's sends, found one more than it sent. The
        # enrollments move a day on and the demo organization retries no 131049: the only
        # sends of the run are the stream's.
        session.execute(
            text(
                "UPDATE drip_enrollments SET next_send_at = next_send_at + interval '1 day'"
                " WHERE organization_id = :o AND next_send_at IS NOT NULL"
            ),
            {"o": first.id},
        )
        first.marketing_cap_retries = 0
        first_id, org_ids = first.id, [org.id for org in orgs]
        history_id = session.scalar(
            select(DripCampaign.id).where(
                DripCampaign.organization_id == first_id, DripCampaign.name == demo_history.NAME
            )
        )
        session.commit()
        _bulk_connection(session)
        announcement = _announcement(session, first_id, announced)
        share = [sends // numbers + (1 if i < sends % numbers else 0) for i in range(numbers)]
        send_ids = [
            _live_sends(session, org_id, count)
            for org_id, count in zip(org_ids, share, strict=True)
        ]
        session.commit()
        wamids = list(
            session.scalars(
                text(
                    "SELECT wamid FROM drip_message_logs WHERE campaign_id = :c ORDER BY id"
                ).bindparams(c=announcement)
            )
        )
        baseline = session.scalar(text("SELECT coalesce(max(id), 0) FROM drip_message_logs"))
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        db.engine.dispose()
    return World(url, phone_ids, app_secret, history_id, announcement, send_ids, wamids, baseline)


def _bulk_connection(session) -> None:
    """A fresh connection without nested loops for the bulk UPDATEs that follow. The rollup
    triggers join a statement's old and new rows, and keep the plan of the first statement a
    connection fired them with: after a small one (the demo's, or an empty one) that is a
    nested loop, quadratic in the rows (60,000 enrollments: minutes instead of a second)."""
    session.close()
    db.engine.dispose()
    session.execute(text("SET enable_nestloop = off"))


def _campaign(session, organization_id: int, name: str, delays: list[tuple[int, str]]):
    campaign = campaigns.create_campaign(session, organization_id, {"name": name})
    for position, (amount, unit) in enumerate(delays, start=1):
        steps.add_step(
            session,
            campaign,
            {
                "name": f"Message {position}",
                "delay_amount": amount,
                "delay_unit": unit,
                "message_content": "Hi {{first_name|there}}, our spring collection is here.",
            },
        )
    campaigns.change_status(session, campaign, "activate")
    return campaign


def _contacts(session, organization_id: int, area: str, count: int) -> list[int]:
    """`count` contacts +1<area>0000001... in one INSERT ... SELECT; their ids."""
    return list(
        session.scalars(
            text(
                # last_inbound_at: they wrote to us, so text steps go out (24-hour window)
                "INSERT INTO contacts (organization_id, phone, first_name, attributes,"
                " created_at, updated_at, last_inbound_at) SELECT :org,"
                " '+1' || :area || lpad(g::text, 7, '0'), 'P' || g, '{}', now(), now(), now()"
                " FROM generate_series(1, :n) g RETURNING id"
            ),
            {"org": organization_id, "area": area, "n": count},
        )
    )


def _announcement(session, organization_id: int, count: int) -> int:
    """Step 1 sent ten minutes ago to `count` contacts, step 2 due in a week."""
    campaign = _campaign(session, organization_id, "Spring announcement", [(0, "minutes")] * 2)
    step_ids = session.scalars(
        text("SELECT id FROM drip_campaign_steps WHERE campaign_id = :c ORDER BY position"),
        {"c": campaign.id},
    ).all()
    enrollment.enroll(
        session, campaign, contact_ids=_contacts(session, organization_id, "303", count)
    )
    sent_at = utcnow() - timedelta(minutes=10)
    params = {"c": campaign.id, "s1": step_ids[0], "s2": step_ids[1], "at": sent_at}
    session.execute(
        text(
            "INSERT INTO drip_message_logs (organization_id, enrollment_id, campaign_id,"
            " step_id, contact_id, status, wamid, attempts, sent_at, created_at, updated_at)"
            " SELECT e.organization_id, e.id, e.campaign_id, :s1, e.contact_id, 'sent',"
            f" '{WAMID_PREFIX}' || e.id, 1, :at, :at, :at"
            " FROM drip_enrollments e WHERE e.campaign_id = :c"
        ),
        params,
    )
    session.execute(
        text(
            "UPDATE drip_enrollments SET current_step_id = :s2, last_step_id = :s1,"
            " last_sent_at = :at, next_send_at = :at + interval '7 days' WHERE campaign_id = :c"
        ),
        params,
    )
    return campaign.id


def _live_sends(session, organization_id: int, count: int) -> int:
    """A one-step campaign with `count` enrollments, not due until schedule_sends()."""
    campaign = _campaign(session, organization_id, "Live sends", [(0, "minutes")])
    enrollment.enroll(
        session, campaign, contact_ids=_contacts(session, organization_id, "202", count)
    )
    session.execute(
        text(
            "UPDATE drip_enrollments SET next_send_at = now() + interval '1 day'"
            " WHERE campaign_id = :c"
        ),
        {"c": campaign.id},
    )
    return campaign.id


def _due(i: int) -> str:
    """SQL of the due time of the enrollments `e` of number i: the k-th message of the stream
    (k from 0) is due at t0 + k / rate, and number i of n sends k = i, i + n, i + 2n... (its
    enrollments in id order)."""
    return (
        f"CAST(:t0 AS timestamptz) + (((row_number() OVER (ORDER BY e.id)) - 1) * :n + {i})"
        " / CAST(:rate AS float) * interval '1 second'"
    )


def schedule_sends(world: World, t0: datetime, rate: float) -> None:
    """Make the sending stream's enrollments due, one every 1/rate s from t0."""
    app = app_for(world.url)
    with app.app_context():
        _bulk_connection(db.session)
        n = len(world.send_campaign_ids)
        for i, campaign_id in enumerate(world.send_campaign_ids):
            db.session.execute(
                text(
                    f"UPDATE drip_enrollments d SET next_send_at = due.at FROM (SELECT e.id,"
                    f" {_due(i)} AS at FROM drip_enrollments e WHERE e.campaign_id = :c) due"
                    " WHERE d.id = due.id"
                ),
                {"t0": t0, "n": n, "rate": rate, "c": campaign_id},
            )
        db.session.commit()
        db.engine.dispose()


def reconcile(world: World, t0: datetime, rate: float) -> tuple[dict, dict]:
    """What the database holds after the run: counts, and the rows bench/load.py compares
    one by one with what it posted and what the fake received."""
    app = app_for(world.url)
    with app.app_context():
        session = db.session

        def q(sql: str, **params) -> list:
            return session.execute(text(sql), params).all()

        like = WAMID_PREFIX + "%"
        out: dict = {}
        out["webhook_events"], out["webhook_events_unapplied"] = q(
            "SELECT count(*), count(*) FILTER (WHERE applied_at IS NULL) FROM webhook_events"
        )[0]
        out["status_events_by_status"] = dict(
            q(
                "SELECT status, count(*) FROM whatsapp_status_events WHERE wamid LIKE :w"
                " GROUP BY status",
                w=like,
            )
        )
        out["announcement_logs_by_status"] = dict(
            q(
                "SELECT status, count(*) FROM drip_message_logs WHERE campaign_id = :c"
                " GROUP BY status",
                c=world.announcement_campaign_id,
            )
        )
        delivered, read = q(
            "SELECT count(delivered_at), count(read_at) FROM drip_message_logs"
            " WHERE campaign_id = :c",
            c=world.announcement_campaign_id,
        )[0]
        org_id = session.scalar(
            text("SELECT organization_id FROM drip_campaigns WHERE id = :c"),
            {"c": world.announcement_campaign_id},
        )
        first = funnel.funnel(session, org_id, world.announcement_campaign_id)["steps"][0]
        out["funnel_vs_logs"] = {
            "delivered": [first["deliveredCount"], delivered],
            "read": [first["readCount"], read],
        }
        out["new_logs_by_status"] = dict(
            q(
                "SELECT status, count(*) FROM drip_message_logs WHERE id > :b GROUP BY status",
                b=world.log_baseline,
            )
        )
        out["send_enrollments_by_status"] = dict(
            q(
                "SELECT status, count(*) FROM drip_enrollments WHERE campaign_id = ANY(:c)"
                " GROUP BY status",
                c=world.send_campaign_ids,
            )
        )
        sent, last = q(
            "SELECT count(*), extract(epoch FROM max(sent_at) - CAST(:t0 AS timestamptz))"
            " FROM drip_message_logs WHERE campaign_id = ANY(:c) AND sent_at IS NOT NULL",
            t0=t0,
            c=world.send_campaign_ids,
        )[0]
        out["send_logs_sent"] = sent
        out["last_send_after_t0_s"] = None if last is None else round(float(last), 3)
        out["send_delay_s"] = _send_delays(session, world, t0, rate)
        rows = {
            "status_pairs": set(
                q("SELECT wamid, status FROM whatsapp_status_events WHERE wamid LIKE :w", w=like)
            ),
            "delivery_digests": {r[0] for r in q("SELECT body_sha256 FROM webhook_events")},
            "log_status": dict(
                q(
                    "SELECT wamid, status FROM drip_message_logs WHERE campaign_id = :c",
                    c=world.announcement_campaign_id,
                )
            ),
            "sent_log_ids": {
                r[0]
                for r in q(
                    "SELECT id FROM drip_message_logs WHERE id > :b"
                    " AND status IN ('sent', 'delivered', 'read')",
                    b=world.log_baseline,
                )
            },
        }
        session.rollback()
        db.engine.dispose()
    return out, rows


def _send_delays(session, world: World, t0: datetime, rate: float) -> dict:
    """From each message's due time to its send being recorded: p50, p99, max (seconds)."""
    parts = " UNION ALL ".join(
        f"SELECT e.id, {_due(i)} AS due FROM drip_enrollments e WHERE e.campaign_id = {int(c)}"
        for i, c in enumerate(world.send_campaign_ids)
    )
    row = session.execute(
        text(
            f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d),"
            f" percentile_cont(0.99) WITHIN GROUP (ORDER BY d), max(d) FROM ("
            f" SELECT extract(epoch FROM l.sent_at - due.due) AS d FROM ({parts}) due"
            f" JOIN drip_message_logs l ON l.enrollment_id = due.id WHERE l.sent_at IS NOT NULL"
            f") x"
        ),
        {"t0": t0, "n": len(world.send_campaign_ids), "rate": rate},
    ).one()
    return {
        k: None if v is None else round(float(v), 3)
        for k, v in zip(("p50", "p99", "max"), row, strict=True)
    }
