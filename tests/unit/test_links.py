"""URL detection for click tracking: what counts as a URL, and that nothing else moves."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.drip.engagement.links import CODE_PATTERN, find_urls, new_code


def urls(text: str) -> list[str]:
    return [text[s:e] for s, e in find_urls(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("See https://example.com/a?b=1&c=2#x now", ["https://example.com/a?b=1&c=2#x"]),
        ("Go to http://example.com.", ["http://example.com"]),
        ("a http://a.io, b https://b.io; c", ["http://a.io", "https://b.io"]),
        ("(see https://example.com/x)", ["https://example.com/x"]),
        ("https://en.wikipedia.org/wiki/Foo_(bar)", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("HTTPS://EXAMPLE.COM/Up!", ["HTTPS://EXAMPLE.COM/Up"]),
        ("line\nhttps://x.io/1\thttps://x.io/2\n", ["https://x.io/1", "https://x.io/2"]),
        ("'https://q.io/p'", ["https://q.io/p"]),
        ("no links, ftp://x.io or www.x.io or mailto:a@b.c", []),
        ("just https:// and http://. alone", []),
        ("", []),
    ],
)
def test_urls_are_found_without_trailing_punctuation(text, expected):
    assert urls(text) == expected


TOKENS = st.sampled_from(
    [*"ab .,;:!?()[]<>'\"\n\t/é", "http://", "https://", "HTTP://", "x.io", "?q=1"]
)


@given(st.lists(TOKENS, max_size=40).map("".join))
def test_detection_never_crashes_and_leaves_other_text_alone(text):
    spans = find_urls(text)
    gaps, cursor = [], 0
    for start, end in spans:
        assert cursor <= start < end <= len(text)
        url = text[start:end]
        assert re.match(r"(?i)https?://\S", url)
        assert not any(c.isspace() for c in url)
        assert url[-1] not in ".,;:!?'\""
        gaps.append(text[cursor:start])
        cursor = end
    gaps.append(text[cursor:])
    # Put the URLs back between the untouched gaps: the original text, and no URL is left
    # in what was not taken.
    rebuilt = gaps[0] + "".join(
        text[s:e] + gap for (s, e), gap in zip(spans, gaps[1:], strict=True)
    )
    assert rebuilt == text
    assert all(find_urls(gap) == [] for gap in gaps)


@given(st.text())
def test_any_text_is_safe(text):
    for start, end in find_urls(text):
        assert text[start:end].lower().startswith(("http://", "https://"))


def test_codes_are_long_random_and_url_safe():
    codes = {new_code() for _ in range(5000)}
    assert len(codes) == 5000
    for code in codes:
        assert len(code) == 16  # 12 bytes: 96 bits
        assert CODE_PATTERN.fullmatch(code)
        assert re.fullmatch(r"[A-Za-z0-9_-]+", code)
