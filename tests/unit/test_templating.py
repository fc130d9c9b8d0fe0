from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.drip.campaigns.templating import MAX_TEXT_LENGTH, ContactValues, render, text_errors

ADA = ContactValues(
    first_name="Ada",
    last_name="Lovelace",
    phone="+442079460001",
    attributes={"plan": "Pro", "visits": 3, "empty": ""},
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi {{first_name}}!", "Hi Ada!"),
        ("Hi {{ first_name }} {{last_name}}", "Hi Ada Lovelace"),
        ("Call {{phone}}", "Call +442079460001"),
        ("Your plan: {{attributes.plan}} ({{attributes.visits}})", "Your plan: Pro (3)"),
        ("Hi {{first_name|there}}", "Hi Ada"),
        ("No braces here", "No braces here"),
    ],
)
def test_render_with_values(text, expected):
    assert render(text, ADA) == expected


def test_fallbacks_apply_to_missing_and_empty_values():
    nobody = ContactValues(phone="+12025550143")
    assert render("Hi {{first_name|there}}!", nobody) == "Hi there!"
    assert render("Hi {{ first_name | dear friend }}!", nobody) == "Hi dear friend!"
    assert render("Hi {{first_name}}!", nobody) == "Hi !"
    assert render("{{attributes.empty|n/a}} {{attributes.missing|none}}", ADA) == "n/a none"


def test_unknown_variables_are_errors():
    errors = text_errors("Hi {{firstname}} {{attributes.}} {{attributes.a b}}")
    assert len(errors) == 3
    assert "{{firstname}}" in errors[0]


def test_unclosed_variable_is_an_error():
    assert any("not closed" in e for e in text_errors("Hi {{first_name"))
    assert any("not closed" in e for e in text_errors("Hi first_name}}"))


def test_empty_and_too_long_messages_are_refused():
    assert text_errors("") == ["The message is empty."]
    assert text_errors("   \n") == ["The message is empty."]
    assert text_errors(None) == ["The message is empty."]
    assert text_errors("x" * MAX_TEXT_LENGTH) == []
    assert "4,097 characters" in text_errors("x" * (MAX_TEXT_LENGTH + 1))[0]


@given(st.text(max_size=300))
def test_validation_and_rendering_never_crash(text):
    errors = text_errors(text)
    assert isinstance(errors, list)
    rendered = render(text, ADA)
    assert isinstance(rendered, str)
    if not errors:
        # A valid text renders with no variable syntax left over.
        assert "{{" not in rendered
