"""Campaigns: lifecycle, steps, message templating and preview, and the audited changes that
pages, API and command line make (campaign, step and enrollment changes with their audit
events: app.drip.campaigns.changes)."""

from app.drip.campaigns.audience_values import AudienceValues, audience_values
from app.drip.campaigns.bulk_enrollments import bulk_change_enrollments
from app.drip.campaigns.changes import (
    add_step,
    change_enrollment,
    change_status,
    change_status_checked,
    create_campaign,
    delete_campaign,
    delete_step,
    duplicate_campaign,
    enroll_contacts,
    move_step,
    reorder_steps,
    restore_step,
    update_campaign,
    update_step,
)
from app.drip.campaigns.copies import copy_name
from app.drip.campaigns.flow import (
    EnrollmentTally,
    FlowStep,
    TemplateState,
    enrollment_tally,
    flow_steps,
    step_templates,
)
from app.drip.campaigns.forecast import Forecast, StepForecast, forecast
from app.drip.campaigns.goal_settings import GOAL_DAYS_MAX, GOAL_EVENT_MAX, HOLDOUT_NOTE
from app.drip.campaigns.graph import (
    Edge,
    Graph,
    GraphConfirmationNeeded,
    build_graph,
    campaign_graph,
    step_title,
)
from app.drip.campaigns.lifecycle import enrollment_counts, ensure_editable, live_steps
from app.drip.campaigns.listing import CampaignPage, check_filters, list_campaigns
from app.drip.campaigns.preview import FREE_TEXT_WARNING, contact_values, preview_message
from app.drip.campaigns.step_undo import UNDO_MINUTES, Undone, deletion_event, step_move
from app.drip.campaigns.template_picker import (
    picker_catalog,
    split_key,
    step_catalog,
    template_key,
)
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
    "GOAL_DAYS_MAX",
    "GOAL_EVENT_MAX",
    "HOLDOUT_NOTE",
    "UNDO_MINUTES",
    "AudienceValues",
    "CampaignPage",
    "Edge",
    "EnrollmentTally",
    "FlowStep",
    "Forecast",
    "Graph",
    "GraphConfirmationNeeded",
    "StepForecast",
    "StepWindow",
    "TemplateMessage",
    "TemplateState",
    "Undone",
    "WindowConfirmationNeeded",
    "WindowReport",
    "add_step",
    "audience_values",
    "build_graph",
    "bulk_change_enrollments",
    "campaign_graph",
    "change_enrollment",
    "change_status",
    "change_status_checked",
    "check_filters",
    "contact_values",
    "copy_name",
    "create_campaign",
    "delete_campaign",
    "delete_step",
    "deletion_event",
    "duplicate_campaign",
    "enroll_contacts",
    "enrollment_counts",
    "enrollment_tally",
    "ensure_editable",
    "flow_steps",
    "forecast",
    "list_campaigns",
    "live_steps",
    "move_step",
    "picker_catalog",
    "preview_message",
    "render",
    "render_template_message",
    "reorder_steps",
    "restore_step",
    "split_key",
    "step_catalog",
    "step_move",
    "step_templates",
    "step_title",
    "template_key",
    "text_errors",
    "update_campaign",
    "update_step",
    "window_report",
]
