"""Forms of the campaign editor, and their translation to the domain's plain fields."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
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

from app.drip.campaigns import GOAL_EVENT_MAX, split_key, step_title, template_key
from app.drip.errors import ValidationError
from app.drip.limits import DESCRIPTION_MAX, KEYWORD_MAX, NAME_MAX
from app.models.campaigns import DELAY_UNITS
from app.web.campaigns_select import FixedOptionsSelect

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
    frequency_cap_exempt = BooleanField(
        "Exempt from the frequency cap (utility flows: receipts, reminders)"
    )
    window_start = StringField("Send from", validators=[Optional()], render_kw={"type": "time"})
    window_end = StringField("Send until", validators=[Optional()], render_kw={"type": "time"})
    window_weekdays = SelectMultipleField(
        "On",
        choices=WEEKDAYS,
        default=[choice.value for choice in WEEKDAYS],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    window_timezone = SelectField("Time zone", default="contact", widget=FixedOptionsSelect())
    goal_event = StringField("Goal event", validators=[Optional(), Length(max=GOAL_EVENT_MAX)])
    goal_within_days = IntegerField(
        "Within (days of enrolling)", default=30, validators=[Optional()]
    )
    exit_on_goal = BooleanField("End the enrollment when the contact reaches the goal")
    holdout_percent = IntegerField(
        "Holdout (% of new enrollments)", default=0, validators=[Optional()]
    )

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
            "frequency_cap_exempt": bool(self.frequency_cap_exempt.data),
            "window_start": self.window_start.data or None,
            "window_end": self.window_end.data or None,
            "window_weekdays": [int(d) for d in self.window_weekdays.data or []],
            "window_timezone": self.window_timezone.data,
            **self.goal_for_domain(),
        }

    def goal_for_domain(self) -> dict:
        """No goal event means no goal (the days are then ignored)."""
        event = (self.goal_event.data or "").strip()
        return {
            "goal": {"event": event, "within_days": self.goal_within_days.data} if event else None,
            "exit_on_goal": bool(self.exit_on_goal.data),
            "holdout_percent": self.holdout_percent.data or 0,
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
                "frequency_cap_exempt": campaign.frequency_cap_exempt,
                "window_start": _hhmm(campaign.window_start),
                "window_end": _hhmm(campaign.window_end),
                "window_weekdays": [str(d) for d in campaign.window_weekdays or []],
                "window_timezone": campaign.window_timezone,
                "goal_event": campaign.goal_event,
                "goal_within_days": campaign.goal_within_days or 30,
                "exit_on_goal": campaign.exit_on_goal,
                "holdout_percent": campaign.holdout_percent or 0,
            }
        )


class TextListField(Field):
    """Several inputs of one name, in page order (one per template parameter): the data is
    the list of their values, empty ones kept (their place says which parameter they are)."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, default=list, **kwargs)

    def process_formdata(self, valuelist):
        self.data = [value.strip() for value in valuelist]

    def value_at(self, index: int) -> str:
        data = self.data or []
        return data[index] if index < len(data) else ""


BRANCH_ROWS = 4  # one per event (app.drip.enrollment.MAX_CONDITIONS)
BRANCH_EVENTS = [
    SelectChoice("", "—"),
    SelectChoice("replied", "Replied"),
    SelectChoice("read", "Read"),
    SelectChoice("clicked", "Clicked a link"),
    SelectChoice("goal", "Reached the goal"),
]
WAIT_UNITS = [SelectChoice(unit, unit) for unit in ("minutes", "hours", "days")]
# The domain's branch fields (app.drip.enrollment.parse_branch) -> this form's.
BRANCH_ERROR_FIELDS = {
    "branch": "branch_mode",
    "branch.conditions": "branch_mode",
    "branch.waitAmount": "branch_wait_amount",
    "branch.waitUnit": "branch_wait_unit",
    "branch.onTimeout": "branch_timeout",
}


class BranchFields:
    """The step form's branch section: plain fields, one row per condition (an empty row is
    ignored), so it works without script. The domain checks it (parse_branch); its errors
    ("branch.conditions.0.goTo") come back to the row the user typed them in."""

    branch_section = StringField()  # "1" from the page that shows the section
    branch_mode = RadioField(
        "After this step",
        choices=[
            SelectChoice("none", "Then: go on to the next step"),
            SelectChoice("branch", "Then: wait for what the contact does, and branch"),
        ],
        default="none",
    )
    branch_wait_amount = IntegerField("Wait up to", default=1, validators=[Optional()])
    branch_wait_unit = SelectField("Unit", choices=WAIT_UNITS, default="days")
    branch_timeout = SelectField("If none of these happens", validate_choice=False, default="next")

    def set_later_steps(self, later) -> None:
        """The targets a branch may take: the later steps (by position and name), the end."""
        steps = [SelectChoice(str(s.id), step_title(s)) for s in later]
        end = SelectChoice("end", "End the journey")
        for index in range(BRANCH_ROWS):
            self.branch_row(index)[1].choices = [SelectChoice("", "—"), *steps, end]
        self.branch_timeout.choices = [SelectChoice("next", "The next step"), *steps, end]

    def branch_row(self, index: int) -> tuple[Field, Field]:
        return getattr(self, f"branch_event_{index}"), getattr(self, f"branch_goto_{index}")

    def branch_for_domain(self) -> dict | None:
        if self.branch_mode.data != "branch":
            return None
        self._rows = []  # the row each condition came from, for its errors
        conditions = []
        for index in range(BRANCH_ROWS):
            event, goto = (f.data or "" for f in self.branch_row(index))
            if event or goto:
                self._rows.append(index)
                conditions.append({"event": event or None, "goTo": goto or None})
        return {
            "waitAmount": self.branch_wait_amount.data,
            "waitUnit": self.branch_wait_unit.data,
            "conditions": conditions,
            "onTimeout": self.branch_timeout.data or "next",
        }

    def branch_errors(self, exc: ValidationError) -> ValidationError:
        """The domain's error with its branch fields named as this form's fields."""
        rows = getattr(self, "_rows", [])
        fields = {}
        for name, message in exc.fields.items():
            parts = name.split(".")
            field = BRANCH_ERROR_FIELDS.get(name, name)
            if field == name and parts[:2] == ["branch", "conditions"] and len(parts) > 2:
                row = rows[int(parts[2])] if int(parts[2]) < len(rows) else 0
                field = f"branch_goto_{row}" if parts[-1] == "goTo" else f"branch_event_{row}"
            fields[field] = message
        return ValidationError(exc.message, fields)

    def load_branch(self, branch: dict | None) -> dict:
        """The section's data for process() from a stored branch."""
        if not branch:
            return {"branch_mode": "none"}
        data = {
            "branch_mode": "branch",
            "branch_wait_amount": branch.get("waitAmount"),
            "branch_wait_unit": branch.get("waitUnit"),
            "branch_timeout": str(branch.get("onTimeout", "next")),
        }
        for index, rule in enumerate(branch.get("conditions", [])[:BRANCH_ROWS]):
            data[f"branch_event_{index}"] = rule.get("event")
            data[f"branch_goto_{index}"] = str(rule.get("goTo"))
        return data


for _index in range(BRANCH_ROWS):
    setattr(
        BranchFields,
        f"branch_event_{_index}",
        SelectField(f"Event {_index + 1}", choices=BRANCH_EVENTS, default=""),
    )
    setattr(
        BranchFields,
        f"branch_goto_{_index}",
        SelectField(f"Go to, event {_index + 1}", validate_choice=False, default=""),
    )


class StepForm(BranchFields, FlaskForm):
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
    # The picker's value is name:language (app.drip.campaigns.template_key); template_name and
    # template_language are also read alone (a client posting them), and carry their errors.
    template = StringField("Template", validators=[Optional()])
    template_name = StringField("Template name", validators=[Optional()])
    template_language = StringField("Language", validators=[Optional()])
    template_parameters = TextListField("Parameters")
    template_header = StringField("Header", validators=[Optional()])
    template_buttons = TextListField("Button parameters")
    fallback_template = StringField(
        "Fallback template (sent when the contact's 24-hour window is closed)",
        validators=[Optional()],
    )
    fallback_template_name = StringField("Fallback template name", validators=[Optional()])
    fallback_template_language = StringField("Fallback language", validators=[Optional()])
    fallback_template_parameters = TextListField("Fallback parameters")
    position = IntegerField("Position", validators=[Optional()])

    def chosen_template(self) -> tuple[str, str]:
        """(name, language) of the picked template; ("", "en_US") when none is."""
        if self.template.data:
            return split_key(self.template.data)
        return (self.template_name.data or "").strip(), (
            self.template_language.data or ""
        ).strip() or "en_US"

    def chosen_fallback(self) -> tuple[str, str]:
        if self.fallback_template.data:
            return split_key(self.fallback_template.data)
        return (self.fallback_template_name.data or "").strip(), (
            self.fallback_template_language.data or ""
        ).strip() or "en_US"

    def fields_for_domain(self) -> dict:
        fields = {
            "delay_amount": self.delay_amount.data if self.delay_amount.data is not None else 0,
            "delay_unit": self.delay_unit.data,
            "message_type": self.message_type.data,
        }
        if self.name.data:
            fields["name"] = self.name.data
        if self.branch_section.data:
            fields["branch"] = self.branch_for_domain()
        if self.message_type.data == "template":
            name, language = self.chosen_template()
            fields["template"] = {
                "name": name,
                "language": language,
                "parameters": list(self.template_parameters.data or []),
                "header": (self.template_header.data or "").strip() or None,
                "buttons": list(self.template_buttons.data or []),
            }
        else:
            fields["message_content"] = self.message_content.data
            name, language = self.chosen_fallback()
            fields["fallback_template"] = (
                {
                    "name": name,
                    "language": language,
                    "parameters": list(self.fallback_template_parameters.data or []),
                }
                if name
                else None
            )
        return fields

    def load(self, step) -> None:
        self.process(
            data={
                "name": step.name,
                "delay_amount": step.delay_amount,
                "delay_unit": step.delay_unit,
                "message_type": step.message_type,
                "message_content": step.message_content,
                "template": template_key(step.template_name, step.template_language),
                "template_parameters": list(step.template_parameters or []),
                "template_header": step.template_header,
                "template_buttons": list(step.template_buttons or []),
                "fallback_template": template_key(
                    step.fallback_template_name, step.fallback_template_language
                ),
                "fallback_template_parameters": list(step.fallback_template_parameters or []),
                **self.load_branch(step.branch),
            }
        )


def _hhmm(value) -> str | None:
    return value.strftime("%H:%M") if value else None
