"""The built-in catalog of a sandbox organization (no WhatsApp account): a few approved
templates in Meta's own shape, so the sync, the listing and template steps work in a demo."""

from __future__ import annotations

from collections.abc import Iterator


def _template(name: str, category: str, body: str, fmt: str, **extra) -> dict:
    components = [{"type": "BODY", "text": body}, *extra.pop("components", [])]
    return {
        "id": f"sandbox-{name}",
        "name": name,
        "language": "en_US",
        "status": "APPROVED",
        "category": category,
        "parameter_format": fmt,
        "quality_score": {"score": "GREEN"},
        "components": components,
    }


SANDBOX_TEMPLATES: tuple[dict, ...] = (
    _template(
        "drip_welcome",
        "MARKETING",
        "Hi {{1}}, welcome to {{2}}! Reply to this message if you have any question.",
        "POSITIONAL",
        components=[{"type": "FOOTER", "text": "Reply STOP to opt out"}],
    ),
    _template(
        "drip_offer",
        "MARKETING",
        "{{first_name}}, take {{discount}} off your next order with code {{code}}.",
        "NAMED",
        components=[
            {"type": "HEADER", "format": "TEXT", "text": "A treat for you"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop promotions"}]},
        ],
    ),
    _template(
        "onboarding_tips",
        "MARKETING",
        "{{1}}, three quick tips for your first order: sizes, delivery and returns, all on one"
        " page.",
        "POSITIONAL",
        components=[
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Open the tips",
                        "url": "https://demo-shop.example/start",
                    }
                ],
            }
        ],
    ),
    _template(
        "onboarding_last_call",
        "MARKETING",
        "Last call, {{1}}: code {{2}} takes 15% off your first order until midnight.",
        "POSITIONAL",
        components=[
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Use my code",
                        "url": "https://demo-shop.example/offer/{{1}}",
                        "example": ["https://demo-shop.example/offer/WELCOME15"],
                    }
                ],
            },
        ],
    ),
    _template(
        "new_collection",
        "MARKETING",
        "{{1}}, the new collection is in: have a look before it sells out.",
        "POSITIONAL",
        components=[{"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW"]}}],
    ),
    _template(
        "order_update",
        "UTILITY",
        "Hi {{first_name}}, order {{order_id}} is on its way.",
        "NAMED",
    ),
    _template(
        "appointment_reminder",
        "UTILITY",
        "Reminder: your appointment is on {{1}} at {{2}}. Reply to change it.",
        "POSITIONAL",
    ),
)


def sandbox_pages() -> Iterator[list[dict]]:
    """The sandbox catalog as one page, as the sync reads Meta's."""
    yield [dict(template) for template in SANDBOX_TEMPLATES]
