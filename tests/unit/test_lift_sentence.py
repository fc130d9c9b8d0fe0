"""The lift panel's words (issue 19): a bound of a tiny sample reads as such, not a finding."""

from __future__ import annotations

from app.drip.analytics.lift import lift_words, sentence


def test_a_huge_bound_is_capped():
    assert lift_words(287767.48) == "over +1,000%"
    assert lift_words(0.25) == "+25%"
    assert lift_words(-1.0) == "-100%"


def test_the_sentence_of_a_small_holdout():
    answer = {
        "goal": {"event": "purchase", "withinDays": 7},
        "messaged": {"n": 5, "conversions": 1, "rate": 0.2},
        "holdout": {"n": 5, "conversions": 1, "rate": 0.2},
        "lift": 0.0,
        "ciLow": -1.0,
        "ciHigh": 287767.48,
        "pValue": 1.0,
    }
    assert sentence(answer).endswith(
        "No difference can be claimed yet: lift +0% (always-valid 95% interval -100% to"
        " over +1,000%, p = 1.000)."
    )
