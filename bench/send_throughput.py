"""Sending throughput on PostgreSQL against the fake Cloud API (a separate process).

    .venv/bin/python bench/send_throughput.py [--messages 30000] [--workers 2]

1. limited: the phone number's limit at 1,000/s, the fake answering after 50 ms: sustained
   messages/s and the busiest second (goal: >= 900/s, never over 1,000 in any second);
2. ceiling: no limit, no latency: the pipeline's own rate (goal: >= 2,000/s on 2 cores).
Prints the peak RSS of each worker process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.drip import accounts  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Contact, DripCampaignStep, WhatsAppAccount  # noqa: E402
from bench.harness import PG, fake_cloud_api, fake_stats  # noqa: E402
from tests.integration.enrollment_world import make_campaign  # noqa: E402
from tests.support.catalog import add_template  # noqa: E402
from tests.support.scratch import (  # noqa: E402
    drop_schema,
    enroll_generated_contacts,
    scratch_schema,
)

REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
TOKEN = "bench-token"


# --limits: every send is a marketing template outside the contact's window, under a messaging
# limit and a frequency cap high enough never to defer: the budgets' bookkeeping, measured.
LIMITS = {"on": False}


def with_limits(session, org, account, campaign) -> None:
    account.messaging_limit = 10_000_000
    org.frequency_cap_messages, org.frequency_cap_days = 100, 7
    add_template(session, org.id, "spring_sale", parameters=["1", "2"])
    step = session.scalar(
        select(DripCampaignStep).where(DripCampaignStep.campaign_id == campaign.id)
    )
    step.message_type, step.template_name, step.template_language = (
        "template",
        "spring_sale",
        "en_US",
    )
    step.template_parameters = ["{{first_name}}", "20%"]
    session.execute(update(Contact).values(last_inbound_at=None))


def prepare(url: str, base_url: str, messages: int, rate: int) -> None:
    app = create_app(TestConfig(database_url=url))
    with app.app_context():
        upgrade()
        session = db.session
        org = accounts.create_organization(session, "Bench")
        accounts.set_whatsapp_account(
            session,
            app.extensions["drip_secret_box"],
            org,
            phone_number_id="100000000000001",
            access_token=TOKEN,
            app_secret="s",
            api_base_url=base_url,
            allowed_hosts=app.config["WHATSAPP_API_ALLOWED_HOSTS"],
        )
        account = session.scalar(select(WhatsAppAccount))
        account.api_version, account.rate_limit_per_second = "v21.0", rate
        campaign = make_campaign(session, org.id, steps=((0, "minutes"),))
        enroll_generated_contacts(session, org.id, campaign, messages)
        if LIMITS["on"]:
            with_limits(session, org, account, campaign)
        session.commit()
        db.engine.dispose()


def run(label: str, messages: int, workers: int, rate: int, latency: int, concurrency: int) -> dict:
    schema = f"bench_send_{label}"
    with fake_cloud_api(TOKEN, latency) as fake:
        base = fake.base_url
        url = scratch_schema(PG, schema)
        try:
            prepare(url, base, messages, rate)
            subprocess.run(["redis-cli", "-u", REDIS, "flushdb"], check=False, capture_output=True)
            started = time.time()
            procs = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.support.run_passes",
                        url,
                        "--redis",
                        REDIS,
                        "--batch",
                        "500",
                        "--concurrency",
                        str(concurrency),
                        # A pass as long as the app's (PROCESSOR_TIME_BUDGET's default): each
                        # pass ends by waiting for its last batch.
                        "--time-budget",
                        "25",
                    ],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(workers)
            ]
            outs = [p.communicate() for p in procs]
            elapsed = time.time() - started
            results = [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]
            stats = fake_stats(base)
        finally:
            drop_schema(PG, schema)
    per_second = sorted((int(k), v) for k, v in stats["per_second"].items())
    inner = per_second[1:-1] or per_second  # whole seconds only
    sustained = sum(v for _, v in inner) / max(len(inner), 1)
    return {
        "label": label,
        "sent": sum(r["sent"] for r in results),
        "fake_requests": stats["requests"],
        "duplicates": stats["callbacks_accepted_more_than_once"],
        "elapsed_s": round(elapsed, 2),
        "overall_per_s": round(stats["requests"] / elapsed, 1),
        "sustained_per_s": round(sustained, 1),
        "busiest_second": max(v for _, v in per_second),
        "worker_peak_rss_mb": [r["peak_rss_mb"] for r in results],
        # CPU of the worker processes (user + system) per message sent: what limits the rate
        # when the machine is shared with the database and the fake Cloud API.
        "worker_cpu_ms_per_message": round(
            1000 * sum(r["cpu_s"] for r in results) / max(sum(r["sent"] for r in results), 1), 3
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64, help="threads per worker, limited")
    parser.add_argument(
        "--ceiling-concurrency",
        type=int,
        default=16,
        help="threads per worker without latency: more only adds GIL contention",
    )
    parser.add_argument(
        "--limits",
        action="store_true",
        help="marketing templates outside the window, under a messaging limit and a frequency cap",
    )
    parser.add_argument(
        "--only", choices=("limited", "ceiling"), help="run one of the two measurements"
    )
    args = parser.parse_args()
    LIMITS["on"] = args.limits
    if args.only != "ceiling":
        limited(args)
    if args.only != "limited":
        ceiling(args)


def limited(args) -> None:
    result = run("limited", args.messages, args.workers, 1000, 50, args.concurrency)
    print(json.dumps(result))
    print(
        f"limited to 1,000/s at 50 ms: sustained {result['sustained_per_s']:,.0f}/s "
        f"(goal >= 900), busiest second {result['busiest_second']:,} (goal <= 1,000), "
        f"duplicates {result['duplicates']}, "
        f"worker CPU {result['worker_cpu_ms_per_message']} ms per message"
    )


def ceiling(args) -> None:
    result = run("ceiling", args.messages, args.workers, 0, 0, args.ceiling_concurrency)
    print(json.dumps(result))
    print(
        f"no limit, no latency: {result['sustained_per_s']:,.0f}/s sustained, "
        f"{result['overall_per_s']:,.0f}/s overall (goal >= 2,000), "
        f"worker CPU {result['worker_cpu_ms_per_message']} ms per message"
    )


if __name__ == "__main__":
    main()
