"""Bench: import a 100,000-row contacts CSV on SQLite and on PostgreSQL.

    .venv/bin/python bench/import_contacts.py [--rows 100000] [--backend sqlite|postgresql|both]
        [--pg-url postgresql://postgres@127.0.0.1:5432/test]

The file goes through the real path: POST /api/contacts/import with an API key (202), the
background job (the embedded thread, as without REDIS_URL), polled on the status URL until
done; then the same file again (every row an update of an existing contact). Each backend
runs in a child process of its own, on a fresh database (a temp SQLite file; a scratch
schema on PostgreSQL, dropped after), so each peak RSS is that backend's imports'.
Goals (issue 3 / DESIGN.md budgets): under 30 s and under 400 MB each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.scratch import drop_schema, scratch_schema  # noqa: E402

GOAL_SECONDS = 30
GOAL_RSS_MB = 400
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
TIMEZONES = ["", "America/New_York", "Europe/London", "Asia/Kolkata", ""]
TAGS = ["", "vip", "newsletter", "vip;newsletter", "", "trial"]


def phone_numbers(count: int) -> list[str]:
    """Distinct valid numbers, +1 NPA 555 XXXX over the area codes phonenumbers accepts,
    each checked with is_valid_number."""
    import phonenumbers

    numbers: list[str] = []
    for area in range(201, 1000):
        if not phonenumbers.is_valid_number(phonenumbers.parse(f"+1{area}5550100")):
            continue
        for line in range(10000):
            number = f"+1{area}555{line:04d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(number)):
                numbers.append(number)
                if len(numbers) == count:
                    return numbers
    raise SystemExit(f"only {len(numbers)} valid numbers found")


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("phone,first_name,last_name,timezone,tags,city,plan\n")
        for i, phone in enumerate(phone_numbers(rows)):
            # One in four written as people type them: national format, read in region US.
            shown = f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}" if i % 4 == 0 else phone
            out.write(
                f"{shown},First{i},Last{i},{TIMEZONES[i % len(TIMEZONES)]},"
                f"{TAGS[i % len(TAGS)]},City {i % 500},{'pro' if i % 3 else 'free'}\n"
            )


def pg_scratch(pg_url: str) -> tuple[str, str]:
    schema = f"bench_import_{os.getpid()}"
    return schema, scratch_schema(pg_url, schema)


def run_one(database_url: str, csv_path: Path) -> dict:
    """In the child: a migrated database, an organization, then the timed imports: the file
    once into an empty table (all created), then again (all updated)."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from app.config import TestConfig
    from app.drip import accounts
    from app.extensions import db
    from app.models import Contact

    app = create_app(TestConfig(database_url=database_url))
    with app.app_context():
        upgrade()
        org = accounts.create_organization(db.session, "Bench")
        _key, token = accounts.create_api_key(db.session, org.id, "bench")
        db.session.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = timed_import(client, auth, csv_path)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["rss_before_import_mb"] = rss_before
    result["again"] = timed_import(client, auth, csv_path)
    result["again"]["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with app.app_context():
        result["stored"] = db.session.scalar(select(func.count()).select_from(Contact))
        db.engine.dispose()
    return result


def timed_import(client, auth: dict, csv_path: Path) -> dict:
    """POST the file (202), then poll its status URL as the page does, until it is done."""
    started = time.perf_counter()
    with csv_path.open("rb") as handle:
        response = client.post(
            "/api/contacts/import",
            data={"file": (handle, csv_path.name)},
            headers=auth,
            content_type="multipart/form-data",
        )
    accepted = time.perf_counter() - started
    assert response.status_code == 202, response.get_data(as_text=True)
    status_url = response.json["data"]["statusUrl"]
    while True:
        status = client.get(status_url, headers=auth).json["data"]
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    return {
        "status": status["status"],
        "last_error": status["lastError"],
        "rows": status["totalRows"],
        "created": status["created"],
        "updated": status["updated"],
        "errors": status["errorCount"],
        "seconds": time.perf_counter() - started,
        "accepted_seconds": accepted,
    }


def child(backend: str, csv_path: Path, pg_url: str) -> dict:
    command = [sys.executable, __file__, "--child", backend, "--csv", str(csv_path)]
    command += ["--pg-url", pg_url]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{backend} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_main(backend: str, csv_path: Path, pg_url: str) -> None:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            result = run_one(f"sqlite:///{tmp}/bench.db", csv_path)
    else:
        schema, url = pg_scratch(pg_url)
        try:
            result = run_one(url, csv_path)
        finally:
            drop_schema(pg_url, schema)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL))
    parser.add_argument("--child", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.csv, args.pg_url)
        return

    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "contacts.csv"
        write_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1024 / 1024
        print(f"CSV: {args.rows:,} rows, {size_mb:.1f} MB")
        failed = False
        for backend in backends:
            r = child(backend, csv_path, args.pg_url)
            for label, run in (("new", r), ("again", r["again"])):
                ok = (
                    run["status"] == "done"
                    and r["stored"] == args.rows
                    and run["seconds"] < GOAL_SECONDS
                    and run["peak_rss_mb"] < GOAL_RSS_MB
                )
                failed |= not ok
                print(
                    f"{backend:<10} {label:<5} {run['status']:<5} {run['seconds']:6.2f} s  "
                    f"{run['rows'] / run['seconds']:9,.0f} rows/s  "
                    f"peak RSS {run['peak_rss_mb']:4.0f} MB  "
                    f"(created {run['created']:,}, updated {run['updated']:,}, "
                    f"errors {run['errors']:,}; 202 after {run['accepted_seconds']:.2f} s)  "
                    f"goal < {GOAL_SECONDS} s, < {GOAL_RSS_MB} MB: {'ok' if ok else 'MISSED'}"
                )
                if run["last_error"]:
                    print(f"  last error: {run['last_error']}")
            print(
                f"{'':<10} stored {r['stored']:,} contacts; "
                f"RSS before the first upload {r['rss_before_import_mb']:.0f} MB"
            )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
