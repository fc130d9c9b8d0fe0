"""Campaigns: lifecycle, steps, message templating and preview, and audited changes."""

from app.drip.campaigns.lifecycle import (
    change_status,
    create_campaign,
    delete_campaign,
    enrollment_counts,
    ensure_editable,
    live_steps,
    update_campaign,
)
from app.drip.campaigns.preview import FREE_TEXT_WARNING, contact_values, preview_message
from app.drip.campaigns.steps import add_step, delete_step, move_step, reorder_steps, update_step
from app.drip.campaigns.templating import render, text_errors

__all__ = [
    "FREE_TEXT_WARNING",
    "add_step",
    "change_status",
    "contact_values",
    "create_campaign",
    "delete_campaign",
    "delete_step",
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
