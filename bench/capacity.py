"""Capacity model: the processes and the PostgreSQL storage a workload needs, from measured
per-unit CPU costs and row sizes.

    .venv/bin/python bench/capacity.py [--contacts 10000000] [--organizations 100]
        [--sends-per-day 1000000] [--statuses-per-send 3] [--replies-rate 0.05]
        [--peak-factor 3] [--utilisation 0.6] [--retention-days 90]
        [--cpu-per-send-ms 0.45] [--cpu-per-status-ms 0.23] [--cpu-per-page-ms 20]

Row sizes are measured on every run (bench/capacity_measure.py): a scratch PostgreSQL schema
with a sample of --sample-sends sends, their statuses and replies posted to the webhook as
Meta would, rollups compacted; bytes per row = pg_total_relation_size (table, indexes, toast)
over the rows. The time to drop a month is measured on a partitioned table shaped like the
status events (--drop-rows in the month, --drop-repeats times, the median). CPU per unit is an
input, by default the latest figures of bench/send_throughput.py and bench/load.py (update
them from those benches); the run prints its own in-process webhook figures beside them.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAY_S = 86_400
MONTH_DAYS = 30
# The growing tables, in the order printed; contacts are a standing stock.
HISTORY = ("drip_message_logs", "whatsapp_status_events", "webhook_events", "inbound_messages")
KEPT = ("rollups", "drip_enrollments")
TABLES = (*HISTORY, *KEPT, "contacts")
SOURCES = {
    "send_ms": "bench/load.py, full mix, worker CPU per send",
    "status_ms": "bench/load.py, full mix, ~5.8 ms per 25-status delivery",
    "page_ms": "bench/load.py, full mix, dashboard and campaign pages",
    "reply_ms": "measured here, in-process",
}


@dataclass(frozen=True)
class Workload:
    contacts: int = 10_000_000
    organizations: int = 100
    sends_per_day: float = 1_000_000
    statuses_per_send: float = 3  # sent, delivered, read
    statuses_per_delivery: int = 25  # what the webhook CPU figure was measured with
    reply_rate: float = 0.05  # inbound messages per send
    messages_per_enrollment: float = 4  # each enrollment row carries this many sends
    page_views_per_day: float = 50_000
    peak_factor: float = 3  # the busiest second over the day's average


@dataclass(frozen=True)
class Costs:
    """CPU milliseconds of Python per unit of work (one core each: a process is one core)."""

    send_ms: float = 0.45
    status_ms: float = 0.23
    reply_ms: float = 9.0
    page_ms: float = 20.0


@dataclass(frozen=True)
class Processes:
    lines: list = field(default_factory=list)  # (what, peak per s, ms per unit, per process)
    cpu_s_per_s: float = 0.0
    processes: int = 0


@dataclass(frozen=True)
class Storage:
    bytes_per_row: float
    rows_per_day: float
    per_day: float  # bytes
    per_month: float  # bytes: one monthly partition of a partitioned table
    kept: float  # bytes at steady state (retention, or `months` of growth)


def peak_per_second(per_day: float, peak_factor: float) -> float:
    return per_day / DAY_S * peak_factor


def processes(peak_per_s: float, cpu_ms: float, utilisation: float) -> int:
    """Processes to carry peak_per_s units of cpu_ms each, every process busy at most
    `utilisation` of its core (rounded before the ceiling: 3.0000000004 processes are 3)."""
    return math.ceil(round(peak_per_s * cpu_ms / 1000 / utilisation, 9))


def per_process(cpu_ms: float, utilisation: float) -> float:
    """Units a second one process carries at the target utilisation."""
    return utilisation * 1000 / cpu_ms


def plan_processes(load: Workload, costs: Costs, utilisation: float) -> dict[str, Processes]:
    """Web processes for the webhook (statuses and replies) and the pages, worker processes
    for the sends, all at the peak rate."""
    sends = peak_per_second(load.sends_per_day, load.peak_factor)
    web = [
        ("webhook statuses", sends * load.statuses_per_send, costs.status_ms),
        ("webhook replies", sends * load.reply_rate, costs.reply_ms),
        (
            "dashboard pages",
            peak_per_second(load.page_views_per_day, load.peak_factor),
            costs.page_ms,
        ),
    ]
    out = {}
    for name, lines in (("web", web), ("worker", [("sends", sends, costs.send_ms)])):
        cpu = sum(rate * ms / 1000 for _, rate, ms in lines)
        out[name] = Processes(
            [(what, rate, ms, per_process(ms, utilisation)) for what, rate, ms in lines],
            cpu,
            processes(cpu * 1000, 1, utilisation),
        )
    return out


def daily_rows(load: Workload, rollup_rows_per_send: float) -> dict[str, float]:
    statuses = load.sends_per_day * load.statuses_per_send
    replies = load.sends_per_day * load.reply_rate
    return {
        "drip_message_logs": load.sends_per_day,
        "whatsapp_status_events": statuses,
        # a delivery carries up to statuses_per_delivery statuses; a reply comes alone
        "webhook_events": math.ceil(statuses / load.statuses_per_delivery) + replies,
        "inbound_messages": replies,
        "rollups": load.sends_per_day * rollup_rows_per_send,
        "drip_enrollments": load.sends_per_day / load.messages_per_enrollment,
    }


def plan_storage(
    load: Workload,
    bytes_per_row: dict[str, float],
    rollup_rows_per_send: float,
    retention_days: int = 90,
    months: int = 12,
) -> dict[str, Storage]:
    """Bytes per table per day, per month, and kept: the history tables `retention_days` and
    one month (a monthly partition goes once its last day is past the retention), rollups
    and enrollments `months` of growth (nothing drops them), contacts as they stand."""
    rows = daily_rows(load, rollup_rows_per_send)
    plan = {}
    for table, per_day_rows in rows.items():
        size = bytes_per_row[table]
        days = retention_days + MONTH_DAYS if table in HISTORY else months * MONTH_DAYS
        day = per_day_rows * size
        plan[table] = Storage(size, per_day_rows, day, day * MONTH_DAYS, day * days)
    size = bytes_per_row["contacts"]
    plan["contacts"] = Storage(size, 0, 0, 0, load.contacts * size)
    plan["total"] = Storage(
        0,
        sum(p.rows_per_day for p in plan.values()),
        sum(p.per_day for p in plan.values()),
        sum(p.per_month for p in plan.values()),
        sum(p.kept for p in plan.values()),
    )
    return plan


def human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return ""


def print_processes(plan: dict[str, Processes], utilisation: float, sources: dict) -> None:
    print(f"\nProcesses at peak (each process one core, busy at most {utilisation:.0%})")
    print(f"  {'load':<18}{'peak/s':>10}{'CPU ms/unit':>13}{'one carries/s':>15}  source")
    for kind, plan_ in plan.items():
        for what, rate, ms, carries in plan_.lines:
            print(f"  {what:<18}{rate:>10,.1f}{ms:>13.2f}{carries:>15,.0f}  {sources[what]}")
        print(
            f"  => {kind} processes: {plan_.processes} "
            f"({plan_.cpu_s_per_s:.2f} CPU s per s at peak)"
        )


def print_storage(
    plan: dict[str, Storage], low: dict[str, Storage], sources: dict, retention: int, months: int
) -> None:
    """`plan` with the sizes as written, `low` with the compact ones (kept: from low to plan)."""
    print(
        f"\nPostgreSQL storage (table + indexes + toast; kept = {retention} + 30 days of history, "
        f"{months} months of rollups and enrollments, all contacts)"
    )
    head = f"  {'table':<24}{'B/row':>7}{'compact':>9}{'rows/day':>12}{'per day':>11}"
    print(f"{head}{'per month':>11}{'kept':>11}{'compact':>11}")
    for table, s in plan.items():
        compact = low[table]
        per_row = (
            f"{s.bytes_per_row:>7,.0f}{compact.bytes_per_row:>9,.0f}" if s.bytes_per_row else ""
        )
        print(
            f"  {table:<24}{per_row:<16}{s.rows_per_day:>12,.0f}{human(s.per_day):>11}"
            f"{human(s.per_month):>11}{human(s.kept):>11}{human(compact.kept):>11}"
        )
    print("  B/row: as written, after VACUUM (the table's size over its rows in the sample:")
    print("  " + "; ".join(f"{k} {v}" for k, v in sources.items()) + ");")
    print("  compact: after VACUUM FULL, what a table reusing its free space tends to")


def arguments(argv=None):
    d, c = Workload(), Costs()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = p.add_argument
    add("--contacts", type=int, default=d.contacts)
    add("--organizations", type=int, default=d.organizations)
    add("--sends-per-day", type=float, default=d.sends_per_day)
    add("--statuses-per-send", type=float, default=d.statuses_per_send)
    add("--statuses-per-delivery", type=int, default=d.statuses_per_delivery)
    add("--replies-rate", type=float, default=d.reply_rate, help="replies per send")
    add("--messages-per-enrollment", type=float, default=d.messages_per_enrollment)
    add("--page-views-per-day", type=float, default=d.page_views_per_day)
    add("--peak-factor", type=float, default=d.peak_factor)
    add("--utilisation", type=float, default=0.6, help="target CPU utilisation per process")
    add("--retention-days", type=int, default=90)
    add("--months", type=int, default=12, help="growth kept of what nothing drops")
    add("--steps-per-organization", type=int, default=20, help="campaign steps sending daily")
    add("--cpu-per-send-ms", type=float, default=c.send_ms)
    add("--cpu-per-status-ms", type=float, default=c.status_ms)
    add("--cpu-per-page-ms", type=float, default=c.page_ms)
    add("--cpu-per-reply-ms", type=float, help="default: measured here, in-process")
    add("--sample-sends", type=int, default=20_000)
    add("--drop-rows", type=int, default=1_000_000)
    add("--drop-repeats", type=int, default=3)
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = arguments(argv)
    load = Workload(
        args.contacts,
        args.organizations,
        args.sends_per_day,
        args.statuses_per_send,
        args.statuses_per_delivery,
        args.replies_rate,
        args.messages_per_enrollment,
        args.page_views_per_day,
        args.peak_factor,
    )
    from bench import capacity_measure  # PostgreSQL and the app: not for the unit tests

    steps = max(args.organizations * args.steps_per_organization, 1)
    m = capacity_measure.measure(
        sends=args.sample_sends,
        sends_per_step=max(args.sends_per_day / steps, 1),
        statuses_per_delivery=args.statuses_per_delivery,
        reply_rate=args.replies_rate,
        drop_rows=args.drop_rows,
        drop_repeats=args.drop_repeats,
    )
    costs = Costs(
        args.cpu_per_send_ms,
        args.cpu_per_status_ms,
        args.cpu_per_reply_ms or m.reply_ms,
        args.cpu_per_page_ms,
    )
    sources = {
        "webhook statuses": SOURCES["status_ms"] + f" (in-process here: {m.status_ms:.2f})",
        "webhook replies": SOURCES["reply_ms"]
        if not args.cpu_per_reply_ms
        else "--cpu-per-reply-ms",
        "dashboard pages": SOURCES["page_ms"],
        "sends": SOURCES["send_ms"],
    }
    peak = peak_per_second(load.sends_per_day, load.peak_factor)
    print(
        f"Workload: {load.contacts:,} contacts, {load.organizations:,} organizations, "
        f"{load.sends_per_day:,.0f} sends a day ({peak:,.1f}/s at peak x{load.peak_factor:g}), "
        f"{load.statuses_per_send:g} statuses and {load.reply_rate:g} replies per send, "
        f"{load.page_views_per_day:,.0f} page views a day"
    )
    print("CPU per unit: inputs, update them from bench/send_throughput.py and bench/load.py")
    print_processes(plan_processes(load, costs, args.utilisation), args.utilisation, sources)
    keep = (m.rollup_rows_per_send, args.retention_days, args.months)
    plan = plan_storage(load, m.bytes_per_row, *keep)
    low = plan_storage(load, m.compact_bytes_per_row, *keep)
    print_storage(plan, low, m.sample, args.retention_days, args.months)
    print(
        "\nA month of history: monthly partitions of "
        f"{human(plan['whatsapp_status_events'].per_month)} of status events, "
        f"{human(plan['webhook_events'].per_month)} of webhook deliveries and "
        f"{human(plan['inbound_messages'].per_month)} of inbound messages (dropped whole);"
        f" {human(plan['drip_message_logs'].per_month)} of message logs (one table: deleted"
        " in batches up to the same month)"
    )
    each = ", ".join(f"{a:.0f} + {b:.0f}" for a, b in m.drop_times_ms)
    print(
        f"Dropping a month of {args.drop_rows:,} status events ({human(m.drop_partition_bytes)})"
        f": median {m.drop_median_ms():,.0f} ms of {args.drop_repeats} ({each} ms); the DETACH"
        f" PARTITION, the only part that locks the parent table, {m.drop_median_ms(0):,.1f} ms"
        f" (metadata); the DROP TABLE {m.drop_median_ms(1):,.0f} ms (unlinking the files of a"
        " table no query reads any more)"
    )
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"Peak RSS of this bench: {peak_kb / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
