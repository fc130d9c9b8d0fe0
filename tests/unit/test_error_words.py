"""Stored error codes and stop reasons in words: pages never show a bare 131049."""

from __future__ import annotations

import pytest

from app.drip.enrollment import stop_reason_text
from app.whatsapp import describe_code


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("131049", "held back this marketing message"),
        ("131026", "could not be delivered"),
        (131050, "turned off marketing messages"),
        ("132015", "paused for low quality"),
        ("500", "temporary problem (HTTP 500)"),
        ("stale", "given up without resending"),
        ("ambiguous", "may have been delivered"),
        (None, "no error code"),
        ("131999", "error 131999"),
    ],
)
def test_each_code_reads_as_words(code, words):
    text = describe_code(code)
    assert words in text
    assert text != str(code)


def test_a_failed_sends_stop_reason_says_what_the_code_means():
    assert stop_reason_text("send_failed:131026") == (
        "a message could not be sent: " + describe_code("131026")
    )
    assert stop_reason_text("send_failed") == "a message could not be sent"
    assert stop_reason_text("manual") == "stopped by hand"
    assert stop_reason_text(None) is None
