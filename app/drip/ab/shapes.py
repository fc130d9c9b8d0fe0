"""A/B test results as dictionaries: the API's shape of a test, the snapshot a completed
test keeps of its decision, and the daily cumulative rates of the results page's chart.

Rates are percentages 0-100, unrounded; lifts are relative percentages (absoluteLift in
percentage points); times are ISO 8601 UTC strings, so a statistics dictionary is stored as
it is (a completed test's decision snapshot).
"""

from __future__ import annotations

from datetime import datetime

from app.drip.ab import headline as ab_headline
from app.drip.ab.eta import Eta
from app.drip.ab.intervals import lift_interval
from app.drip.ab.results import TestResults, VariantCounts
from app.drip.ab.sequential import Analysis, Decision


def percent(fraction: float | None) -> float | None:
    return None if fraction is None else fraction * 100.0


def iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def winner_id(results: TestResults) -> int | None:
    """The variant the auto-winner rule would declare now (None: no decision)."""
    index = results.decision.winner_index
    return None if index is None else results.variants[index].id


def variants_dict(results: TestResults) -> list[dict]:
    empty = VariantCounts()
    rows = []
    for variant, stats in zip(results.variants, results.shown.variants, strict=True):
        c = results.counts.get(variant.id, empty)
        rows.append(
            {
                "id": variant.id,
                "name": variant.name,
                "isControl": variant.is_control,
                "messageContent": variant.message_content,
                "trafficAllocation": float(variant.traffic_allocation),
                **{name: getattr(c, name) for name in ("assigned", "sent", "delivered")},
                **{name: getattr(c, name) for name in ("read", "replied", "clicked")},
                "successes": c.successes,
                "rate": percent(stats.rate),
                "ciLow": percent(stats.ci_low),
                "ciHigh": percent(stats.ci_high),
            }
        )
    return rows


COMPARED = (
    "lift",
    "absoluteLift",
    "zScore",
    "pValue",
    "adjustedPValue",
    "sequentialPValue",
    "adjustedSequentialPValue",
    "significant",
    "liftLow",
    "liftHigh",
    "differenceLow",
    "differenceHigh",
    "runningMinimumPValue",
    "adjustedRunningMinimumPValue",
)
RUNNING_MINIMUM = "runningMinimum"


def running_minimum(test) -> dict:
    """{variant id (str): {"p", "adjusted"}} of the current phase: the smallest sequential
    p-values (matured sends) the auto-winner job has seen at its looks.

    Kept in decision_snapshot["runningMinimum"] with its phase (the job writes it at each
    pass, running.check_for_winners) rather than recomputed over the daily history: the
    matured counts of a past day cannot be rebuilt exactly from today's rows (successes keep
    arriving inside the window), while the looks the job actually took are the ones whose
    minimum is always valid (Ville's inequality holds over any set of looks). A reallocation
    starts a new phase, and with it a new minimum."""
    stored = (test.decision_snapshot or {}).get(RUNNING_MINIMUM) or {}
    if stored.get("phase") != test.phase:
        return {}
    return stored.get("comparisons") or {}


def next_running_minimum(results: TestResults) -> dict:
    """The running minimum after this look (what the job stores)."""
    test, ids = results.test, [v.id for v in results.variants]
    before = running_minimum(test)
    comparisons = {}
    for c in results.matured.comparisons:
        key = str(ids[c.index])
        old = before.get(key) or {}
        comparisons[key] = {
            "p": min(c.sequential_p_value, old.get("p", 1.0)),
            "adjusted": min(c.adjusted_sequential_p_value, old.get("adjusted", 1.0)),
        }
    return {"phase": test.phase, "comparisons": comparisons}


def _interval(analysis: Analysis, index: int, control: int, confidence: float) -> dict:
    """The always-valid interval of the variant's lift over the control on these counts, at
    the test's tuning (planned_n); lift ends are null where no relative lift is claimed."""
    v, c = analysis.variants[index], analysis.variants[control]
    found = lift_interval(c.successes, c.n, v.successes, v.n, analysis.planned_n, 1 - confidence)
    if found is None:
        return dict.fromkeys(("liftLow", "liftHigh", "differenceLow", "differenceHigh"))
    return {
        "liftLow": percent(found.lift_low),
        "liftHigh": percent(found.lift_high),
        "differenceLow": percent(found.difference_low),
        "differenceHigh": percent(found.difference_high),
    }


def _comparisons(results: TestResults, analysis: Analysis, minimum: dict | None = None) -> list:
    """Each variant against the control. When either has no sends there is nothing to
    compare: every number and `significant` are null and `note` says why (stats.py's p = 1.0
    and significant = false there are placeholders, not findings). With `minimum` (the
    decision's data), the running minimum of the sequential p-values too."""
    ids = [v.id for v in results.variants]
    confidence = results.test.confidence_threshold
    rows = []
    for c in analysis.comparisons:
        seen = (minimum or {}).get(str(ids[c.index])) or {}
        row = {
            "variantId": ids[c.index],
            "controlId": ids[c.control_index],
            "lift": percent(c.lift),
            "absoluteLift": percent(c.absolute_lift),
            "zScore": c.z_score,
            "pValue": c.p_value,
            "adjustedPValue": c.adjusted_p_value,
            "sequentialPValue": c.sequential_p_value,
            "adjustedSequentialPValue": c.adjusted_sequential_p_value,
            "significant": c.significant,
            **_interval(analysis, c.index, c.control_index, confidence),
            "runningMinimumPValue": min(c.sequential_p_value, seen.get("p", 1.0)),
            "adjustedRunningMinimumPValue": min(
                c.adjusted_sequential_p_value, seen.get("adjusted", 1.0)
            ),
            "note": None,
        }
        if c.lift is None:
            row.update(liftLow=None, liftHigh=None)
        if not analysis.variants[c.index].n or not analysis.variants[c.control_index].n:
            row.update(dict.fromkeys(COMPARED), note=ab_headline.NO_SENDS)
        rows.append(row)
    return rows


def srm_dict(results: TestResults) -> dict:
    srm = results.shown.srm
    warning = None
    if srm.mismatch:
        warning = (
            "Sample ratio mismatch: the contacts assigned to each variant do not follow the "
            f"traffic allocation (chi-square p = {srm.p_value:.2g}). Something other than the "
            "allocation decided who got which message, so the rates may be biased; the "
            "automatic winner is blocked until it is explained."
        )
    return {
        "statistic": srm.statistic,
        "pValue": srm.p_value,
        "mismatch": srm.mismatch,
        "warning": warning,
    }


def statistics_dict(results: TestResults) -> dict:
    """The `statistics` object of a test: shown comparisons, SRM, and the sequential decision
    on matured sends."""
    test, matured = results.test, results.matured
    return {
        "metric": test.winning_metric,
        "phase": test.phase,
        "phaseStartedAt": iso(test.phase_started_at),
        "confidence": test.confidence_threshold,
        "comparisons": _comparisons(results, results.shown),
        "srm": srm_dict(results),
        "sequential": {
            "plannedN": matured.planned_n,
            "outcomeWindowHours": test.outcome_window_hours,
            "maturedBefore": iso(results.matured_before),
            "variants": [
                {"variantId": s.key, "n": s.n, "successes": s.successes, "rate": percent(s.rate)}
                for s in matured.variants
            ],
            "comparisons": _comparisons(results, matured, running_minimum(test)),
            "decision": decision_dict(results.decision, winner_id(results)),
        },
        "canDeclareWinner": test.status in ("running", "paused")
        and results.decision.can_declare_winner,
    }


def decision_dict(decision: Decision, winner: int | None) -> dict:
    return {"code": decision.code, "reason": decision.reason, "winnerId": winner}


def eta_dict(eta: Eta | None) -> dict:
    """The decision's outlook: more sends per variant it needs, the sends so far of the
    variant furthest behind, the likely date at the step's recent pace, whether the step can
    get there, and all that in words."""
    if eta is None:
        return dict.fromkeys(
            (
                "sendsNeeded",
                "sendsSoFar",
                "sendsTarget",
                "sendsPerDay",
                "expectedAt",
                "reachable",
                "note",
            )
        )
    return {
        "sendsNeeded": eta.sends_needed,
        "sendsSoFar": eta.sends_so_far,
        "sendsTarget": eta.target,
        "sendsPerDay": eta.per_day,
        "expectedAt": iso(eta.expected_at),
        "reachable": eta.reachable,
        "note": eta.note,
    }


def live_verdict(results: TestResults) -> str:
    """The plain sentence: the auto-winner's view, quoting the table's lift."""
    return ab_headline.live_sentence(results)


def snapshot(results: TestResults, decision: dict) -> dict:
    """What a completed test keeps of the moment it was decided: JSON as it is."""
    return {
        "decision": decision,
        "verdict": live_verdict(results),
        "variants": variants_dict(results),
        "statistics": statistics_dict(results),
    }


def decision_and_verdict(results: TestResults) -> tuple[dict, str, dict | None]:
    """The decision shown (with its outlook), its sentence and the headline arm: a completed
    test's stored decision, else the auto-winner rule's on the matured sends now."""
    test = results.test
    outlook = eta_dict(results.eta)
    if test.status == "completed" and test.decision_snapshot:
        stored = test.decision_snapshot
        sentence, index = ab_headline.completed_sentence(results, stored)
        decision = {**stored.get("decision", {}), **outlook}
        return decision, sentence, ab_headline.headline(results, index)
    decision = {**decision_dict(results.decision, winner_id(results)), **outlook}
    if test.status == "draft":
        return decision, "Not started yet.", None
    sentence = live_verdict(results)
    shown = ab_headline.headline(results, ab_headline.named_index(results))
    return decision, f"Paused. {sentence}" if test.status == "paused" else sentence, shown


def test_dict(results: TestResults) -> dict:
    """A test as the API shows it: settings, lifecycle, variants with counts, statistics,
    the decision (stored, once completed) and its plain sentence."""
    test = results.test
    decision, sentence, headline = decision_and_verdict(results)
    return {
        "id": test.id,
        "campaignId": test.campaign_id,
        "stepId": test.step_id,
        "name": test.name,
        "status": test.status,
        "winningMetric": test.winning_metric,
        "confidenceThreshold": test.confidence_threshold,
        "minSampleSize": test.min_sample_size,
        "outcomeWindowHours": test.outcome_window_hours,
        "plannedSampleSize": test.planned_sample_size,
        "maxDurationDays": test.max_duration_days,
        "winnerId": test.winner_variant_id,
        "phase": test.phase,
        "phaseStartedAt": iso(test.phase_started_at),
        "createdAt": iso(test.created_at),
        "startedAt": iso(test.started_at),
        "endedAt": iso(test.ended_at),
        "decidedBy": test.decided_by,
        "decision": decision,
        "verdict": sentence,
        "headline": headline,
        "variants": variants_dict(results),
        "statistics": statistics_dict(results),
        "decisionSnapshot": test.decision_snapshot,
    }
