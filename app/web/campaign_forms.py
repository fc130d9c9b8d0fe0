"""Forms of the campaign editor, and their translation to the domain's plain fields."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.drip.limits import DESCRIPTION_MAX, KEYWORD_MAX, NAME_MAX
from app.models.campaigns import DELAY_UNITS

WEEKDAYS = [
    SelectChoice(str(day), label)
    for day, label in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), start=1)
]
TRIGGERS = [
    SelectChoice("manual", "Manual: I enroll contacts"),
    SelectChoice("tag_added", "When a tag is added to a contact"),
    SelectChoice("contact_created", "When a contact is created"),
    SelectChoice("keyword", "When a contact sends a keyword"),
]


@cache
def timezone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in available_timezones() if "/" in z or z == "UTC")
    return [SelectChoice("contact", "Each contact's own time zone")] + [
        SelectChoice(z, z) for z in zones
    ]


class CampaignForm(FlaskForm):
    # The lengths are the domain's (app.drip.limits), which checks them again: here they put
    # the error next to the field and the maxlength on the input.
    name = StringField("Name", validators=[InputRequired(), Length(max=NAME_MAX)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=DESCRIPTION_MAX)])
    trigger_type = SelectField("Enrollment trigger", choices=TRIGGERS, default="manual")
    trigger_value = StringField("Tag or keyword", validators=[Optional(), Length(max=KEYWORD_MAX)])
    stop_on_reply = BooleanField("Stop when the contact replies", default=True)
    allow_reenrollment = BooleanField("Allow a contact to go through it again")
    track_links = BooleanField("Track link clicks")
    window_start = StringField("Send from", validators=[Optional()], render_kw={"type": "time"})
    window_end = StringField("Send until", validators=[Optional()], render_kw={"type": "time"})
    window_weekdays = SelectMultipleField(
        "On",
        choices=WEEKDAYS,
        default=[choice.value for choice in WEEKDAYS],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    window_timezone = SelectField("Time zone", default="contact")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.window_timezone.choices = timezone_choices()

    def fields_for_domain(self) -> dict:
        return {
            "name": self.name.data,
            "description": self.description.data,
            "trigger_type": self.trigger_type.data,
            "trigger_value": self.trigger_value.data,
            "stop_on_reply": bool(self.stop_on_reply.data),
            "allow_reenrollment": bool(self.allow_reenrollment.data),
            "track_links": bool(self.track_links.data),
            "window_start": self.window_start.data or None,
            "window_end": self.window_end.data or None,
            "window_weekdays": [int(d) for d in self.window_weekdays.data or []],
            "window_timezone": self.window_timezone.data,
        }

    def load(self, campaign) -> None:
        """Fill the form from a campaign (GET)."""
        self.process(
            data={
                "name": campaign.name,
                "description": campaign.description,
                "trigger_type": campaign.trigger_type,
                "trigger_value": campaign.trigger_value,
                "stop_on_reply": campaign.stop_on_reply,
                "allow_reenrollment": campaign.allow_reenrollment,
                "track_links": campaign.track_links,
                "window_start": _hhmm(campaign.window_start),
                "window_end": _hhmm(campaign.window_end),
                "window_weekdays": [str(d) for d in campaign.window_weekdays or []],
                "window_timezone": campaign.window_timezone,
            }
        )


class StepForm(FlaskForm):
    name = StringField("Step name", validators=[Optional(), Length(max=NAME_MAX)])
    delay_amount = IntegerField("Wait", default=1, validators=[Optional()])
    delay_unit = SelectField(
        "Unit",
        choices=[SelectChoice(unit, unit) for unit in DELAY_UNITS],
        default="days",
    )
    message_type = RadioField(
        "Message",
        choices=[
            SelectChoice("text", "Text message"),
            SelectChoice("template", "Approved WhatsApp template"),
        ],
        default="text",
    )
    message_content = TextAreaField("Text", validators=[Optional()])
    template_name = StringField("Template name", validators=[Optional()])
    template_language = StringField("Language", default="en_US", validators=[Optional()])
    template_parameters = TextAreaField("Parameters, one per line", validators=[Optional()])
    position = IntegerField("Position", validators=[Optional()])

    def fields_for_domain(self) -> dict:
        fields = {
            "delay_amount": self.delay_amount.data if self.delay_amount.data is not None else 0,
            "delay_unit": self.delay_unit.data,
            "message_type": self.message_type.data,
        }
        if self.name.data:
            fields["name"] = self.name.data
        if self.message_type.data == "template":
            fields["template"] = {
                "name": (self.template_name.data or "").strip(),
                "language": (self.template_language.data or "").strip() or "en_US",
                "parameters": [
                    line.strip()
                    for line in (self.template_parameters.data or "").splitlines()
                    if line.strip()
                ],
            }
        else:
            fields["message_content"] = self.message_content.data
        return fields

    def load(self, step) -> None:
        self.process(
            data={
                "name": step.name,
                "delay_amount": step.delay_amount,
                "delay_unit": step.delay_unit,
                "message_type": step.message_type,
                "message_content": step.message_content,
                "template_name": step.template_name,
                "template_language": step.template_language or "en_US",
                "template_parameters": "\n".join(step.template_parameters or []),
            }
        )


def _hhmm(value) -> str | None:
    return value.strftime("%H:%M") if value else None
