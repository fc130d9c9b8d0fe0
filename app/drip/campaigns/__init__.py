"""Campaigns: lifecycle, steps, message templating and preview, and the audited changes that
pages, API and command line make (campaign, step and enrollment changes with their audit
events: app.drip.campaigns.changes)."""

from app.drip.campaigns.changes import (
    add_step,
    change_enrollment,
    change_status,
    create_campaign,
    delete_campaign,
    delete_step,
    enroll_contacts,
    move_step,
    reorder_steps,
    update_campaign,
    update_step,
)
from app.drip.campaigns.lifecycle import enrollment_counts, ensure_editable, live_steps
from app.drip.campaigns.preview import FREE_TEXT_WARNING, contact_values, preview_message
from app.drip.campaigns.templating import render, text_errors

__all__ = [
    "FREE_TEXT_WARNING",
    "add_step",
    "change_enrollment",
    "change_status",
    "contact_values",
    "create_campaign",
    "delete_campaign",
    "delete_step",
    "enroll_contacts",
    "enrollment_counts",
    "ensure_editable",
    "live_steps",
    "move_step",
    "preview_message",
    "render",
    "reorder_steps",
    "text_errors",
    "update_campaign",
    "update_step",
]
