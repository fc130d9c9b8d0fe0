"""A/B test results as dictionaries: the API's shape of a test, the snapshot a completed
test keeps of its decision, and the daily cumulative rates of the results page's chart.

Rates are percentages 0-100, unrounded; lifts are relative percentages (absoluteLift in
percentage points); times are ISO 8601 UTC strings, so a statistics dictionary is stored as
it is (a completed test's decision snapshot).
"""

from __future__ import annotations

from datetime import datetime

from app.drip.ab.results import TestResults, VariantCounts
from app.drip.ab.sequential import Analysis, Decision, verdict


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


def _comparisons(results: TestResults, analysis: Analysis) -> list[dict]:
    ids = [v.id for v in results.variants]
    return [
        {
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
        }
        for c in analysis.comparisons
    ]


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
            "comparisons": _comparisons(results, matured),
            "decision": decision_dict(results.decision, winner_id(results)),
        },
        "canDeclareWinner": test.status in ("running", "paused")
        and results.decision.can_declare_winner,
    }


def decision_dict(decision: Decision, winner: int | None) -> dict:
    return {"code": decision.code, "reason": decision.reason, "winnerId": winner}


def live_verdict(results: TestResults) -> str:
    """The plain sentence about the matured data (what the auto-winner sees)."""
    return verdict(results.matured, results.test.winning_metric)


def snapshot(results: TestResults, decision: dict) -> dict:
    """What a completed test keeps of the moment it was decided: JSON as it is."""
    return {
        "decision": decision,
        "verdict": live_verdict(results),
        "variants": variants_dict(results),
        "statistics": statistics_dict(results),
    }


def decision_and_verdict(results: TestResults) -> tuple[dict, str]:
    """The decision shown and its sentence: a completed test's stored one, else the auto-winner
    rule's on the matured sends now."""
    test = results.test
    if test.status == "completed" and test.decision_snapshot:
        stored = test.decision_snapshot
        winner = next((v.name for v in results.variants if v.id == test.winner_variant_id), "?")
        day = test.ended_at
        when = f" on {day.day} {day:%B %Y}" if day is not None else ""
        said = stored.get("verdict", "").rstrip(".")
        if test.decided_by == "auto":
            sentence = f"{said} — winner declared automatically{when}."
        else:
            sentence = f"{winner} declared the winner by hand{when}. The data then: {said}."
        return stored.get("decision", {}), sentence
    decision = decision_dict(results.decision, winner_id(results))
    if test.status == "draft":
        return decision, "Not started yet."
    sentence = live_verdict(results)
    return decision, f"Paused. {sentence}" if test.status == "paused" else sentence


def test_dict(results: TestResults) -> dict:
    """A test as the API shows it: settings, lifecycle, variants with counts, statistics,
    the decision (stored, once completed) and its plain sentence."""
    test = results.test
    decision, sentence = decision_and_verdict(results)
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
        "winnerId": test.winner_variant_id,
        "phase": test.phase,
        "phaseStartedAt": iso(test.phase_started_at),
        "createdAt": iso(test.created_at),
        "startedAt": iso(test.started_at),
        "endedAt": iso(test.ended_at),
        "decidedBy": test.decided_by,
        "decision": decision,
        "verdict": sentence,
        "variants": variants_dict(results),
        "statistics": statistics_dict(results),
        "decisionSnapshot": test.decision_snapshot,
    }
