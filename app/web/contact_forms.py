"""The contact pages' forms, and reading them into the changes app.drip.contacts.changes takes."""

from __future__ import annotations

from dataclasses import dataclass

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app.drip.contacts import FieldError, guess_target, split_tags
from app.drip.errors import DripError, ValidationError


class ContactForm(FlaskForm):
    phone = StringField(
        "Phone number",
        validators=[Optional(), Length(max=40)],
        description="Any format. Without a country code (+…) it is read in your organization's "
        "default region. Blank for a contact known only by its WhatsApp user id.",
    )
    whatsapp_user_id = StringField(
        "WhatsApp user id",
        validators=[Optional(), Length(max=160)],
        description="Meta's business-scoped user id, such as US.13491208655302741918 "
        "(optional when there is a phone number).",
    )
    first_name = StringField("First name", validators=[Optional(), Length(max=120)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=120)])
    timezone = StringField(
        "Time zone",
        validators=[Optional(), Length(max=64)],
        description="IANA name such as Europe/Paris. Blank: the organization's time zone.",
    )
    tags = StringField("Tags", description="Separated by commas, e.g. vip, newsletter.")
    attributes = TextAreaField(
        "Attributes", description="One per line, as name: value (e.g. city: Lisbon)."
    )
    opted_out = BooleanField("Opted out: this contact receives no messages")

    @classmethod
    def for_contact(cls, contact, tags: list[str]) -> ContactForm:
        return cls(
            data={
                "phone": contact.phone,
                "whatsapp_user_id": contact.whatsapp_user_id,
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "timezone": contact.timezone,
                "tags": ", ".join(tags),
                "attributes": format_attributes(contact.attributes or {}),
                "opted_out": contact.opted_out_at is not None,
            }
        )

    def changes(self) -> dict:
        """The form as contact_changes fields; ValidationError for a bad tags/attributes box."""
        errors, tags, attributes = {}, [], {}
        try:
            tags = split_tags(self.tags.data, ",;")
        except FieldError as exc:
            errors["tags"] = str(exc)
        try:
            attributes = parse_attributes(self.attributes.data or "")
        except FieldError as exc:
            errors["attributes"] = str(exc)
        if errors:
            raise ValidationError("Please correct the fields.", errors)
        return {
            "phone": self.phone.data,
            "whatsapp_user_id": self.whatsapp_user_id.data,
            "first_name": self.first_name.data,
            "last_name": self.last_name.data,
            "timezone": self.timezone.data,
            "tags": tags,
            "attributes": attributes,
            "opted_out": bool(self.opted_out.data),
        }

    def show_errors(self, exc: DripError) -> None:
        """Put a domain error's field messages next to the fields they name."""
        fields = exc.details.get("fields", {}) if isinstance(exc.details, dict) else {}
        for name, message in fields.items():
            field = getattr(self, name, None)
            if field is not None:
                field.errors = [*field.errors, message]


def format_attributes(attributes: dict) -> str:
    return "\n".join(
        f"{key}: {'' if value is None else value}" for key, value in attributes.items()
    )


def parse_attributes(text: str) -> dict:
    """ "city: Lisbon" lines -> {"city": "Lisbon"} (blank lines skipped)."""
    attributes = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon or not key.strip():
            raise FieldError(f"Line {number}: write name: value.")
        attributes[key.strip()] = value.strip()
    return attributes


class ImportForm(FlaskForm):
    file = FileField(
        "CSV file",
        validators=[FileRequired("Choose a CSV file to import.")],
        description="UTF-8, with a header row.",
    )


# What a column's select and attribute box may carry: longer is not a field or a name we
# would accept (the domain says why), so it is cut before it reaches it.
CHOICE_MAX = 40
ATTRIBUTE_NAME_INPUT_MAX = 200
ATTRIBUTE = "attribute"


@dataclass
class ColumnChoice:
    index: int
    label: str
    target: str  # a field name, "attribute" or "ignore"
    attribute: str  # the attribute's name when target is "attribute"


@dataclass
class ColumnChoices:
    """The mapping page's controls, one select (column-<i>) and one attribute name box
    (attribute-<i>) per column of the file, read into the mapping the domain checks."""

    items: list[ColumnChoice]

    @classmethod
    def guessed(cls, columns: list[str]) -> ColumnChoices:
        items = []
        for index, label in enumerate(columns):
            target = guess_target(label)
            if target.startswith(ATTRIBUTE + ":"):
                items.append(ColumnChoice(index, label, ATTRIBUTE, target.split(":", 1)[1]))
            else:
                items.append(ColumnChoice(index, label, target, label))
        return cls(items)

    @classmethod
    def from_form(cls, columns: list[str], form) -> ColumnChoices:
        return cls(
            [
                ColumnChoice(
                    index,
                    label,
                    (form.get(f"column-{index}") or "ignore").strip()[:CHOICE_MAX],
                    (form.get(f"attribute-{index}") or "").strip()[:ATTRIBUTE_NAME_INPUT_MAX],
                )
                for index, label in enumerate(columns)
            ]
        )

    def mapping(self) -> dict[str, str]:
        """{column name: target} as app.drip.contacts.set_mapping takes it."""
        return {
            item.label: (
                f"{ATTRIBUTE}:{item.attribute}" if item.target == ATTRIBUTE else item.target
            )
            for item in self.items
            if item.label
        }
