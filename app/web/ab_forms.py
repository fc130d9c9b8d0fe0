"""Forms of the A/B test pages and their translation to the domain's plain fields.

The field names are the domain's (app.drip.ab.lifecycle, app.drip.ab.variants), so a
ValidationError's field messages land next to the right input (app.web.actions.place_errors).
The forms only parse; the rules (ranges, shares left, names) are the domain's.
"""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from app.drip.ab import DEFAULTS, shown_percent
from app.reports import METRIC_LABELS

METRICS = [SelectChoice(value, label) for value, label in METRIC_LABELS.items()]
CONFIDENCES = [SelectChoice("0.9", "90%"), SelectChoice("0.95", "95%"), SelectChoice("0.99", "99%")]
REQUIRED = "Required."


class NewTestForm(FlaskForm):
    step_id = SelectField("Step to test", coerce=int, validators=[InputRequired()])
    name = StringField("Test name", validators=[InputRequired(message=REQUIRED)])
    winning_metric = SelectField(
        "Winning metric", choices=METRICS, default=DEFAULTS["winning_metric"]
    )
    confidence_threshold = SelectField("Confidence", choices=CONFIDENCES, default="0.95")
    min_sample_size = IntegerField(
        "Minimum sends per variant",
        default=DEFAULTS["min_sample_size"],
        validators=[InputRequired(message=REQUIRED)],
    )
    control_allocation = DecimalField(
        "Control's share of traffic (%)",
        default=DEFAULTS["control_allocation"],
        places=None,
        validators=[InputRequired(message=REQUIRED)],
    )
    outcome_window_hours = IntegerField(
        "Outcome window (hours)",
        default=DEFAULTS["outcome_window_hours"],
        validators=[InputRequired(message=REQUIRED)],
    )

    planned_sample_size = IntegerField(
        "Planned sends per variant (optional)", validators=[Optional()]
    )
    max_duration_days = IntegerField("Maximum duration in days (optional)", validators=[Optional()])

    def set_steps(self, steps) -> None:
        """The campaign's text steps, the only ones a test can change."""
        self.step_id.choices = [
            SelectChoice(step.id, f"{step.position}. {step.name}")
            for step in steps
            if step.message_type == "text"
        ]

    def fields_for_domain(self) -> dict:
        return {
            "step_id": self.step_id.data,
            "name": self.name.data,
            "winning_metric": self.winning_metric.data,
            "confidence_threshold": float(self.confidence_threshold.data),
            "min_sample_size": self.min_sample_size.data,
            "control_allocation": self.control_allocation.data,
            "outcome_window_hours": self.outcome_window_hours.data,
            "planned_sample_size": self.planned_sample_size.data,
            "max_duration_days": self.max_duration_days.data,
        }


class VariantForm(FlaskForm):
    """Add a variant (no prefix), or change one (prefix "variant-<id>": one form per variant
    on the page)."""

    name = StringField("Variant name")
    message_content = TextAreaField("Message")
    traffic_allocation = DecimalField("Share of traffic (%)", places=None, validators=[Optional()])

    def fields_for_domain(self) -> dict:
        """Without an allocation, a new variant takes the share left and a changed one keeps
        its own."""
        fields = {"name": self.name.data or "", "message_content": self.message_content.data or ""}
        if self.traffic_allocation.data is not None:
            fields["traffic_allocation"] = self.traffic_allocation.data
        return fields

    def load(self, variant) -> None:
        self.process(
            data={
                "name": variant.name,
                "message_content": variant.message_content,
                "traffic_allocation": Decimal(shown_percent(variant.traffic_allocation)),
            }
        )


def edit_form(variant) -> VariantForm:
    """The edit form of one variant, filled from it."""
    form = VariantForm(formdata=None, prefix=f"variant-{variant.id}")
    form.load(variant)
    return form


def posted_edit_form(variant_id: int) -> VariantForm:
    """The edit form of one variant as the request posted it."""
    return VariantForm(prefix=f"variant-{variant_id}")
