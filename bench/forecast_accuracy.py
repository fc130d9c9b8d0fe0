"""The forecast against what was recorded, on PostgreSQL with the fake Cloud API (real sockets).

    .venv/bin/python bench/forecast_accuracy.py [--contacts 10000] [--recent 0.25]

10,000 contacts in six markets (United Kingdom, Brazil, India, Germany, North America,
Indonesia); a quarter wrote to us within the last 30 hours, the rest never did or weeks ago.
The campaign: 1. free text at once with a UTILITY fallback template, 2. a MARKETING template
2 hours later, 3. a UTILITY template 1 hour later. The forecast of enrolling the tag is taken
first (its time and peak RSS printed), then the tag is enrolled and real processing passes
(app.tasks.processing.run_processing_pass) send every step at the times the steps fall due
(the clock moved on between passes). For every message the fake accepted, a "delivered" status
carrying pricing {billable, pricing_model: "PMP", type: "regular", category} is posted through
the signed webhook route; billable by Meta's rule (marketing always, utility outside the
window only, service never), judged by the bench from the contact's last message and the
pass's clock. Recorded: the logs' pricing_billable and SUM(cost). Goals: billable within 3 %,
cost within 5 %.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.drip import accounts, campaigns, enrollment  # noqa: E402
from app.drip.engagement import window_open  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Contact, DripCampaign, DripMessageLog, WhatsAppAccount, utcnow  # noqa: E402
from app.tasks.processing import run_processing_pass  # noqa: E402
from app.whatsapp.webhook import SIGNATURE_HEADER, signature_for  # noqa: E402
from bench.harness import PG  # noqa: E402
from tests.fakes.cloud_api import FakeCloudApi  # noqa: E402
from tests.fakes.templates import template  # noqa: E402
from tests.integration.enrollment_world import live_steps, make_campaign, tag_contacts  # noqa: E402
from tests.support.catalog import add_template  # noqa: E402
from tests.support.scratch import drop_schema, scratch_schema  # noqa: E402

SCHEMA = "bench_forecast_accuracy"
TOKEN = "bench-token"
APP_SECRET = "bench-app-secret"
PHONE_ID = "100000000000077"
TAG = "launch"
# Market: a number's prefix and how many digits follow it.
MARKETS = {
    "United Kingdom": ("+447911", 6),
    "Brazil": ("+55119", 8),
    "India": ("+9198", 8),
    "Germany": ("+49151", 8),
    "North America": ("+12122", 6),
    "Indonesia": ("+62812", 8),
}
TEMPLATES = {"order_update": "UTILITY", "launch_offer": "MARKETING", "delivery_notice": "UTILITY"}
WEBHOOK_BATCH = 1000


def build(session, org_id: int, contacts: int, recent: float, now, rng: random.Random):
    """The templates, the campaign and the tagged contacts; {phone: last_inbound_at}."""
    for name, category in TEMPLATES.items():
        add_template(session, org_id, name, category=category)
    campaign = make_campaign(
        session, org_id, status="active", steps=((0, "minutes"), (2, "hours"), (1, "hours"))
    )
    text, sale, notice = live_steps(session, campaign)
    text.fallback_template_name, text.fallback_template_language = "order_update", "en_US"
    text.fallback_template_parameters = []
    for step, name in ((sale, "launch_offer"), (notice, "delivery_notice")):
        step.message_type, step.message_content = "template", None
        step.template_name, step.template_language, step.template_parameters = name, "en_US", []
    inbound, rows = {}, []
    names = list(MARKETS)
    for i in range(contacts):
        prefix, digits = MARKETS[names[i % len(names)]]
        phone = f"{prefix}{i:0{digits}d}"
        if rng.random() < recent:
            last = now - timedelta(minutes=rng.uniform(1, 30 * 60))  # wrote in the last 30 h
        elif rng.random() < 0.3:
            last = now - timedelta(days=rng.uniform(2, 40))  # wrote weeks ago
        else:
            last = None  # never wrote
        inbound[phone] = last
        rows.append(
            {
                "organization_id": org_id,
                "phone": phone,
                "first_name": f"P{i}",
                "last_inbound_at": last,
                "created_at": now,
            }
        )
    session.execute(insert(Contact), rows)
    people = session.scalars(select(Contact).where(Contact.organization_id == org_id)).all()
    tag_contacts(session, org_id, TAG, people)
    session.expunge_all()
    return campaign.id, inbound


def deliveries(records, inbound: dict, at) -> tuple[list[dict], int]:
    """A delivered status with pricing for each accepted send; the billable count."""
    statuses, billable = [], 0
    for record in records:
        body, wamid = record["body"], record.get("wamid")
        if not wamid or not isinstance(body, dict):
            continue
        phone = "+" + str(body["to"]).lstrip("+")
        inside = window_open(inbound.get(phone), at)
        if body.get("type") == "template":
            category = TEMPLATES[body["template"]["name"]].lower()
        else:
            category = "service"
        billed = category == "marketing" or (category == "utility" and not inside)
        billable += billed
        pricing = {"billable": billed, "pricing_model": "PMP", "type": "regular"}
        statuses.append(
            {
                "id": wamid,
                "status": "delivered",
                "timestamp": str(int(at.timestamp()) + 5),
                "recipient_id": phone.lstrip("+"),
                "pricing": {**pricing, "category": category},
            }
        )
    return statuses, billable


def post_statuses(client, statuses: list[dict]) -> None:
    for i in range(0, len(statuses), WEBHOOK_BATCH):
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"phone_number_id": PHONE_ID},
            "statuses": statuses[i : i + WEBHOOK_BATCH],
        }
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        answer = client.post(
            "/api/webhooks/whatsapp",
            data=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature_for(body, APP_SECRET),
            },
        )
        if answer.status_code != 200 or b'"deferred"' in answer.data:
            raise SystemExit(f"webhook refused: {answer.status_code} {answer.data[:300]!r}")


def replay(app, fake, inbound: dict, start) -> tuple[int, int]:
    """Passes at each step's time until nothing is due; statuses posted after each. Sent and
    billable counts."""
    client = app.test_client()
    sent = billable = seen = 0
    for clock in (
        start,
        start + timedelta(hours=2, minutes=1),
        start + timedelta(hours=3, minutes=2),
    ):
        while run_processing_pass(clock, batch_size=1000, time_budget=120)["claimed"]:
            pass
        records = fake.records()
        statuses, billed = deliveries(records[seen:], inbound, clock)
        seen = len(records)
        sent += len(statuses)
        billable += billed
        post_statuses(client, statuses)
    return sent, billable


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--recent", type=float, default=0.25, help="share who wrote recently")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    started = time.time()
    url = scratch_schema(PG, SCHEMA)
    app = create_app(TestConfig(database_url=url))
    app.config["SEND_CONCURRENCY"] = 32
    try:
        with FakeCloudApi(access_token=TOKEN, phone_number_id=PHONE_ID) as fake, app.app_context():
            upgrade()
            for name, category in TEMPLATES.items():  # the same templates at "Meta"
                fake.templates.put(template(name, "Hello, news for you.", category=category))
            session = db.session
            org = accounts.create_organization(session, "Bench")
            accounts.set_whatsapp_account(
                session,
                app.extensions["drip_secret_box"],
                org,
                phone_number_id=PHONE_ID,
                access_token=TOKEN,
                app_secret=APP_SECRET,
                api_base_url=fake.base_url,
                allowed_hosts=[fake.host],
            )
            # No per-second limit: the replay measures what is sent, not how fast.
            session.scalar(select(WhatsAppAccount)).rate_limit_per_second = 0
            now = utcnow()
            cid, inbound = build(
                session, org.id, args.contacts, args.recent, now, random.Random(args.seed)
            )
            session.commit()
            campaign = session.get(DripCampaign, cid)

            t = time.perf_counter()
            forecast = campaigns.forecast(session, campaign, tag=TAG, now=now)
            forecast_s = time.perf_counter() - t
            forecast_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            enrollment.enroll(session, campaign, tag=TAG, now=now)
            session.commit()
            live = campaigns.forecast(session, campaign, now=now)
            sent, posted_billable = replay(app, fake, inbound, now)
            recorded_billable, recorded_cost, priced = session.execute(
                select(
                    func.count().filter(DripMessageLog.pricing_billable.is_(True)),
                    func.sum(DripMessageLog.cost),
                    func.count(DripMessageLog.cost),
                ).where(DripMessageLog.campaign_id == cid)
            ).one()
            report(forecast, live, sent, posted_billable, recorded_billable, recorded_cost, priced)
            print(
                f"forecast of {forecast.audience:,} contacts: {forecast_s * 1000:,.0f} ms, "
                f"peak RSS after it {forecast_rss:,.0f} MB; "
                f"whole run {time.time() - started:,.0f} s, "
                f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"
            )
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_schema(PG, SCHEMA)


def share(a, b) -> str:
    return f"{(float(a) - float(b)) / float(b) * 100:+.2f} %" if b else "n/a"


def report(forecast, live, sent, posted_billable, recorded_billable, recorded_cost, priced):
    print("step  messages  inside  outside  stopped  billable  cost")
    for s in forecast.steps:
        print(
            f"{s.position:>4}  {s.messages:>8,}  {s.inside_window:>6,}  {s.outside_window:>7,}  "
            f"{s.stopped:>7,}  {s.billable:>8,}  {s.cost:,.4f}"
        )
    same = [(s.messages, s.billable, s.cost) for s in live.steps] == [
        (s.messages, s.billable, s.cost) for s in forecast.steps
    ]
    print(f"live-enrollment forecast after enrolling equals the tag's: {same}")
    print(
        f"messages: forecast {forecast.messages:,}, sent {sent:,} "
        f"({share(forecast.messages, sent)})"
    )
    if recorded_billable:
        source = "recorded (drip_message_logs.pricing_billable)"
    else:
        source, recorded_billable = "posted by the bench (pricing not stored)", posted_billable
    diff = share(forecast.billable, recorded_billable)
    ok = (
        recorded_billable and abs(forecast.billable - recorded_billable) <= 0.03 * recorded_billable
    )
    print(
        f"billable: forecast {forecast.billable:,}, {source} {recorded_billable:,} ({diff}) "
        f"goal within 3 %: {'met' if ok else 'NOT met'}"
    )
    if priced:
        ok = abs(forecast.total_cost - recorded_cost) <= recorded_cost * 5 / 100
        print(
            f"cost: forecast {forecast.total_cost:,.2f} {forecast.currency}, recorded "
            f"SUM(cost) {recorded_cost:,.2f} over {priced:,} priced logs "
            f"({share(forecast.total_cost, recorded_cost)}) goal within 5 %: "
            f"{'met' if ok else 'NOT met'}"
        )
    else:
        print(
            f"cost: forecast {forecast.total_cost:,.2f} {forecast.currency}; recorded: no log "
            "carries a cost yet (pricing webhooks not stored)"
        )
    print(
        f"messaging limit {forecast.messaging_limit}, days for the first step "
        f"{forecast.days_for_first_step}, rate card {forecast.rate_card_source} "
        f"{forecast.rate_card_date}{' (sample)' if forecast.rate_card_sample else ''}"
    )


if __name__ == "__main__":
    main()
