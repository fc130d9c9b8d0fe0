"""Message variables: {{first_name}}, {{last_name}}, {{phone}}, {{attributes.KEY}}, with a
fallback after a bar ({{first_name|there}}). Pure functions: validation, rendering, preview."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_TEXT_LENGTH = 4096  # Meta's limit for a text message body
CONTACT_FIELDS = ("first_name", "last_name", "phone")
ATTRIBUTE_PREFIX = "attributes."

# {{ name }} or {{ name | fallback }}; the fallback may not contain braces.
VARIABLE = re.compile(r"\{\{\s*([^{}|]*?)\s*(?:\|([^{}]*))?\}\}")
ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_\-]+")


@dataclass(frozen=True)
class ContactValues:
    """What a message can say about a contact."""

    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    attributes: dict = field(default_factory=dict)

    def lookup(self, name: str) -> str | None:
        # Only the documented variables: getattr(self, name) raised AttributeError for
        # {{x}} and {{}}, and {{lookup}} or {{attributes}} rendered this object's internals
        # (found by fuzzing render with texts that were not validated first).
        if not is_known_variable(name):
            return None
        if name.startswith(ATTRIBUTE_PREFIX):
            value = self.attributes.get(name[len(ATTRIBUTE_PREFIX) :])
        else:
            value = getattr(self, name)
        if value is None or value == "":
            return None
        return str(value)


SAMPLE_CONTACT = ContactValues(first_name="Alex", last_name="Sample", phone="+12025550143")


def variable_errors(text: str) -> list[str]:
    """Problems with the variables of a text: unknown names, stray braces."""
    errors = []
    for match in VARIABLE.finditer(text):
        name = match.group(1)
        if not is_known_variable(name):
            errors.append(
                f"Unknown variable {{{{{name}}}}}: use first_name, last_name, phone or "
                "attributes.KEY."
            )
    leftover = VARIABLE.sub("", text)
    if "{{" in leftover or "}}" in leftover:
        errors.append("A variable is not closed: write {{first_name}} or {{first_name|there}}.")
    return errors


def is_known_variable(name: str) -> bool:
    if name in CONTACT_FIELDS:
        return True
    if name.startswith(ATTRIBUTE_PREFIX):
        return bool(ATTRIBUTE_KEY.fullmatch(name[len(ATTRIBUTE_PREFIX) :]))
    return False


def text_errors(text: str | None) -> list[str]:
    """Every reason a text message cannot be sent as written."""
    if text is None or not text.strip():
        return ["The message is empty."]
    errors = []
    if len(text) > MAX_TEXT_LENGTH:
        errors.append(
            f"The message has {len(text):,} characters; WhatsApp allows {MAX_TEXT_LENGTH:,}."
        )
    return errors + variable_errors(text)


def render(text: str, contact: ContactValues) -> str:
    """The text with each variable replaced by the contact's value, or its fallback, or ''."""

    def substitute(match: re.Match) -> str:
        value = contact.lookup(match.group(1))
        if value is not None:
            return value
        return (match.group(2) or "").strip()

    return VARIABLE.sub(substitute, text)
