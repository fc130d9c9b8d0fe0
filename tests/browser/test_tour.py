"""A tour of the demo's main pages at a laptop's 1280×800 and a desktop's 1920×1080: each one
fits the screen (no sideways scrolling), draws its charts, and shows no problem. At 1280×800
it takes the user guide's screenshots of the demo (DRIP_DOCS_SCREENSHOTS=1), among them the
README's campaign dashboard."""

from __future__ import annotations

import pytest

from tests.browser.support import (
    DESKTOP,
    WIDE,
    demo_ab_test,
    demo_campaigns,
    docs_shot,
    finish,
    on_screen,
    wait_for_charts,
)


@pytest.mark.parametrize("viewport", [DESKTOP, WIDE], ids=["1280x800", "1920x1080"])
def test_tour_of_the_demo(logged_in_page, live_server, request, viewport):
    page = logged_in_page
    on_screen(page, viewport)
    (finished, _), *_ = demo_campaigns(live_server)
    ab_campaign, ab_test = demo_ab_test(live_server)
    # Each page, and the user guide's screenshot of it: its name and how far down it goes.
    tour = [
        ("/campaigns/", "campaigns", None),
        (f"/campaigns/{finished}", None, None),
        (f"/campaigns/{finished}/enrollments", None, None),
        ("/contacts/", None, None),
        ("/analytics", "analytics-overview", None),
        (f"/campaigns/{finished}/analytics", "dashboard", "[data-chart=funnel]"),
        ("/ab-tests", None, None),
        (f"/campaigns/{ab_campaign}/ab-tests/{ab_test}", "ab-test-results", "#numbers"),
        ("/settings/", None, None),
    ]
    for path, shot, until in tour:
        response = page.goto(path)
        assert response.ok, (path, response.status)
        if page.locator("[data-chart]").count():
            wait_for_charts(page)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {viewport}"
        if shot and viewport == DESKTOP:
            docs_shot(page, shot, until=page.locator(until) if until else None)
    finish(page, request)
