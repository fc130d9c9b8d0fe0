"""Fuzzing the query strings of every HTML GET route (schemathesis covers only the JSON API).

The routes are read from app.url_map, so a page added later is fuzzed without touching this
file; path ids are filled with seeded rows as in test_isolation.py. Each route gets the same
deterministic examples: the parameter names the pages read (and some they do not) with huge,
negative, malformed, unicode, NUL, encoded-surrogate and very long values. No answer may be a
5xx or show a traceback.
"""

from __future__ import annotations

from urllib.parse import quote

import plotly.graph_objects as go
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import reports
from tests.integration.test_isolation import build, rows_of_org

KEYS = [
    "page", "status", "q", "tag", "from", "to", "granularity", "type", "format", "a", "b",
    "perPage", "chart", "metric", "next", "sort",
]  # fmt: skip
NUMBERS = [
    "9223372036854775807", "9223372036854775808", "-9223372036854775809", "0", "-1", "1",
    "1e309", "NaN", "-inf", "1.5", "٣", "²", "0x10", " 7 ", "1_000", "9" * 30, "9" * 5000,
]  # fmt: skip
DATES = [
    "2026-01-01", "0001-01-01", "9999-12-31", "2026-02-30", "2026-13-01", "2026-1-1",
    "0001-01-01..9999-12-31", "2026-01-01..2025-01-01", "2026-01-01..", "..", "2026-W01",
]  # fmt: skip
WORDS = [
    "funnel", "cohort", "timeseries", "engagement", "csv", "json", "png", "day", "week",
    "month", "active", "opted_out", "subscribed", "running", "x" * 10_000,
]  # fmt: skip
# Sent as they are, not quoted again: NUL, an encoded lone surrogate, bad UTF-8, a stray %.
RAW = ["%00", "%ED%A0%80", "%C0%AF", "%FF%FE", "%", "%%", "%zz", "a%00b", "%F0%9F%98%80"]

CHARACTERS = st.characters(codec=None, exclude_categories=())  # surrogates and NUL included
TEXT = st.text(CHARACTERS, max_size=40).map(lambda s: quote(s, safe="", errors="surrogatepass"))
VALUES = st.one_of(
    st.sampled_from(NUMBERS + DATES + WORDS).map(lambda s: quote(s, safe="")),
    st.integers(-(2**80), 2**80).map(str),
    st.sampled_from(RAW),
    TEXT,
)
NAMES = st.one_of(st.sampled_from(KEYS), TEXT)
QUERIES = st.lists(st.tuples(NAMES, VALUES), max_size=6).map(
    lambda pairs: "&".join(f"{name}={value}" for name, value in pairs)
)
EXAMPLES = 25


def html_get_rules(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.rule.startswith("/api"):
            yield rule


@pytest.fixture
def no_browser(monkeypatch):
    """The chart images are rendered by a stand-in: the query parsing is under test here,
    not Chromium (the figure is still validated as the real export does)."""

    def to_image(figure, fmt, *args):
        go.Figure(figure)
        return b"image"

    monkeypatch.setattr(reports, "to_image", to_image)


def test_no_html_get_route_answers_5xx(clean_app, org_a, client_a, no_browser):
    with clean_app.app_context():
        ids = rows_of_org(org_a)
    ids["code"] = f"c{org_a.org_id}x0"
    urls = [build(rule, ids) for rule in html_get_rules(clean_app)]
    assert len(urls) >= 20
    for url in urls:
        fuzz_route(client_a, url)


def fuzz_route(client, url: str) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(query=QUERIES)
    def one(query: str) -> None:
        response = client.get(url, query_string=query)
        assert response.status_code < 500, (url, query, response.status_code)
        assert b"Traceback" not in response.data, (url, query)

    one()


PAGED = ["/contacts/", "/campaigns/{id}/enrollments", "/campaigns/{id}/activity"]


def test_a_huge_page_number_is_a_page_not_an_error(clean_app, org_a, client_a):
    with clean_app.app_context():
        campaign_id = rows_of_org(org_a)["id"]
    for path in PAGED:
        for page in ("9223372036854775807", "99999999999999999999", "1000000001", "-5", "x"):
            response = client_a.get(path.format(id=campaign_id), query_string={"page": page})
            assert response.status_code == 200, (path, page, response.status_code)
