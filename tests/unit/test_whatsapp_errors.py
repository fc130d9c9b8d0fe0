"""Cloud API error classification, reasons and the retry policy: pure, no network."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.whatsapp.errors import (
    PAIR_RATE,
    ErrorKind,
    SendError,
    classify,
    gave_up_reason,
    max_attempts,
    policy_for,
    reason_for,
    retry_delay,
)

FIXTURES = Path(__file__).parents[1] / "fakes" / "fixtures"

RETRY, LATER = ErrorKind.RETRY, ErrorKind.RETRY_LATER
PERMANENT, STOP = ErrorKind.PERMANENT, ErrorKind.STOP_ACCOUNT

# Every row of the fixtures README table.
README_TABLE = {
    130429: RETRY,
    131056: RETRY,
    80007: LATER,
    4: LATER,
    1: RETRY,
    2: RETRY,
    131000: RETRY,
    131016: RETRY,
    131057: LATER,
    131047: PERMANENT,
    131049: PERMANENT,
    131026: PERMANENT,
    131050: PERMANENT,
    131051: PERMANENT,
    **dict.fromkeys(range(132000, 132017), PERMANENT),
    100: PERMANENT,
    190: STOP,
    368: STOP,
    131031: STOP,
    131042: STOP,
}


class Edges:
    """An rng that always draws the low or the high end."""

    def __init__(self, high: bool) -> None:
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


LOW, HIGH = Edges(high=False), Edges(high=True)


@pytest.mark.parametrize(("code", "kind"), sorted(README_TABLE.items()))
def test_every_code_of_the_table_maps_to_its_kind(code, kind):
    assert classify(code) is kind
    assert classify(str(code)) is kind


@pytest.mark.parametrize("status", [200, 400, 401, 403, 429, 500, 503])
def test_a_known_code_wins_over_the_http_status(status):
    assert classify(130429, status) is RETRY
    assert classify(131047, status) is PERMANENT
    assert classify(190, status) is STOP


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, LATER), (500, RETRY), (502, RETRY), (503, RETRY), (400, PERMANENT), (404, PERMANENT)],
)
def test_without_a_known_code_the_status_decides(status, kind):
    assert classify(None, status) is kind
    assert classify(999999, status) is kind
    assert SendError.from_http_status(status).kind is kind


def test_fixture_error_bodies_are_classified_by_code():
    cases = {
        "send_error_throughput.json": ("130429", RETRY),
        "send_error_pair_rate_limit.json": ("131056", RETRY),
        "send_error_token_expired.json": ("190", STOP),
    }
    for name, (code, kind) in cases.items():
        error = json.loads((FIXTURES / name).read_text())["error"]
        # Meta answers these with 400: the status must not change the kind.
        sent = SendError.from_api_error(error, 400)
        assert (sent.code, sent.kind, sent.http_status) == (code, kind, 400)
    throughput = SendError.from_api_error(
        json.loads((FIXTURES / "send_error_throughput.json").read_text())["error"], 429
    )
    assert throughput.title == "Rate limit hit"
    assert throughput.message == "Cloud API message throughput has been reached."


def test_a_failed_status_webhook_error_is_classified_the_same_way():
    body = json.loads((FIXTURES / "statuses_sent_and_failed.json").read_text())
    status = body["entry"][0]["changes"][0]["value"]["statuses"][1]
    error = SendError.from_api_error(status["errors"][0])
    assert (error.code, error.kind) == ("131050", PERMANENT)
    assert "opted out" in error.reason


def test_reasons_are_plain_english_a_marketer_can_act_on():
    assert reason_for(131047) == (
        "More than 24 hours since the contact last wrote: free text is refused, "
        "use an approved template"
    )
    assert "new token" in reason_for(190)
    assert "template" in reason_for(132001)
    assert "template" in reason_for(132099)
    for code in README_TABLE:
        assert "(#" not in reason_for(code)
    unknown = SendError.from_api_error({"code": 135000, "message": "(#135000) Odd thing"}, 400)
    assert unknown.kind is PERMANENT
    assert "135000" in unknown.reason
    assert "Odd thing" in unknown.reason


def test_send_error_carries_its_fields_and_survives_pickling():
    error = SendError(
        RETRY, "retrying", code="130429", title="Rate limit hit", message="m", http_status=429
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.kind, copy.code, copy.title, copy.message, copy.http_status, copy.reason) == (
        RETRY,
        "130429",
        "Rate limit hit",
        "m",
        429,
        "retrying",
    )
    assert str(copy) == "130429: retrying"
    assert copy.retryable


@pytest.mark.parametrize(
    ("code", "kind", "attempts"),
    [
        (130429, None, 8),
        (131000, None, 8),
        (131056, None, 5),
        (131057, None, 6),
        (80007, None, 6),
        (None, RETRY, 8),
        (None, LATER, 6),
        (131047, None, 1),
        (190, None, 1),
        (None, ErrorKind.AMBIGUOUS, 1),
        (None, PERMANENT, 1),
    ],
)
def test_max_attempts_per_kind(code, kind, attempts):
    assert max_attempts(code, kind) == attempts


def test_non_retryable_errors_have_no_delay():
    for code, kind in [(131047, None), (190, None), (None, ErrorKind.AMBIGUOUS)]:
        assert policy_for(code, kind) is None
        with pytest.raises(ValueError):
            retry_delay(code, 1, kind=kind)
    with pytest.raises(ValueError):
        retry_delay(130429, 0)


def test_throughput_backoff_starts_near_one_second_and_doubles():
    assert retry_delay(130429, 1, HIGH) == 1.0
    assert [retry_delay(130429, n, HIGH) for n in range(1, 5)] == [1.0, 2.0, 4.0, 8.0]
    assert retry_delay(130429, 1, LOW) == 0.0  # full jitter


def test_pair_rate_limit_waits_four_to_the_n():
    for n in range(1, PAIR_RATE.max_attempts):
        assert retry_delay(131056, n, LOW) == 4**n
        assert retry_delay(131056, n, HIGH) == 4**n * 1.25


def test_retry_later_codes_wait_minutes_not_seconds():
    assert 60 <= retry_delay(131057, 1, LOW) <= retry_delay(131057, 1, HIGH) <= 75
    assert retry_delay(80007, 1, LOW) >= 120
    assert retry_delay(4, 1, LOW) >= 120
    assert retry_delay(None, 1, LOW, kind=LATER) >= 60  # HTTP 429 without a code


def test_send_error_uses_its_own_policy():
    no_code_429 = SendError.from_http_status(429)
    assert no_code_429.max_attempts == max_attempts(None, LATER)
    assert no_code_429.retry_delay(1, LOW) >= 60
    assert "Gave up after 6 attempts" in gave_up_reason(no_code_429, 6)


RETRYABLE = st.sampled_from([130429, 131056, 1, 2, 131000, 131016, 131057, 80007, 4, None])


@given(code=RETRYABLE, attempt=st.integers(1, 40), seed=st.integers(0, 2**32))
def test_delays_are_non_negative_and_capped(code, attempt, seed):
    kind = RETRY if code is None else None
    delay = retry_delay(code, attempt, random.Random(seed), kind=kind)
    assert 0 <= delay <= policy_for(code, kind).cap


@given(code=RETRYABLE, attempt=st.integers(1, 12))
def test_delays_grow_with_attempts_until_the_cap(code, attempt):
    kind = RETRY if code is None else None
    for rng in (LOW, HIGH):
        assert retry_delay(code, attempt + 1, rng, kind=kind) >= retry_delay(
            code, attempt, rng, kind=kind
        )
    assert retry_delay(code, 40, HIGH, kind=kind) == policy_for(code, kind).cap


@given(attempt=st.integers(1, PAIR_RATE.max_attempts - 1), seed=st.integers(0, 2**32))
def test_pair_rate_limit_never_retries_before_four_to_the_n(attempt, seed):
    delay = retry_delay(131056, attempt, random.Random(seed))
    assert 4**attempt <= delay <= 4**attempt * 1.25
