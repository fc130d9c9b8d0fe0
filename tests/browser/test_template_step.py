"""The step editor's template picker in a real browser (issue 16): search the catalog, pick a
template, fill its parameter inputs (built by static/js/template-picker.js) and see the preview
render the template's real text for the sample contact; then save it."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_no_problems

pytestmark = pytest.mark.browser


def test_pick_a_catalog_template_and_preview_it(logged_in_page):
    page = logged_in_page
    page.goto("/campaigns/1")
    page.goto(page.get_attribute("a[href*='/steps/']", "href"))
    page.check("input[name=message_type][value=template]")
    page.fill("#template-search", "welcome")
    assert page.locator("#template option[value='drip_offer:en_US']").evaluate("o => o.hidden")
    page.select_option("#template", "drip_welcome:en_US")
    page.fill("#template-parameter-1", "{{first_name|there}}")
    page.fill("#template-parameter-2", "Drip")
    preview = page.locator("[data-preview-text]")
    page.wait_for_function(
        "el => el.textContent.startsWith('Hi Alex, welcome to Drip!')", arg=preview.element_handle()
    )
    assert "marketing" in page.locator("[data-template-picker=template] .badge").first.inner_text()
    page.click("button.primary[type=submit]")
    page.wait_for_url("**/campaigns/1#steps")
    assert_no_problems(page)
