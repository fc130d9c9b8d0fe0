"""How the campaign page words audit events: pure, no database."""

from __future__ import annotations

import pytest

from app.drip.audit import describe, snapshot
from app.models import DripCampaignStep


def test_a_step_snapshot_holds_every_part_of_its_message():
    """An edit of the header, buttons or fallback template shows in the audit log."""
    step = DripCampaignStep(
        template_header="https://example.com/a.png",
        template_buttons=["CODE"],
        fallback_template_name="cart_reminder",
        fallback_template_language="en_US",
        fallback_template_parameters=["{{first_name}}"],
    )
    taken = snapshot(step)
    assert taken["template_header"] == "https://example.com/a.png"
    assert taken["template_buttons"] == ["CODE"]
    assert taken["fallback_template_name"] == "cart_reminder"
    assert taken["fallback_template_parameters"] == ["{{first_name}}"]


@pytest.mark.parametrize(
    ("action", "details", "text"),
    [
        ("campaign.created", {}, "created the campaign"),
        ("campaign.archived", {}, "archived the campaign"),
        (
            "campaign.deleted",
            {"campaignId": 3, "campaign": "Spring"},
            "deleted the campaign “Spring”",
        ),
        (
            "campaign.updated",
            {
                "changes": {
                    "window_start": ["09:00", "10:00"],
                    "window_end": [None, "18:00"],
                    "name": ["a", "b"],
                }
            },
            "changed the settings: name, send window",
        ),
        ("campaign.updated", {"changes": {}}, "saved the settings unchanged"),
        ("step.added", {"stepId": 1, "stepName": "Hi", "position": 2}, "added step 2 “Hi”"),
        (
            "step.updated",
            {
                "stepName": "Hi",
                "changes": {"delay_unit": ["days", "hours"], "message_content": ["a", "b"]},
            },
            "changed step “Hi”: delay, message",
        ),
        (
            "step.updated",
            {"stepName": "Hi", "changes": {"fallback_template_name": [None, "cart_reminder"]}},
            "changed step “Hi”: fallback template",
        ),
        ("step.deleted", {"stepName": "Hi"}, "deleted step “Hi”"),
        ("steps.reordered", {"stepName": "Hi", "direction": "up"}, "moved step “Hi” up"),
        ("steps.reordered", {"order": [3, 1, 2]}, "reordered the steps"),
        (
            "enrollments.added",
            {"enrolled": 1, "skipped": 2, "target": {"tag": "vip"}},
            "enrolled 1 contact tagged “vip” (2 skipped)",
        ),
        (
            "enrollments.added",
            {"enrolled": 1200, "skipped": 0, "target": {"contacts": 5}},
            "enrolled 1,200 contacts",
        ),
        (
            "enrollment.stopped",
            {"enrollmentId": 7, "contactId": 9},
            "stopped enrollment #7 (contact #9)",
        ),
        (
            "ab_test.winner_declared",
            {"testId": 4, "testName": "Tone", "variantId": 9, "variantName": "Friendly"},
            "declared “Friendly” the winner of A/B test “Tone”",
        ),
        # Actions this module does not know, or details it cannot word, still read.
        ("ab_test.archived", {"testId": 4}, "ab test archived"),
        ("ab_test.winner_declared", {"testId": 4}, "ab test winner declared"),
        # Details missing a field the wording needs fall back to the action's name.
        ("step.added", {}, "step added"),
    ],
)
def test_events_in_words(action, details, text):
    assert describe(action, details) == text


def test_no_details_at_all():
    assert describe("campaign.paused", None) == "paused the campaign"
