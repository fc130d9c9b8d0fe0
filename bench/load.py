"""Load: the web app, a worker pool and the fake Cloud API on PostgreSQL, under three streams at
once, then a reconciliation of every event and message.

    .venv/bin/python bench/load.py [--seconds 60] [--scale 1.0] [--database-url URL]
        [--pass-interval 0.1]

- gunicorn (4 sync workers, --preload) serving the app; 2 worker processes
  (bench/load_worker.py) running processing passes back to back (a pass starts at most every
  --pass-interval seconds: each pass has a fixed cost of about 25 ms of CPU, so the CPU per
  send depends on how many sends a pass finds due); the fake Cloud API
  (`python -m tests.fakes.cloud_api`, 50 ms answers) in its own process; a scratch schema
  `drip_load_<pid>` (dropped at the end) with the data of bench/load_world.py.
- Open-loop streams (a fixed arrival rate, whatever the answers' pace; latency counts from the
  planned arrival, so waiting in any queue counts; no answer --timeout (20) s after the planned
  arrival is an error):
  * webhook: signed deliveries of --statuses-per-post (25) statuses at 3,000 status events/s:
    the sent, delivered and read statuses of existing message logs; 1 in 50 deliveries is also
    posted a second time (Meta retries), which must change nothing;
  * pages: a logged-in marketer's views at 20/s, in turn the dashboard
    (/campaigns/<id>/analytics) of the demo's onboarding campaign, the dashboard of the
    campaign the webhook is updating, and the onboarding campaign's page;
  * sends: enrollments falling due at 1,000/s, sent by the worker pool to the fake through two
    WhatsApp numbers (a number's tier is at most 1,000/s and Drip paces 5% under it).
- --scale multiplies the three rates (0.1: a tenth of each). After the streams, the workers
  send what is still due (at most --drain s), then everything is counted.

Prints each stream's achieved rate against its target, p50/p99 latency and errors per route,
a reconciliation (webhook events posted vs applied, messages sent by the workers vs received
by the fake, duplicates), peak RSS, the CPU time of each part while the streams ran, CPU per
unit of work (ms of CPU of the web workers per status event and per page, of the worker
processes per send), and a last line `LOAD_RESULT {json}`. Exits 1 when a request failed or
an event or message was lost or duplicated; a missed rate or latency goal is printed, not an
exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.whatsapp.webhook import SIGNATURE_HEADER, signature_for  # noqa: E402
from bench import load_cpu, load_report, load_world  # noqa: E402
from bench.harness import (  # noqa: E402
    PG,
    cpu_seconds,
    fake_cloud_api,
    fake_stats,
    gunicorn,
    http_exchange,
    load_average,
)
from tests.support.scratch import drop_schema, scratch_schema  # noqa: E402

TARGETS = {"webhook": 3000.0, "pages": 20.0, "sends": 1000.0}  # per second, at --scale 1
WEBHOOK_ROUTE = "POST /api/webhooks/whatsapp"
STATUSES = ("sent", "delivered", "read")
LAGS = {"sent": 0, "delivered": 2, "read": 5}  # deliveries of a chunk's statuses come in turn
REPLAY_EVERY = 50
NUMBERS = 2


@dataclass
class Delivery:
    body: bytes
    signature: str
    pairs: tuple[tuple[str, str], ...]  # (wamid, status)
    replay: bool = False


@dataclass
class Sample:
    route: str
    latency: float
    done: float  # perf_counter when the answer was read
    error: str | None
    delivery: Delivery | None = None


def webhook_plan(wamids: list[str], per_post: int, secret: str, phone_id: str) -> list[Delivery]:
    """Each chunk of logs is reported sent, two rounds later delivered, five rounds later read;
    every REPLAY_EVERY-th delivery is followed by a repeat of one posted ten before it."""
    chunks = [wamids[i : i + per_post] for i in range(0, len(wamids), per_post)]
    at = int(time.time()) - 590
    plan: list[Delivery] = []
    unique: list[Delivery] = []
    for round_ in range(len(chunks) + max(LAGS.values())):
        for status in STATUSES:
            index = round_ - LAGS[status]
            if not 0 <= index < len(chunks):
                continue
            delivery = _delivery(chunks[index], status, at + 5 * LAGS[status], phone_id, secret)
            plan.append(delivery)
            unique.append(delivery)
            if len(unique) % REPLAY_EVERY == 0:
                original = unique[-11]
                plan.append(Delivery(original.body, original.signature, original.pairs, True))
    return plan


def _delivery(chunk: list[str], status: str, at: int, phone_id: str, secret: str) -> Delivery:
    statuses = [
        {"id": w, "status": status, "timestamp": str(at), "recipient_id": "1303"} for w in chunk
    ]
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": phone_id},
        "statuses": statuses,
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "0", "changes": [{"field": "messages", "value": value}]}],
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Delivery(body, signature_for(body, secret), tuple((w, status) for w in chunk))


def page_plan(world: load_world.World) -> list[tuple[str, str]]:
    history, announcement = world.history_campaign_id, world.announcement_campaign_id
    return [
        ("GET /campaigns/<id>/analytics (onboarding)", f"/campaigns/{history}/analytics"),
        ("GET /campaigns/<id>/analytics (announcement)", f"/campaigns/{announcement}/analytics"),
        ("GET /campaigns/<id> (onboarding)", f"/campaigns/{history}"),
    ]


def login(base_url: str) -> str:
    """The marketer's session: the Cookie header of a logged-in browser."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
        answer = client.post(
            "/login",
            data={
                "csrf_token": token[1] if token else "",
                "email": load_world.EMAIL,
                "password": load_world.PASSWORD,
            },
        )
        if answer.status_code != 302:
            raise SystemExit(f"login failed: HTTP {answer.status_code}")
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


@dataclass
class Streams:
    deliveries: list[Delivery]
    webhook_interval: float  # seconds between two deliveries
    pages: list[tuple[str, str]]  # (route, path)
    page_interval: float
    t0: float  # perf_counter of the first arrivals
    timeout: float  # an answer later than this after its planned arrival is an error


async def run_streams(port: int, cookie: str, streams: Streams) -> list[Sample]:
    """Both HTTP streams, each request started at its planned time."""
    samples: list[Sample] = []
    timeout = streams.timeout

    async def answered(method, path, headers, body, at) -> tuple[int, bytes, str | None]:
        try:
            left = max(0.001, at + timeout - time.perf_counter())
            request = http_exchange(port, method, path, headers, body)
            return (*await asyncio.wait_for(request, left), None)
        except TimeoutError:
            return 0, b"", f"no answer within {timeout:g} s of its planned time"
        except (OSError, ValueError, IndexError) as exc:
            return 0, b"", f"{exc.__class__.__name__}: {exc}"

    async def post(delivery: Delivery, at: float) -> None:
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: delivery.signature}
        status, body, error = await answered(
            "POST", "/api/webhooks/whatsapp", headers, delivery.body, at
        )
        error = error or _webhook_error(status, body, len(delivery.pairs))
        now = time.perf_counter()
        samples.append(Sample(WEBHOOK_ROUTE, now - at, now, error, delivery))

    async def view(page: tuple[str, str], at: float) -> None:
        route, path = page
        status, _, error = await answered("GET", path, {"Cookie": cookie}, b"", at)
        if error is None and status != 200:
            error = f"HTTP {status}"
        now = time.perf_counter()
        samples.append(Sample(route, now - at, now, error))

    await asyncio.gather(
        _open_loop(streams.deliveries, streams.webhook_interval, streams.t0, post),
        _open_loop(streams.pages, streams.page_interval, streams.t0, view),
    )
    return samples


async def _open_loop(items: list, interval: float, t0: float, send) -> None:
    tasks = []
    for i, item in enumerate(items):
        at = t0 + i * interval
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(item, at)))
    await asyncio.gather(*tasks)


def _webhook_error(status: int, body: bytes, statuses: int) -> str | None:
    if status != 200:
        return f"HTTP {status}"
    data = json.loads(body).get("data", {})
    if data.get("deferred"):
        return "deferred (applying failed)"
    if data.get("statuses") != statuses or data.get("unknownStatuses"):
        return f"counts {data}"
    return None


# --- processes -------------------------------------------------------------------------------


def redis_url(url: str) -> str | None:
    try:
        Redis.from_url(url, socket_connect_timeout=2).ping()
        return url
    except Exception:
        return None


def start_workers(args, url: str, redis: str | None) -> list[subprocess.Popen]:
    command = [
        sys.executable,
        str(ROOT / "bench" / "load_worker.py"),
        url,
        "--batch",
        str(args.batch),
        "--concurrency",
        str(args.concurrency),
        "--drain",
        str(args.drain),
        "--interval",
        str(args.pass_interval),
    ]
    if redis:
        command += ["--redis", redis]
    procs = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "SECRET_KEY": load_world.SECRET_KEY},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(args.send_workers)
    ]
    for proc in procs:
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"worker {proc.pid} did not start (exit {proc.wait()})")
    return procs


def stop_workers(procs: list[subprocess.Popen], drain: float) -> list[dict]:
    """Tell each worker to drain; their totals (an "error" entry for one that failed)."""
    for proc in procs:
        try:
            proc.stdin.write("drain\n")
            proc.stdin.flush()
        except OSError:
            pass
    results = []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=drain + 60)
            line = out.strip().splitlines()[-1] if out.strip() else ""
            results.append(json.loads(line) if proc.returncode == 0 else {"error": proc.returncode})
        except (subprocess.TimeoutExpired, ValueError) as exc:
            proc.kill()
            proc.wait()
            results.append({"error": exc.__class__.__name__})
    return results


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the target rates")
    parser.add_argument("--database-url", default=PG)
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    )
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--send-workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200, help="enrollments claimed per batch")
    parser.add_argument("--concurrency", type=int, default=64, help="sends in flight per worker")
    parser.add_argument(
        "--pass-interval",
        type=float,
        default=0.1,
        help="seconds between the starts of two passes of a send worker (worker.py: 30)",
    )
    parser.add_argument("--statuses-per-post", type=int, default=25)
    parser.add_argument("--fake-latency-ms", type=float, default=50)
    parser.add_argument("--drain", type=float, default=60, help="seconds to finish sending")
    parser.add_argument(
        "--timeout", type=float, default=20, help="seconds from a request's planned time"
    )
    return parser.parse_args()


@dataclass
class Plan:
    rates: dict[str, float]
    announced: int  # logs the webhook reports on (three statuses each)
    sends: int  # enrollments falling due during the run
    pages: int  # page views

    @classmethod
    def of(cls, args: argparse.Namespace) -> Plan:
        rates = {name: rate * args.scale for name, rate in TARGETS.items()}
        per_post = args.statuses_per_post
        posts = max(1, round(rates["webhook"] * args.seconds / len(STATUSES) / per_post))
        return cls(
            rates,
            announced=posts * per_post,
            sends=max(NUMBERS, round(rates["sends"] * args.seconds)),
            pages=max(1, round(rates["pages"] * args.seconds)),
        )


def run(args: argparse.Namespace, plan: Plan, setup: dict, url: str, redis: str | None) -> dict:
    """Build the data, start the processes, run the streams; what the report needs."""
    with fake_cloud_api(load_world.TOKEN, args.fake_latency_ms) as fake:
        started = time.perf_counter()
        world = load_world.build(
            url, fake.base_url, announced=plan.announced, sends=plan.sends, numbers=NUMBERS
        )
        setup["setup_s"] = round(time.perf_counter() - started, 1)
        print(f"data ready in {setup['setup_s']} s; starting the processes", flush=True)
        cpu_dir = tempfile.mkdtemp(prefix="drip_load_cpu_")
        hooks = {"GUNICORN_CMD_ARGS": f"--config {ROOT / 'bench' / 'load_cpu.py'}"}
        hooks["LOAD_CPU_DIR"] = cpu_dir
        with gunicorn(url, load_world.SECRET_KEY, args.web_workers, env=hooks) as server:
            cookie = login(server.base_url)
            workers = start_workers(args, url, redis)
            processes = {
                "web workers": server.worker_pids(),
                "worker processes": [w.pid for w in workers],
                "fake Cloud API": [fake.process.pid],
                "load generator": [os.getpid()],
            }
            try:
                figures = drive(args, plan, setup, world, server.port, cookie, processes, cpu_dir)
            finally:
                print("streams done; the workers drain what is still due", flush=True)
                totals = stop_workers(workers, args.drain)
            web_rss = server.peak_rss_mb()
        fake_counts = fake_stats(fake.base_url, detail=True)
    t0 = datetime.fromtimestamp(setup["t0_epoch"], UTC)
    database, rows = load_world.reconcile(world, t0, plan.rates["sends"])
    memory = {"web": web_rss, "workers": [t.get("peak_rss_mb") for t in totals]}
    return {
        **figures,
        "database": database,
        "rows": rows,
        "fake": fake_counts,
        "workers": totals,
        "memory": memory,
    }


def drive(
    args, plan: Plan, setup: dict, world, port: int, cookie: str, processes, cpu_dir: str
) -> dict:
    """Make the sends due from t0 and run the HTTP streams from t0; the samples, the CPU
    seconds each group of processes used while the streams ran, and the web workers' CPU
    inside requests by kind (bench/load_cpu.py) in that time."""
    secret, phone_id = world.app_secret, world.phone_ids[0]
    deliveries = webhook_plan(world.wamids, args.statuses_per_post, secret, phone_id)
    pages = page_plan(world)
    spans = {
        "webhook": plan.announced * len(STATUSES) / plan.rates["webhook"],
        "pages": plan.pages / plan.rates["pages"],
    }
    t0_epoch = time.time() + 1.0 + plan.sends / 40_000
    setup["t0_epoch"] = t0_epoch
    load_world.schedule_sends(world, datetime.fromtimestamp(t0_epoch, UTC), plan.rates["sends"])
    setup["late_start_s"] = round(max(0.0, time.time() - t0_epoch), 2)
    t0 = time.perf_counter() + (t0_epoch - time.time())
    streams = Streams(
        deliveries,
        spans["webhook"] / len(deliveries),
        [pages[i % len(pages)] for i in range(plan.pages)],
        1 / plan.rates["pages"],
        t0,
        args.timeout,
    )
    print(f"running the streams for {args.seconds:g} s", flush=True)
    before = {name: sum(map(cpu_seconds, pids)) for name, pids in processes.items()}
    in_requests = load_cpu.read_sums(cpu_dir)
    samples = asyncio.run(run_streams(port, cookie, streams))
    cpu = {
        name: round(sum(map(cpu_seconds, pids)) - before[name], 2)
        for name, pids in processes.items()
    }
    after = load_cpu.read_sums(cpu_dir)
    in_requests = {key: after[key] - in_requests[key] for key in after}
    return {
        "samples": samples,
        "t0": t0,
        "spans": spans,
        "cpu_s": cpu,
        "cpu_in_requests": in_requests,
    }


def main() -> None:
    args = parse_args()
    # Stopped with SIGTERM: still stop the processes and drop the schema (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # One connection per request in flight: an overloaded server can hold thousands.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    plan = Plan.of(args)
    schema = f"drip_load_{os.getpid()}"
    redis = redis_url(args.redis_url)
    setup = {
        "seconds": args.seconds,
        "scale": args.scale,
        "targets": plan.rates,
        "schema": schema,
        "load_average_before": load_average(),
        "statuses_per_post": args.statuses_per_post,
        "announced_logs": plan.announced,
        "planned_sends": plan.sends,
        "web_workers": args.web_workers,
        "send_workers": args.send_workers,
        "numbers": NUMBERS,
        "fake_latency_ms": args.fake_latency_ms,
        "request_timeout_s": args.timeout,
        "redis": redis is not None,
    }
    url = scratch_schema(args.database_url, schema)
    try:
        figures = run(args, plan, setup, url, redis)
    finally:
        drop_schema(args.database_url, schema)
    setup["load_average_after"] = load_average()
    result = load_report.report(setup, sends=plan.sends, **figures)
    print("LOAD_RESULT " + json.dumps(result, default=str), flush=True)
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
