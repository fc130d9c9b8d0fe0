"""The capacity model's arithmetic (bench/capacity.py), checked with numbers worked by hand."""

from __future__ import annotations

import pytest

from bench.capacity import (
    Costs,
    Workload,
    daily_rows,
    peak_per_second,
    per_process,
    plan_processes,
    plan_storage,
    processes,
)


def test_peak_rate_is_the_daily_average_times_the_peak_factor():
    assert peak_per_second(86_400, 1) == 1
    assert peak_per_second(1_000_000, 3) == pytest.approx(34.722, abs=1e-3)


def test_processes_are_the_peak_cpu_over_the_target_utilisation_rounded_up():
    # 100/s x 9 ms = 0.9 s of CPU a second; at 60% a process gives 0.6 s: 1.5 -> 2
    assert processes(100, 9, 0.6) == 2
    # exactly 3 processes' worth is 3, not 4 (no float error pushes it over)
    assert processes(180, 10, 0.6) == 3
    assert processes(0.3, 0.9, 0.6) == 1  # any load needs one
    assert processes(0, 0.9, 0.6) == 0


def test_one_process_carries_the_target_utilisation_over_the_cpu_per_unit():
    assert per_process(0.9, 0.6) == pytest.approx(666.67, abs=0.01)
    assert per_process(30, 0.5) == pytest.approx(16.67, abs=0.01)


def test_daily_rows_of_each_table():
    load = Workload(
        contacts=1000,
        organizations=10,
        sends_per_day=10_000,
        statuses_per_send=3,
        statuses_per_delivery=25,
        reply_rate=0.05,
        messages_per_enrollment=4,
    )
    rows = daily_rows(load, rollup_rows_per_send=0.5)
    assert rows["drip_message_logs"] == 10_000
    assert rows["whatsapp_status_events"] == 30_000
    assert rows["inbound_messages"] == 500
    # 30,000 statuses in deliveries of 25 = 1,200, plus one delivery per reply
    assert rows["webhook_events"] == 1_700
    assert rows["drip_enrollments"] == 2_500
    assert rows["rollups"] == 5_000
    assert "contacts" not in rows  # a standing stock, not a daily flow


def test_storage_per_day_month_and_steady_state():
    load = Workload(sends_per_day=1000, statuses_per_send=1, reply_rate=0, contacts=100)
    sizes = {
        "drip_message_logs": 500,
        "whatsapp_status_events": 200,
        "webhook_events": 1000,
        "inbound_messages": 300,
        "rollups": 100,
        "drip_enrollments": 400,
        "contacts": 250,
    }
    plan = plan_storage(load, sizes, rollup_rows_per_send=0.1, retention_days=90, months=12)
    logs = plan["drip_message_logs"]
    assert logs.per_day == 500_000
    assert logs.per_month == 30 * 500_000
    # retained 90 days, dropped by whole months: a month goes once its last day is 90 days
    # old, so up to 90 + 30 days are on disk
    assert logs.kept == (90 + 30) * 500_000
    enrollments = plan["drip_enrollments"]
    assert enrollments.rows_per_day == 250
    assert enrollments.kept == 12 * 30 * 250 * 400  # never dropped: a year of them
    contacts = plan["contacts"]
    assert contacts.per_day == 0 and contacts.kept == 100 * 250
    total = plan["total"]
    assert total.per_day == sum(p.per_day for k, p in plan.items() if k != "total")
    assert total.kept == sum(p.kept for k, p in plan.items() if k != "total")


def test_web_processes_add_up_the_webhook_replies_and_pages():
    load = Workload(
        sends_per_day=86_400,
        statuses_per_send=3,
        reply_rate=0.1,
        page_views_per_day=86_400,
        peak_factor=2,
    )
    costs = Costs(send_ms=1, status_ms=0.5, reply_ms=5, page_ms=30)
    plan = plan_processes(load, costs, utilisation=0.5)
    # at peak: 2 sends/s, 6 statuses/s, 0.2 replies/s, 2 pages/s
    assert plan["web"].cpu_s_per_s == pytest.approx(6 * 0.0005 + 0.2 * 0.005 + 2 * 0.030)
    assert plan["web"].processes == 1  # 0.064 s a second at 50%: 0.128 -> 1
    assert plan["worker"].cpu_s_per_s == pytest.approx(0.002)
    assert plan["worker"].processes == 1
    big = plan_processes(Workload(sends_per_day=86_400_000, peak_factor=1), costs, 0.5)
    assert big["worker"].processes == 2  # 1,000/s x 1 ms = 1 s a second at 50%
