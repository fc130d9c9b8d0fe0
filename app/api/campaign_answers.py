"""Answers of the campaign API beside the campaign and its steps: a template hold, the
window report of an activation, and the cost forecast (app/api/campaigns.py)."""

from __future__ import annotations

from app.drip import campaigns, templates


def serialize_hold(hold: templates.Hold) -> dict:
    return {
        "template": hold.name,
        "language": hold.language,
        "status": hold.status,
        "reason": hold.reason,
        "contacts": hold.contacts,
        "since": hold.since,
        "stepId": hold.step_id,
        "position": hold.position,
    }


def serialize_window_report(report: campaigns.WindowReport) -> dict:
    return {
        "estimate": True,
        "outsideWindow": report.outside_window,
        "wouldStop": report.would_stop,
        "steps": [
            {
                "stepId": step.step_id,
                "position": step.position,
                "messageType": step.message_type,
                "outsideWindow": step.outside_window,
                "wouldStop": step.would_stop,
                "hasFallback": step.has_fallback,
            }
            for step in report.steps
        ],
    }


def serialize_forecast(result: campaigns.Forecast) -> dict:
    return {
        "audience": result.audience,
        "newEnrollment": result.new_enrollment,
        "upperBound": True,
        "steps": [
            {
                "stepId": step.step_id,
                "position": step.position,
                "messageType": step.message_type,
                "category": step.category,
                "fallbackCategory": step.fallback_category,
                "messages": step.messages,
                "insideWindow": step.inside_window,
                "outsideWindow": step.outside_window,
                "stopped": step.stopped,
                "billable": step.billable,
                "cost": step.cost,
                "unpriced": step.unpriced,
            }
            for step in result.steps
        ],
        "messages": result.messages,
        "billable": result.billable,
        "totalCost": result.total_cost,
        "currency": result.currency,
        "rateCardDate": result.rate_card_date,
        "rateCardSource": result.rate_card_source,
        "rateCardSample": result.rate_card_sample,
        "messagingLimit": result.messaging_limit,
        "firstStepOutsideWindow": result.first_step_outside,
        "daysForFirstStep": result.days_for_first_step,
    }
