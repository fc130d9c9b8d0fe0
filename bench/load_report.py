"""bench/load.py's figures: rates against targets, latency and errors per route, and the
reconciliation of what was posted and sent with what the database and the fake hold."""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict

from bench.harness import percentile

RATE_HELD = 0.95  # a stream holds its rate when it achieves at least 95% of the target
P99_GOAL_MS = {"webhook": 250, "page": 500}
RANK = {"sent": 1, "delivered": 2, "read": 3}


def report(
    setup: dict,
    *,
    samples,
    t0,
    spans,
    database,
    rows,
    fake,
    workers,
    memory,
    cpu_s,
    cpu_in_requests,
    sends,
) -> dict:
    """Print the figures; the result as a JSON-able dict (its "ok": nothing lost or failed)."""
    routes = _routes(samples)
    rates = _rates(setup, samples, t0, spans, database, fake)
    webhook = _webhook(samples, database, rows)
    sending = _sending(database, rows, fake, workers, sends)
    errors = sum(r["errors"] for r in routes.values()) + sending["worker_failures"]
    lost = webhook["lost_events"] + webhook["lost_deliveries"] + webhook["logs_behind"]
    lost += sending["lost"] + sending["unsettled"] + webhook["unapplied_deliveries"]
    duplicated = webhook["rollup_mismatch"] + sending["duplicates"]
    errors += sending["failed"]
    result = {
        "ok": errors == 0 and lost == 0 and duplicated == 0,
        "errors": errors,
        "lost_events": lost,
        "duplicated_events": duplicated,
        "rates": rates,
        "routes": routes,
        "webhook": webhook,
        "sending": sending,
        "memory_peak_rss_mb": memory,
        "cpu_seconds_during_streams": cpu_s,
        "cpu_ms_per_unit": cpu_per_unit(setup, cpu_s, cpu_in_requests, workers),
        "setup": setup,
    }
    _print(result)
    return result


CPU_GOALS_MS = {"send": 0.6, "status_event": 0.2, "page": 15.0}


def cpu_per_unit(setup: dict, cpu_s: dict, in_requests: dict, workers: list[dict]) -> dict:
    """ms of CPU per send (the worker processes, from "ready" to their end, over the messages
    they sent), per status event and per page (the web workers while the streams ran: the CPU
    measured inside each kind of request, plus the rest, accepting and parsing, shared by
    request count; a repeated delivery's statuses count as events too)."""
    hooks, views = in_requests["webhook_requests"], in_requests["page_requests"]
    rest = max(
        0.0, cpu_s["web workers"] * 1000 - in_requests["webhook_ms"] - in_requests["page_ms"]
    )
    share = rest / (hooks + views) if hooks + views else 0.0
    events = hooks * setup["statuses_per_post"]
    sent = sum(w.get("sent_after_ready", 0) for w in workers)
    worker_ms = sum(w.get("cpu_s_after_ready", 0) for w in workers) * 1000
    out = {
        "send": worker_ms / sent if sent else None,
        "status_event": (in_requests["webhook_ms"] + share * hooks) / events if events else None,
        "page": (in_requests["page_ms"] + share * views) / views if views else None,
        "status_event_in_request": in_requests["webhook_ms"] / events if events else None,
        "page_in_request": in_requests["page_ms"] / views if views else None,
        "web_outside_requests_per_request": share,
    }
    return {k: None if v is None else round(v, 3) for k, v in out.items()}


def _routes(samples) -> dict:
    by_route = defaultdict(list)
    for sample in samples:
        by_route[sample.route].append(sample)
    out = {}
    for route, items in by_route.items():
        latencies = [s.latency * 1000 for s in items]
        errors = [s.error for s in items if s.error]
        goal = P99_GOAL_MS["webhook" if route.startswith("POST") else "page"]
        p99 = percentile(latencies, 0.99)
        out[route] = {
            "requests": len(items),
            "errors": len(errors),
            "first_error": errors[0] if errors else None,
            "p50_ms": round(percentile(latencies, 0.5), 1),
            "p99_ms": round(p99, 1),
            "max_ms": round(max(latencies), 1),
            "p99_goal_ms": goal,
            "p99_goal_met": p99 < goal,
        }
    return out


def _rates(setup, samples, t0, spans, database, fake) -> dict:
    targets = setup["targets"]
    hooks = [s for s in samples if s.delivery is not None]
    pages = [s for s in samples if s.delivery is None]
    events = sum(len(s.delivery.pairs) for s in hooks if not s.error and not s.delivery.replay)
    out = {
        "webhook_events_per_s": _rate(targets["webhook"], events, spans["webhook"], hooks, t0),
        "page_views_per_s": _rate(
            targets["pages"], sum(1 for s in pages if not s.error), spans["pages"], pages, t0
        ),
    }
    span = setup["seconds"]
    last = database["last_send_after_t0_s"] or 0
    sends = _held(targets["sends"], database["send_logs_sent"] / max(span, last))
    # The fake's arrivals in the run's whole seconds: the steady rate and the busiest second.
    start = math.ceil(setup["t0_epoch"])
    inner = [v for k, v in fake["per_second"].items() if start <= int(k) < start + int(span) - 1]
    sends["fake_sustained"] = round(sum(inner) / len(inner), 1) if inner else None
    sends["fake_busiest_second"] = max(inner) if inner else None
    out["sends_per_s"] = sends
    return out


def _rate(target: float, count: int, span: float, items, t0: float) -> dict:
    """Answered count over the planned span, or until the last answer if that came later."""
    last = max((s.done for s in items), default=t0) - t0
    return _held(target, count / max(span, last))


def _held(target: float, achieved: float) -> dict:
    return {
        "target": round(target, 1),
        "achieved": round(achieved, 1),
        "held": achieved >= RATE_HELD * target,
    }


def _webhook(samples, database, rows) -> dict:
    """Every status event of a delivery answered 200 must be applied, each once; deliveries
    not answered in time (errors) may or may not have been applied (Meta would post them
    again), so they are not counted as posted."""
    hooks = [s for s in samples if s.delivery is not None]
    answered = [s for s in hooks if not s.error]
    posted = {pair for s in answered for pair in s.delivery.pairs}
    applied = rows["status_pairs"]
    digests = {hashlib.sha256(s.delivery.body).hexdigest() for s in answered}
    expected: dict[str, str] = {}
    for wamid, status in posted:
        if RANK[status] > RANK.get(expected.get(wamid, ""), 0):
            expected[wamid] = status
    behind = sum(
        1 for wamid, status in expected.items() if RANK.get(rows["log_status"].get(wamid), 0)
        < RANK[status]
    )  # fmt: skip
    funnel = database["funnel_vs_logs"]
    return {
        "deliveries_posted": len(hooks),
        "deliveries_answered": len(answered),
        "replays_answered": sum(1 for s in answered if s.delivery.replay),
        "events_posted": len(posted),
        "events_applied": len(applied),
        "lost_events": len(posted - applied),
        "webhook_events_rows": database["webhook_events"],
        "lost_deliveries": len(digests - rows["delivery_digests"]),
        "unapplied_deliveries": database["webhook_events_unapplied"],
        "logs_by_status": database["announcement_logs_by_status"],
        "logs_behind": behind,
        "funnel_vs_logs": funnel,
        "rollup_mismatch": sum(abs(a - b) for a, b in funnel.values()),
    }


def _sending(database, rows, fake, workers, sends: int) -> dict:
    accepted = {int(k.split("=", 1)[1]) for k in fake.get("accepted_by_callback", {})}
    sent = rows["sent_log_ids"]
    new = database["new_logs_by_status"]
    enrollments = database["send_enrollments_by_status"]
    return {
        "planned": sends,
        "sent_by_workers": sum(w.get("sent", 0) for w in workers),
        "sent_in_database": len(sent),
        "accepted_by_fake": fake["accepted"],
        "fake_requests": fake["requests"],
        "fake_outcomes": fake["outcomes"],
        "duplicates": sum(1 for n in fake.get("received_by_callback", {}).values() if n > 1),
        "lost": len(sent - accepted) + len(accepted - sent),
        "unsettled": new.get("pending", 0),
        "failed": new.get("failed", 0),
        "left_due": enrollments.get("active", 0),
        "completed": enrollments.get("completed", 0),
        "send_delay_s": database["send_delay_s"],
        "worker_failures": sum(1 for w in workers if "error" in w),
        "workers": workers,
    }


def _yes(flag: bool) -> str:
    return "met" if flag else "MISSED"


def _print(result: dict) -> None:
    setup, rates, web, send = result["setup"], result["rates"], result["webhook"], result["sending"]
    print(
        f"Load: {setup['seconds']:g} s at scale {setup['scale']:g} on PostgreSQL"
        f" (schema {setup['schema']}); load average before {setup['load_average_before']},"
        f" after {setup['load_average_after']}; setup {setup['setup_s']} s"
    )
    print(
        f"  gunicorn {setup['web_workers']} sync workers, {setup['send_workers']} worker"
        f" processes, fake Cloud API answering in {setup['fake_latency_ms']:g} ms,"
        f" {setup['numbers']} WhatsApp numbers at tier 1,000/s (Drip paces 5% under: one number"
        f" cannot carry 1,000/s), rate limiter {'on Redis' if setup['redis'] else 'per process'};"
        f" a request unanswered {setup['request_timeout_s']:g} s after its planned time is an"
        " error"
    )
    print(
        f"  webhook: deliveries of {setup['statuses_per_post']} statuses each (sent, delivered,"
        f" read of {setup['announced_logs']:,} logs); 1 in 50 deliveries posted twice"
    )
    print("\nstream                 target/s   achieved/s  goal (>= 95% of target)")
    for name, rate in rates.items():
        print(
            f"  {name:<21}{rate['target']:>9,.1f}{rate['achieved']:>13,.1f}  {_yes(rate['held'])}"
        )
    sends = rates["sends_per_s"]
    print(
        f"  (sends at the fake, whole seconds of the run: {sends['fake_sustained']}/s sustained,"
        f" busiest second {sends['fake_busiest_second']})"
    )
    head = f"{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
    print(f"\n{'route':<48}{head}  p99 goal")
    for route, r in sorted(result["routes"].items()):
        times = f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}"
        print(
            f"  {route:<46}{r['requests']:>9,}{r['errors']:>8}{times}"
            f"  < {r['p99_goal_ms']} ms {_yes(r['p99_goal_met'])}"
        )
        if r["first_error"]:
            print(f"    first error: {r['first_error']}")
    delay = send["send_delay_s"]
    print(
        f"  {'send (due -> recorded sent)':<46}{send['sent_in_database']:>9,}{send['failed']:>8}"
        f"{_ms(delay['p50'])}{_ms(delay['p99'])}{_ms(delay['max'])}  (no goal)"
    )
    print("\nreconciliation")
    print(
        f"  webhook: {web['deliveries_posted']:,} deliveries posted,"
        f" {web['deliveries_answered']:,} answered 200 ({web['replays_answered']} of them"
        f" repeats) with {web['events_posted']:,} status events: lost {web['lost_events']};"
        f" {web['events_applied']:,} status events applied in all;"
        f" webhook_events rows {web['webhook_events_rows']:,}, missing"
        f" {web['lost_deliveries']}, unapplied {web['unapplied_deliveries']};"
        f" logs {web['logs_by_status']}, behind their last status {web['logs_behind']};"
        f" funnel vs logs {web['funnel_vs_logs']}"
    )
    print(
        f"  sending: planned {send['planned']:,}, sent by workers {send['sent_by_workers']:,},"
        f" sent in the database {send['sent_in_database']:,}, accepted by the fake"
        f" {send['accepted_by_fake']:,} (requests {send['fake_requests']:,},"
        f" outcomes {send['fake_outcomes']}), duplicates {send['duplicates']}, lost"
        f" {send['lost']}, pending {send['unsettled']}, failed {send['failed']}, still due"
        f" {send['left_due']}, worker failures {send['worker_failures']}"
    )
    memory = result["memory_peak_rss_mb"]
    print(
        f"  peak RSS: web workers {memory['web']['workers']} MB (master"
        f" {memory['web']['master']} MB), worker processes {memory['workers']} MB"
    )
    cpu = ", ".join(f"{name} {v:g}" for name, v in result["cpu_seconds_during_streams"].items())
    print(
        f"  CPU seconds used while the streams ran ({setup['seconds']:g} s, 2 cores:"
        f" {2 * setup['seconds']:g} CPU s at most, PostgreSQL not counted): {cpu}"
    )
    unit = result["cpu_ms_per_unit"]
    print("  CPU per unit (ms of user + system CPU; goal):")
    for name, label in (("send", "send"), ("status_event", "status event"), ("page", "page")):
        value = unit[name]
        shown = "-" if value is None else f"{value:.3f}"
        met = value is not None and value <= CPU_GOALS_MS[name]
        print(f"    {label:<14}{shown:>9}  <= {CPU_GOALS_MS[name]:g} {_yes(met)}")
    print(
        f"    (inside requests: {unit['status_event_in_request']} per status event,"
        f" {unit['page_in_request']} per page; accepting and parsing"
        f" {unit['web_outside_requests_per_request']} per request)"
    )
    verdict = "OK" if result["ok"] else "FAILED"
    print(
        f"\n{verdict}: errors {result['errors']}, lost {result['lost_events']},"
        f" duplicated {result['duplicated_events']}"
    )


def _ms(seconds: float | None) -> str:
    return f"{'-':>9}" if seconds is None else f"{seconds * 1000:>9.1f}"
