"""The step editor's live preview in a real browser: a contact named <script>alert(1)</script>
is previewed as text. No element is made of it, no script runs, no dialog opens."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_no_problems

pytestmark = pytest.mark.browser

FIRST = "<script>alert(1)</script>"
LAST = '"><img src=x onerror=alert(2)>'


def test_a_contact_named_like_a_script_is_previewed_as_text(logged_in_page):
    page = logged_in_page
    page.goto("/campaigns/1")
    token = page.get_attribute("meta[name=csrf-token]", "content")
    created = page.request.post(
        "/api/contacts",
        data={"phone": "+442079460998", "firstName": FIRST, "lastName": LAST},
        headers={"X-CSRFToken": token},
    )
    assert created.status == 201, created.text()
    contact_id = created.json()["data"]["id"]
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(page.get_attribute("a[href*='/steps/']", "href"))
    page.check("input[name=message_type][value=text]")
    page.select_option("#preview-contact", str(contact_id))
    page.fill("textarea[name=message_content]", "Hi {{first_name}} {{last_name}}!")
    preview = page.locator("[data-preview-text]")
    expected = f"Hi {FIRST} {LAST}!"
    page.wait_for_function(
        "([el, text]) => el.textContent === text", arg=[preview.element_handle(), expected]
    )
    assert preview.evaluate("el => el.children.length") == 0  # text, not elements
    assert "&lt;script&gt;" in preview.inner_html()
    assert page.locator("[data-preview-text] img, [data-preview-text] script").count() == 0
    # The contact list of the editor shows the name as text too.
    option = page.locator(f"#preview-contact option[value='{contact_id}']")
    assert option.inner_text().startswith(FIRST)
    assert dialogs == []
    assert_no_problems(page)
