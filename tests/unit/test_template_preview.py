"""The pure template renderer (app.drip.campaigns.template_preview): a catalog template's
header, body, footer and buttons with a step's parameters rendered for a contact."""

from __future__ import annotations

from app.drip.campaigns.template_preview import (
    parameter_slots,
    render_template_message,
)
from app.drip.campaigns.templating import SAMPLE_CONTACT, ContactValues
from app.drip.templates import parse_template
from app.models import WhatsAppTemplate


def row(body, fmt="POSITIONAL", components=()) -> WhatsAppTemplate:
    values = parse_template(
        {
            "name": "t",
            "language": "en_US",
            "status": "APPROVED",
            "parameter_format": fmt,
            "components": [{"type": "BODY", "text": body}, *components],
        }
    )
    return WhatsAppTemplate(**values)


ADA = ContactValues(first_name="Ada", attributes={"plan": "Pro"})


def test_positional_placeholders_take_the_rendered_parameters():
    template = row("Hi {{1}}, welcome to {{2}}! {{1}} again.")
    message = render_template_message(template, ADA, ["{{first_name|there}}", "Drip"])
    assert message.body == "Hi Ada, welcome to Drip! Ada again."
    nameless = render_template_message(template, ContactValues(), ["{{first_name|there}}", "x"])
    assert nameless.body.startswith("Hi there,")


def test_named_placeholders_and_attributes():
    template = row("{{first_name}}, your {{plan}} plan.", fmt="NAMED")
    assert template.parameters == ["first_name", "plan"]
    message = render_template_message(
        template, ADA, ["{{first_name}}", "{{attributes.plan|Basic}}"]
    )
    assert message.as_text() == "Ada, your Pro plan."
    assert (
        render_template_message(
            template, SAMPLE_CONTACT, ["{{first_name}}", "{{attributes.plan|Basic}}"]
        ).body
        == "Alex, your Basic plan."
    )


def test_a_missing_parameter_leaves_metas_placeholder():
    template = row("Hi {{1}}, code {{2}}.")
    assert render_template_message(template, ADA, ["{{first_name}}"]).body == "Hi Ada, code {{2}}."


def test_header_footer_and_buttons_as_whatsapp_shows_them():
    template = row(
        "{{1}}, new arrivals.",
        components=[
            {"type": "HEADER", "format": "TEXT", "text": "News for {{1}}"},
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "URL", "text": "Shop", "url": "https://shop.example/c/{{1}}"},
                    {"type": "QUICK_REPLY", "text": "Stop"},
                ],
            },
        ],
    )
    message = render_template_message(
        template, ADA, ["{{first_name}}"], header="{{first_name}}", buttons=["{{attributes.plan}}"]
    )
    assert message.header == "News for Ada"
    assert message.buttons == [
        {"type": "URL", "text": "Shop", "url": "https://shop.example/c/Pro"},
        {"type": "QUICK_REPLY", "text": "Stop"},
    ]
    assert message.as_text() == (
        "*News for Ada*\n\nAda, new arrivals.\n\nReply STOP to opt out"
        "\n[ Shop ] (https://shop.example/c/Pro)\n[ Stop ]"
    )


def test_a_media_header_shows_its_link():
    template = row("Hi {{1}}", components=[{"type": "HEADER", "format": "IMAGE"}])
    message = render_template_message(template, ADA, ["x"], header="https://cdn.example/a.jpg")
    assert message.media == {"format": "IMAGE", "link": "https://cdn.example/a.jpg"}
    assert message.as_text().startswith("[image: https://cdn.example/a.jpg]\n\nHi x")


def test_parameter_slots_say_where_each_parameter_sits():
    slots = parameter_slots(row("{{first_name}}, take {{discount}} off.", fmt="NAMED"))
    assert [s["name"] for s in slots] == ["first_name", "discount"]
    assert slots[1]["label"] == "discount ({{discount}})"
    assert "take {{discount}} off." in slots[1]["context"]
    assert parameter_slots(row("Hi {{1}}"))[0]["label"] == "Parameter {{1}}"
