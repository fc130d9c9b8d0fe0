"""Campaigns: lifecycle, steps, message templating and preview, and the audited changes that
pages, API and command line make (campaign, step and enrollment changes with their audit
events: app.drip.campaigns.changes)."""

from app.drip.campaigns.changes import (
    add_step,
    change_enrollment,
    change_status,
    change_status_checked,
    create_campaign,
    delete_campaign,
    delete_step,
    enroll_contacts,
    move_step,
    reorder_steps,
    update_campaign,
    update_step,
)
from app.drip.campaigns.forecast import Forecast, StepForecast, forecast
from app.drip.campaigns.lifecycle import enrollment_counts, ensure_editable, live_steps
from app.drip.campaigns.preview import FREE_TEXT_WARNING, contact_values, preview_message
from app.drip.campaigns.template_picker import split_key, step_catalog, template_key
from app.drip.campaigns.template_preview import TemplateMessage, render_template_message
from app.drip.campaigns.templating import render, text_errors
from app.drip.campaigns.window_report import (
    StepWindow,
    WindowConfirmationNeeded,
    WindowReport,
    window_report,
)

__all__ = [
    "FREE_TEXT_WARNING",
    "Forecast",
    "StepForecast",
    "StepWindow",
    "TemplateMessage",
    "WindowConfirmationNeeded",
    "WindowReport",
    "add_step",
    "change_enrollment",
    "change_status",
    "change_status_checked",
    "contact_values",
    "create_campaign",
    "delete_campaign",
    "delete_step",
    "enroll_contacts",
    "enrollment_counts",
    "ensure_editable",
    "forecast",
    "live_steps",
    "move_step",
    "preview_message",
    "render",
    "render_template_message",
    "reorder_steps",
    "split_key",
    "step_catalog",
    "template_key",
    "text_errors",
    "update_campaign",
    "update_step",
    "window_report",
]
