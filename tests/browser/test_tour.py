"""A tour of the demo's main pages at a laptop's 1280×800, a desktop's 1920×1080 and a phone's
390×844: each one fits the screen (no sideways scrolling: wide tables scroll inside their
card), draws its charts, shows no problem, and axe-core finds no serious or critical
accessibility violation on it (at every width: a phone's layout is its own page, with its
collapsed menu). At 390 the top navigation is a menu button. At 1280×800 it takes the user
guide's screenshots of the demo (DRIP_DOCS_SCREENSHOTS=1), among them the README's campaign
dashboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.extensions import db
from app.models import Contact, DripEnrollment, Organization
from tests.browser.support import (
    DEMO_ORG,
    DESKTOP,
    PHONE,
    WIDE,
    assert_accessible,
    demo_ab_test,
    demo_campaigns,
    docs_shot,
    finish,
    on_screen,
    wait_for_charts,
)


def demo_contact(live_server) -> int:
    """A demo contact with the most enrollments: a contact page with something on it."""
    with live_server.app().app_context():
        return db.session.scalar(
            select(Contact.id)
            .join(Organization, Organization.id == Contact.organization_id)
            .join(DripEnrollment, DripEnrollment.contact_id == Contact.id)
            .where(Organization.name == DEMO_ORG)
            .group_by(Contact.id)
            .order_by(func.count(DripEnrollment.id).desc(), Contact.id)
            .limit(1)
        )


@pytest.mark.parametrize(
    "viewport", [DESKTOP, WIDE, PHONE], ids=["1280x800", "1920x1080", "390x844"]
)
def test_tour_of_the_demo(logged_in_page, live_server, request, viewport):
    page = logged_in_page
    on_screen(page, viewport)
    (finished, _), *_ = demo_campaigns(live_server)
    ab_campaign, ab_test = demo_ab_test(live_server)
    contact = demo_contact(live_server)
    # Each page, and the user guide's screenshot of it: its name and how far down it goes.
    tour = [
        ("/campaigns/", "campaigns", None),
        (f"/campaigns/{finished}", None, None),
        (f"/campaigns/{finished}/enrollments", None, None),
        ("/contacts/", None, None),
        (f"/contacts/{contact}", None, None),
        ("/analytics", "analytics-overview", None),
        (f"/campaigns/{finished}/analytics", "dashboard", "[data-chart=funnel]"),
        ("/ab-tests", None, None),
        (f"/campaigns/{ab_campaign}/ab-tests/{ab_test}", "ab-test-results", "#numbers"),
        ("/settings/", None, None),
        ("/settings/profile", None, None),
    ]
    for path, shot, until in tour:
        response = page.goto(path)
        assert response.ok, (path, response.status)
        if page.locator("[data-chart]").count():
            wait_for_charts(page)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {viewport}"
        menu = page.get_by_role("button", name="Menu")
        if viewport == PHONE:  # the navigation is collapsed behind its button
            expect(menu).to_be_visible()
            expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
        else:
            expect(menu).to_be_hidden()
        assert_accessible(page, f"{path} at {viewport['width']}px")
        if shot and viewport == DESKTOP:
            docs_shot(page, shot, until=page.locator(until) if until else None)
    finish(page, request)


def test_on_a_phone_the_navigation_is_a_menu(logged_in_page):
    page = logged_in_page
    on_screen(page, PHONE)
    page.goto("/campaigns/")
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")
    contacts = nav.get_by_role("link", name="Contacts")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(contacts).to_be_hidden()
    # With the keyboard alone: no hover, no pointer.
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(contacts).to_be_visible()
    assert_accessible(page, "the open menu")
    docs_shot(page, "phone-menu")
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(contacts).to_be_hidden()
    expect(menu).to_be_focused()
    menu.click()
    contacts.click()
    page.wait_for_url(re.compile(r"/contacts/?$"))
    expect(menu).to_have_attribute("aria-expanded", "false")  # a new page starts closed
    # On a laptop the links are all there and the menu button is not.
    on_screen(page, DESKTOP)
    expect(menu).to_be_hidden()
    expect(nav.get_by_role("link", name="Campaigns")).to_be_visible()


def test_the_chart_toolbar_has_no_cloud_link_and_shows_on_keyboard_focus(
    logged_in_page, live_server
):
    page = logged_in_page
    on_screen(page, DESKTOP)
    (finished, _), *_ = demo_campaigns(live_server)
    page.goto(f"/campaigns/{finished}/analytics")
    wait_for_charts(page)
    bar = page.locator("[data-chart=funnel] .modebar").first
    expect(bar.get_by_label("Download plot as a PNG")).to_have_count(1)
    for name in ("Share chart", "Edit in Chart Studio", "Edit in Plotly"):
        assert page.get_by_label(name).count() == 0, name
        assert page.get_by_title(name).count() == 0, name
    assert page.locator("[data-title*=hare], [data-title*=Studio], .modebar a[href]").count() == 0
    # The control: plotly.js's own defaults would add the cloud button, and the check sees it.
    defaults = page.evaluate(
        """async () => {
          const div = document.createElement("div");
          document.body.append(div);
          await Plotly.newPlot(div, [{ y: [1, 2] }], {}, {});
          const shares = div.querySelectorAll('[data-title^="Share chart"]').length;
          Plotly.purge(div);
          div.remove();
          return shares;
        }"""
    )
    assert defaults == 1
    # Hidden until the pointer is over the chart, or the keyboard is in it.
    group = bar.locator(".modebar-group").first
    page.mouse.move(0, 0)
    expect(group).to_have_css("opacity", "0")
    page.evaluate("document.querySelector('[data-chart=funnel] .modebar-btn').focus()")
    expect(group).to_have_css("opacity", "1")
