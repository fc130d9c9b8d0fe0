"""Meta's template objects read into catalog rows (app.drip.templates.parse_template)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.drip.errors import ValidationError
from app.drip.templates import SANDBOX_TEMPLATES, parse_template

PAGE = Path(__file__).parents[1] / "fakes" / "fixtures" / "message_templates_page.json"


@pytest.fixture
def sample() -> list[dict]:
    return json.loads(PAGE.read_text())["data"]


def test_positional_template_with_header_footer_and_buttons(sample):
    row = parse_template(sample[0])
    assert row["name"] == "drip_welcome" and row["language"] == "en_US"
    assert row["meta_id"] == "1203948576601"
    assert (row["category"], row["status"], row["quality_score"]) == (
        "MARKETING",
        "APPROVED",
        "GREEN",
    )
    assert row["parameter_format"] == "positional"
    assert row["parameters"] == ["1", "2"]
    assert row["body_text"].startswith("Hi {{1}}, welcome to {{2}}!")
    assert row["header"] == {"format": "IMAGE"}
    assert row["footer_text"] == "Reply STOP to opt out"
    assert row["buttons"] == [
        {
            "type": "URL",
            "text": "Shop now",
            "url": "https://shop.example.com/{{1}}",
            "parameters": ["1"],
        },
        {"type": "QUICK_REPLY", "text": "Stop promotions", "parameters": []},
    ]


def test_named_template(sample):
    row = parse_template(sample[1])
    assert row["parameter_format"] == "named"
    assert row["parameters"] == ["first_name", "order_id"]
    assert row["quality_score"] == "UNKNOWN"
    assert row["header"] is None and row["footer_text"] is None and row["buttons"] is None


def test_format_read_from_the_placeholders_when_meta_does_not_say():
    named = {"name": "n", "language": "en", "components": [{"type": "BODY", "text": "{{who}}"}]}
    positional = {**named, "components": [{"type": "BODY", "text": "{{2}} {{1}} {{2}}"}]}
    assert parse_template(named)["parameter_format"] == "named"
    assert parse_template(positional)["parameters"] == ["2", "1"]
    assert parse_template(positional)["parameter_format"] == "positional"


def test_named_parameters_from_the_example_alone():
    example = {"body_text_named_params": [{"param_name": "code", "example": "X"}]}
    item = {"name": "n", "language": "en", "components": [{"type": "BODY", "example": example}]}
    assert parse_template(item)["parameters"] == ["code"]


def test_a_text_header_keeps_its_text_and_parameters():
    header = {"type": "HEADER", "format": "TEXT", "text": "Hello {{1}}"}
    row = parse_template({"name": "n", "language": "en", "components": [header]})
    assert row["header"] == {"format": "TEXT", "text": "Hello {{1}}", "parameters": ["1"]}


def test_unknown_values_are_not_trusted():
    row = parse_template(
        {"name": "n", "language": "en", "category": "SPAM", "quality_score": {"score": "PINK"}}
    )
    assert row["category"] == "UTILITY" and row["quality_score"] is None
    assert row["status"] == "PENDING" and row["parameters"] == []


@pytest.mark.parametrize(
    "item", [None, [], {"name": "n"}, {"language": "en"}, {"name": "", "language": "en"}]
)
def test_an_object_without_name_or_language_is_refused(item):
    with pytest.raises(ValidationError):
        parse_template(item)


def test_the_sandbox_catalog_is_approved_and_has_both_formats():
    rows = [parse_template(item) for item in SANDBOX_TEMPLATES]
    assert {row["status"] for row in rows} == {"APPROVED"}
    assert {row["category"] for row in rows} == {"MARKETING", "UTILITY"}
    assert {row["parameter_format"] for row in rows} == {"positional", "named"}
    assert {row["language"] for row in rows} == {"en_US"}
