"""Which URLs become short links: only those a redirect's Location header can carry, so
following one never fails after the click was counted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.utils import redirect

from app.drip.engagement.links import find_urls, is_redirect_target

BAD_TARGETS = [
    "https://javascript:alert(3)",  # the finding: port "alert(3)"
    "http://example.com:99999/",  # port out of range
    "https://a..b/",  # an empty DNS label
    "https://" + "a" * 64 + ".com/",  # a label over 63 characters
    "https://[zz/",  # a broken IPv6 literal
    "https://ex<am>ple.com/",
    "https://?q=1",
    "https://user@/",
    "javascript:alert(1)",
    "data:text/html,x",
    "https://example.com/\ud800",
    "https://example.com/a\nb",
]
GOOD_TARGETS = [
    "https://example.com/a?b=1&c=2#x",
    "HTTP://EXAMPLE.COM:8080/Up",
    "https://bücher.example/straße",
    "http://127.0.0.1:5000/",
    "http://[::1]:8000/x",
    "https://user:pw@example.com/",
]


def location_header(url: str) -> str:
    """The Location header werkzeug writes for a redirect to url (where the 500 was raised)."""
    environ = EnvironBuilder("/l/x").get_environ()
    return redirect(url, 302).get_wsgi_headers(environ)["Location"]


@pytest.mark.parametrize("url", BAD_TARGETS)
def test_urls_a_redirect_cannot_carry_are_no_targets(url):
    assert not is_redirect_target(url)


@pytest.mark.parametrize("url", GOOD_TARGETS)
def test_ordinary_urls_are_targets(url):
    assert is_redirect_target(url)
    assert location_header(url)


def test_a_url_with_a_bad_port_stays_plain_text_in_the_message():
    text = "Win! https://javascript:alert(3) or https://shop.example/ok"
    assert [text[s:e] for s, e in find_urls(text)] == ["https://shop.example/ok"]


URLISH = st.lists(
    st.one_of(
        st.sampled_from(["https://", "http://", ":", "@", "[", "]", ".", "..", "/", "?", "#"]),
        st.sampled_from(["alert(3)", "javascript", "80", "99999", "x" * 70, "::1", "ü", "%"]),
        st.text(min_size=1, max_size=4),
    ),
    max_size=12,
).map("".join)


@given(URLISH)
def test_every_url_found_can_be_a_location_header(text):
    for start, end in find_urls(text):
        assert location_header(text[start:end])
