"""The sandbox's simulated engagement: pure, deterministic per wamid, rates honoured."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.drip.engagement.sandbox import CANNED_REPLIES, SandboxRates, simulated_events
from app.whatsapp.events import InboundMessageEvent, StatusUpdate
from app.whatsapp.provider import Provider
from app.whatsapp.sandbox import WAMID_PREFIX, SandboxProvider

SENT = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
WAMIDS = [f"{WAMID_PREFIX}{i:032x}" for i in range(2000)]
EVERYTHING = SandboxRates(delivered=1.0, read=1.0, reply=1.0, failed=0.0)


def kinds(events) -> list[str]:
    return [e.status if isinstance(e, StatusUpdate) else "reply" for _, e in events]


def test_provider_accepts_everything_with_unique_sandbox_wamids():
    provider = SandboxProvider()
    assert isinstance(provider, Provider)
    results = [provider.send_text("+442079460001", "Hi", "log=1") for _ in range(500)]
    results.append(provider.send_template("+442079460001", "welcome", "en_US", ["Ana"], "log=2"))
    wamids = [r.wamid for r in results]
    assert all(w.startswith(WAMID_PREFIX) and len(w) > len(WAMID_PREFIX) for w in wamids)
    assert len(set(wamids)) == len(wamids)


def test_same_wamid_same_events():
    for wamid in WAMIDS[:200]:
        assert simulated_events(wamid, SENT) == simulated_events(wamid, SENT)


def test_events_shift_with_the_send_time_only():
    later = SENT + timedelta(hours=5)
    for wamid in WAMIDS[:100]:
        first = simulated_events(wamid, SENT)
        second = simulated_events(wamid, later)
        assert kinds(first) == kinds(second)
        assert [at - SENT for at, _ in first] == [at - later for at, _ in second]


def test_outcomes_differ_between_wamids():
    assert len({tuple(kinds(simulated_events(w, SENT))) for w in WAMIDS[:300]}) >= 4


def test_rates_are_roughly_honoured_over_2000_wamids():
    rates = SandboxRates()
    counts = Counter()
    for wamid in WAMIDS:
        counts.update(set(kinds(simulated_events(wamid, SENT, rates))))
    total = len(WAMIDS)
    assert counts["sent"] == total
    # Within ~4 standard deviations of the binomial (fixed wamids: not flaky).
    assert abs(counts["failed"] / total - 0.02) < 0.013
    assert abs(counts["delivered"] / total - 0.96) < 0.018
    assert abs(counts["read"] / counts["delivered"] - 0.70) < 0.045
    assert abs(counts["reply"] / counts["read"] - 0.12) < 0.035


def test_custom_rates_are_used():
    nothing = SandboxRates(delivered=0.0, read=0.0, reply=0.0, failed=0.0)
    assert all(kinds(simulated_events(w, SENT, nothing)) == ["sent"] for w in WAMIDS[:100])
    all_fail = SandboxRates(delivered=0.0, failed=1.0, failed_code=131050)
    for wamid in WAMIDS[:50]:
        events = simulated_events(wamid, SENT, all_fail)
        assert kinds(events) == ["sent", "failed"]
        assert events[1][1].errors[0]["code"] == 131050
    assert all(
        kinds(simulated_events(w, SENT, EVERYTHING)) == ["sent", "delivered", "read", "reply"]
        for w in WAMIDS[:100]
    )


def test_default_failures_are_undeliverable():
    failed = [
        e
        for w in WAMIDS
        for _, e in simulated_events(w, SENT)
        if isinstance(e, StatusUpdate) and e.status == "failed"
    ]
    assert failed
    assert {e.errors[0]["code"] for e in failed} == {131026}


@given(index=st.integers(0, len(WAMIDS) - 1))
def test_delays_are_within_their_ranges_and_in_order(index):
    events = simulated_events(WAMIDS[index], SENT, EVERYTHING)
    (sent_at, sent), (delivered_at, _), (read_at, _), (reply_at, _) = events
    assert sent_at == sent.timestamp == SENT
    assert timedelta(seconds=2) <= delivered_at - SENT <= timedelta(seconds=60)
    assert timedelta(minutes=1) <= read_at - delivered_at <= timedelta(hours=6)
    assert timedelta(minutes=2) <= reply_at - read_at <= timedelta(hours=24)
    assert all(event.timestamp == at for at, event in events)


def test_reply_quotes_the_message_and_comes_from_the_contact():
    events = simulated_events(WAMIDS[0], SENT, EVERYTHING, from_phone="442079460001")
    reply = events[-1][1]
    assert isinstance(reply, InboundMessageEvent)
    assert reply.context_wamid == WAMIDS[0]
    assert reply.from_phone == "442079460001"
    assert reply.message_type == "text"
    assert reply.text in CANNED_REPLIES
    assert reply.message_id != WAMIDS[0]
    other = simulated_events(WAMIDS[1], SENT, EVERYTHING)[-1][1]
    assert other.message_id != reply.message_id


def test_delays_are_spread_not_constant():
    delays = {simulated_events(w, SENT, EVERYTHING)[1][0] - SENT for w in WAMIDS[:200]}
    assert len(delays) > 150
    short = sum(d < timedelta(seconds=20) for d in delays)
    assert 0 < short < len(delays)


@pytest.mark.parametrize(
    "changes",
    [
        {"delivered": 1.2},
        {"read": -0.1},
        {"delivered": 0.99, "failed": 0.02},
        {"read_delay": (0.0, 10.0)},
        {"reply_delay": (100.0, 10.0)},
    ],
)
def test_impossible_rates_are_refused(changes):
    with pytest.raises(ValueError):
        replace(SandboxRates(), **changes)
