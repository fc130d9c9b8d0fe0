"""The results page's headline: one sentence whose lift is the table's.

The auto-winner decides on matured sends (app.drip.ab.sequential), while the table shows every
send of the phase. The sentence keeps the decision's choices (which arm it names, its
confidence) but quotes that arm's lift from the table's comparison, in the table's format
(lift_text), so the page never shows two lifts for one arm. headline() names the arm and the
value, for the page and the API to point at the same row.
"""

from __future__ import annotations

from app.drip.ab.results import TestResults
from app.drip.ab.sequential import METRIC_VERBS, best_challenger
from app.drip.ab.stats import Comparison, format_confidence

NO_SENDS = "no sends yet"
# Decisions whose reason is the whole sentence: nothing is compared yet.
REASON_ONLY = ("waiting", "srm", "too_few_variants", "zero_control")


def lift_text(percent: float | None) -> str:
    """A relative lift in percent as the table shows it: "+12.5%"."""
    return "—" if percent is None else f"{percent:+,.1f}%"


def _verb(results: TestResults) -> str:
    metric = results.test.winning_metric
    return METRIC_VERBS.get(metric.removesuffix("_rate"), metric)


def _shown(results: TestResults, index: int) -> Comparison | None:
    return next((c for c in results.shown.comparisons if c.index == index), None)


def has_sends(results: TestResults, index: int) -> bool:
    """Both the arm and the control have sends in the table: a comparison exists."""
    shown = results.shown
    return shown.variants[index].n > 0 and shown.variants[shown.control_index].n > 0


def difference(results: TestResults, index: int) -> str | None:
    """ "is read 12.5% more often than Control" from the table's comparison of the arm;
    None when either arm has no sends."""
    comparison = _shown(results, index)
    if comparison is None or not has_sends(results, index):
        return None
    shown = results.shown
    control = shown.variants[shown.control_index].name
    verb = _verb(results)
    if comparison.absolute_lift == 0:
        return f"{verb} as often as {control}"
    if comparison.lift is None:  # the control's rate is 0: no relative lift
        rate = (shown.variants[index].rate or 0.0) * 100.0
        return f"{verb} at {rate:,.1f}% against 0% for {control}"
    more = "more" if comparison.lift > 0 else "less"
    return f"{verb} {lift_text(comparison.lift * 100.0)[1:]} {more} often than {control}"


def named_index(results: TestResults) -> int | None:
    """The challenger the sentence is about: the decision's winner, else the one the decision
    rule looks at (None: the control won, or nothing to compare)."""
    matured = results.matured
    decision = matured.decision
    if decision.code in REASON_ONLY or not matured.comparisons:
        return None
    if decision.winner_index is not None:
        return None if decision.winner_index == matured.control_index else decision.winner_index
    return best_challenger(matured.comparisons).index


def headline(results: TestResults, index: int | None) -> dict | None:
    """{variantId, controlId, lift} of the arm the sentence quotes (lift: the table's, percent)."""
    if index is None or difference(results, index) is None:
        return None
    comparison = _shown(results, index)
    return {
        "variantId": results.variants[index].id,
        "controlId": results.variants[results.shown.control_index].id,
        "lift": None if comparison.lift is None else comparison.lift * 100.0,
    }


def live_sentence(results: TestResults) -> str:
    """The sentence for a running or paused test."""
    matured = results.matured
    decision = matured.decision
    if decision.code in REASON_ONLY:
        return decision.reason[0].upper() + decision.reason[1:] + "."
    empty = [v.name for v in results.shown.variants if v.n == 0]
    if empty:
        return f"No clear winner yet: {' and '.join(empty)} has {NO_SENDS}."
    control = matured.variants[matured.control_index].name
    if decision.winner_index == matured.control_index:
        sure = format_confidence(max(c.adjusted_sequential_p_value for c in matured.comparisons))
        return f"{control} {_verb(results)} more often than every variant, {sure} confidence."
    index = named_index(results)
    name = results.variants[index].name
    said = difference(results, index)
    comparison = next(c for c in matured.comparisons if c.index == index)
    sure = format_confidence(comparison.adjusted_sequential_p_value)
    if decision.winner_index is not None:
        return f"{name} {said}, {sure} confidence."
    needed = f"{matured.confidence * 100:g}%"
    return f"No clear winner yet: {name} {said} ({sure} confidence, {needed} needed)."


def completed_sentence(results: TestResults, stored: dict) -> tuple[str, int | None]:
    """A completed test's sentence (who won, how, when; the winner's lift from the table)
    and the arm it quotes."""
    test = results.test
    if test.decided_by == "max_duration":
        day = test.ended_at
        when = f" on {day.day} {day:%B %Y}" if day is not None else ""
        return (
            f"No difference found: the test ran its maximum of {test.max_duration_days} days"
            f" and ended{when} without a winner; the step keeps its message.",
            None,
        )
    index = next(
        (i for i, v in enumerate(results.variants) if v.id == test.winner_variant_id), None
    )
    winner = results.variants[index].name if index is not None else "?"
    day = test.ended_at
    when = f" on {day.day} {day:%B %Y}" if day is not None else ""
    quoted = None
    if index is not None and index != results.shown.control_index:
        said = difference(results, index)
        quoted = index if said is not None else None
    lead = f"{winner} {difference(results, quoted)}" if quoted is not None else ""
    if test.decided_by == "auto":
        reason = (stored.get("decision") or {}).get("reason")
        why = f" ({reason})" if reason else ""
        if lead:
            return f"{lead} — winner declared automatically{when}{why}.", quoted
        return f"{winner} declared the winner automatically{when}{why}.", quoted
    sentence = f"{winner} declared the winner by hand{when}."
    return (f"{sentence} {lead}." if lead else sentence), quoted
