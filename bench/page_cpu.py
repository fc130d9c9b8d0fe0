"""CPU of the load bench's page views, in one process: the pages stream of bench/load.py
(issue 21) without gunicorn, the webhook or the senders around it.

    .venv/bin/python bench/page_cpu.py [--views 30] [--scale 1.0] [--database-url URL]
                                       [--profile onboarding|announcement|campaign]
                                       [--keep | --reuse] [--freeze]

Builds bench/load_world.py's data in a scratch schema (dropped at the end; --scale as the load
bench's, for a 60-second run), logs the marketer in with the Flask test client, views each
page a few times to warm up, then --views times in turn, and prints per page the mean process
CPU per view (time.process_time: this process is the web worker and the database is another),
the SQL statements per view (SQLAlchemy's before_cursor_execute) and the peak RSS. --profile
prints the cProfile of that page's views instead of timing them; --keep leaves the schema
for --reuse; --freeze moves what building the app made out of the collector's reach
(gc.freeze), as wsgi.py does in a web worker.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import re
import resource
import sys
import time
from pathlib import Path

from sqlalchemy import event, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.drip.demo import history as demo_history
from app.extensions import db
from app.models import DripCampaign, Organization
from bench import load_world
from bench.harness import PG, fake_cloud_api
from tests.support.scratch import drop_schema, scratch_schema

SCHEMA = "drip_bench_page_cpu"
WARM_UP = 3
SECONDS = 60  # the load bench's default run, which sizes its data
STATUSES, PER_POST = 3, 25  # bench/load.py: statuses per log, statuses per delivery
RATES = {"webhook": 3000.0, "sends": 1000.0}  # bench/load.py's TARGETS at --scale 1


def sizes(scale: float) -> tuple[int, int]:
    """The announcement's logs and the sending stream's enrollments, as bench/load.py's Plan."""
    posts = max(1, round(RATES["webhook"] * scale * SECONDS / STATUSES / PER_POST))
    return posts * PER_POST, max(2, round(RATES["sends"] * scale * SECONDS))


def pages(app) -> dict[str, str]:
    """The three pages of the stream; the campaigns are found by name, so a kept schema does."""
    with app.app_context():
        ids = dict(
            db.session.execute(
                select(DripCampaign.name, DripCampaign.id)
                .join(Organization, Organization.id == DripCampaign.organization_id)
                .where(Organization.name == "Load 1")
            ).all()
        )
        db.session.rollback()
    history, announcement = ids[demo_history.NAME], ids["Spring announcement"]
    return {
        "onboarding": f"/campaigns/{history}/analytics",
        "announcement": f"/campaigns/{announcement}/analytics",
        "campaign": f"/campaigns/{history}",
    }


def logged_in(app):
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
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
    return client


def view(client, path: str) -> None:
    answer = client.get(path)
    if answer.status_code != 200:
        raise SystemExit(f"{path}: HTTP {answer.status_code}")


def measure(app, paths: dict[str, str], views: int) -> dict[str, tuple[float, float]]:
    """(CPU ms per view, SQL statements per view) of each page."""
    client = logged_in(app)
    statements = [0]

    def counted(*_args) -> None:
        statements[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counted)
    for path in paths.values():
        for _ in range(WARM_UP):
            view(client, path)
    spent = dict.fromkeys(paths, 0.0)
    counts = dict.fromkeys(paths, 0)
    # In turn, as the load bench's stream: no page runs with another's caches all to itself.
    for _ in range(views):
        for name, path in paths.items():
            before, started = statements[0], time.process_time()
            view(client, path)
            spent[name] += time.process_time() - started
            counts[name] += statements[0] - before
    event.remove(engine, "before_cursor_execute", counted)
    return {name: (spent[name] * 1000 / views, counts[name] / views) for name in paths}


def profile(app, path: str, views: int) -> None:
    client = logged_in(app)
    for _ in range(WARM_UP):
        view(client, path)
    profiler = cProfile.Profile(time.process_time)  # CPU: not the wait for the database
    profiler.enable()
    for _ in range(views):
        view(client, path)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", type=int, default=30)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url", default=PG)
    parser.add_argument("--profile", choices=("onboarding", "announcement", "campaign"))
    parser.add_argument("--keep", action="store_true", help="leave the schema for --reuse")
    parser.add_argument("--reuse", action="store_true", help="use the schema a --keep run left")
    parser.add_argument("--freeze", action="store_true", help="gc.freeze() the app, as wsgi.py")
    args = parser.parse_args()
    if args.reuse:
        url = reused(args.database_url)
    else:
        url = build(args.database_url, args.scale)
    try:
        app = load_world.app_for(url)
        if args.freeze:
            gc.collect()
            gc.freeze()
        paths = pages(app)
        if args.profile:
            profile(app, paths[args.profile], args.views)
            return
        for name, (cpu, queries) in measure(app, paths, args.views).items():
            print(f"{name:<13} {paths[name]:<28} {cpu:7.1f} ms CPU/view  {queries:5.1f} SQL/view")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS: {peak:.0f} MB")
    finally:
        if not (args.keep or args.reuse):
            drop_schema(args.database_url, SCHEMA)


def build(database_url: str, scale: float) -> str:
    announced, sends = sizes(scale)
    url = scratch_schema(database_url, SCHEMA)
    started = time.perf_counter()
    # The numbers are verified with the Cloud API when saved; nothing is sent afterwards.
    with fake_cloud_api(load_world.TOKEN) as fake:
        load_world.build(url, fake.base_url, announced=announced, sends=sends, numbers=2)
    took = time.perf_counter() - started
    print(f"{announced:,} announced logs, {sends:,} enrollments; data in {took:.1f} s")
    return url


def reused(database_url: str) -> str:
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}options=-csearch_path%3D{SCHEMA}"


if __name__ == "__main__":
    main()
