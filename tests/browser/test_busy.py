"""Long work done in one request shows that it is under way: enrolling a tag shows a progress
bar and disables the button until the answer comes, so the form is not sent twice."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_no_problems

pytestmark = pytest.mark.browser

# Registered after the page's own listeners, so they see the submit as the user makes it; then
# the navigation is held back (counted instead) so the page can be seen while it would run.
HOLD_SUBMITS = """() => {
  window.__submits = 0;
  document.addEventListener("submit", (event) => {
    event.preventDefault();
    window.__submits += 1;
  });
}"""


def test_enrolling_shows_progress_until_the_answer(logged_in_page):
    page = logged_in_page
    page.goto("/campaigns/1/enrollments")
    page.evaluate(HOLD_SUBMITS)
    page.locator("#enroll").evaluate("(details) => { details.open = true; }")
    page.get_by_label("Tag", exact=True).fill("no-such-tag-anywhere")
    button = page.get_by_role("button", name="Enroll", exact=True)
    expect(page.locator("p.busy")).to_have_count(0)
    button.click()
    busy = page.locator("#enroll p.busy")
    expect(busy).to_contain_text("Enrolling contacts")
    expect(busy.locator("progress")).to_be_visible()
    expect(button).to_be_disabled()
    button.evaluate("(b) => b.click()")  # pressed again while it runs: nothing more is sent
    assert page.evaluate("window.__submits") == 1
    # Let it go: the answer replaces the page, the progress bar with it.
    page.locator("#enroll form").evaluate("(form) => form.submit()")
    expect(page.get_by_text("Enrolled 0 contacts.")).to_be_visible()
    expect(page.locator("p.busy")).to_have_count(0)
    assert_no_problems(page)
