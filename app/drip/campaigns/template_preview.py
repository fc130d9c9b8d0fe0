"""A catalog template as WhatsApp shows it to a contact: its header, body, footer and buttons,
with the step's parameters rendered for that contact. Pure: no session, no Flask.

The template's own placeholders are Meta's, positional `{{1}}` or named `{{first_name}}`; each
is replaced by the step's parameter at the same place in `WhatsAppTemplate.parameters`, itself
rendered with Drip's variables (`{{first_name|there}}`, app.drip.campaigns.templating.render).
A header TEXT with a variable takes the step's `template_header`; a URL button whose url has a
variable takes the step's `template_buttons` entry, in button order. A placeholder without a
parameter is left as Meta wrote it, so a preview shows what is missing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.drip.campaigns.templating import ContactValues, render

# Meta's placeholders in a template's text ({{1}}, {{first_name}}), not Drip's variables.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEDIA_HEADERS = ("IMAGE", "VIDEO", "DOCUMENT")
CONTEXT_CHARS = 30


@dataclass(frozen=True)
class TemplateMessage:
    """The parts of a rendered template message."""

    body: str
    header: str | None = None  # a TEXT header, rendered
    media: dict | None = None  # {"format": "IMAGE", "link": ...} for a media header
    footer: str | None = None
    buttons: list[dict] = field(default_factory=list)  # {"type", "text", "url"?}

    def as_text(self) -> str:
        """One text, as the chat bubble reads from top to bottom."""
        parts = []
        if self.media:
            parts.append(f"[{self.media['format'].lower()}: {self.media['link'] or '—'}]")
        if self.header:
            parts.append(f"*{self.header}*")
        parts.append(self.body)
        if self.footer:
            parts.append(self.footer)
        text = "\n\n".join(parts)
        for button in self.buttons:
            target = f" ({button['url']})" if button.get("url") else ""
            text += f"\n[ {button['text']} ]{target}"
        return text

    def as_dict(self) -> dict:
        return {
            "header": self.header,
            "media": self.media,
            "body": self.body,
            "footer": self.footer,
            "buttons": self.buttons,
        }


def header_format(template) -> str | None:
    header = template.header or {}
    return (header.get("format") or "TEXT").upper() if header else None


def header_needs_parameter(template) -> bool:
    """Whether the step must give the header's parameter (media link or header text)."""
    fmt = header_format(template)
    if fmt in MEDIA_HEADERS:
        return True
    return fmt == "TEXT" and bool((template.header or {}).get("parameters"))


def url_buttons(template) -> list[dict]:
    """The template's URL buttons whose url has a variable: one step parameter each."""
    return [
        button
        for button in template.buttons or []
        if (button.get("type") or "").upper() == "URL" and button.get("parameters")
    ]


def parameter_slots(template) -> list[dict]:
    """One entry per body parameter: its name, a label, and the body text around it."""
    body = template.body_text or ""
    slots = []
    for index, name in enumerate(template.parameters or [], start=1):
        match = next((m for m in PLACEHOLDER.finditer(body) if m.group(1) == name), None)
        context = ""
        if match:
            before = body[max(0, match.start() - CONTEXT_CHARS) : match.start()]
            after = body[match.end() : match.end() + CONTEXT_CHARS]
            context = (
                ("…" if match.start() > CONTEXT_CHARS else "")
                + f"{before}{match.group(0)}{after}"
                + ("…" if match.end() + CONTEXT_CHARS < len(body) else "")
            )
        label = f"Parameter {{{{{name}}}}}" if name.isdigit() else f"{name} ({{{{{name}}}}})"
        slots.append({"index": index, "name": name, "label": label, "context": context})
    return slots


def fill(text: str | None, values: dict[str, str]) -> str:
    """Meta's placeholders of `text` replaced by `values` (name -> text); others stay."""

    def substitute(match: re.Match) -> str:
        return values.get(match.group(1), match.group(0))

    return PLACEHOLDER.sub(substitute, text or "")


def render_template_message(
    template,
    contact: ContactValues,
    parameters: list[str] | None = None,
    *,
    header: str | None = None,
    buttons: list[str] | None = None,
) -> TemplateMessage:
    """The template's text with the step's parameters rendered for `contact`."""
    names = list(template.parameters or [])
    given = [render(p, contact) for p in parameters or []]
    body = fill(template.body_text, dict(zip(names, given, strict=False)))
    header_text, media = None, None
    fmt = header_format(template)
    rendered_header = render(header, contact) if header else None
    if fmt in MEDIA_HEADERS:
        media = {"format": fmt, "link": rendered_header}
    elif fmt == "TEXT":
        header_names = (template.header or {}).get("parameters") or []
        filled = {header_names[0]: rendered_header} if header_names and rendered_header else {}
        header_text = fill(template.header.get("text"), filled) or None
    return TemplateMessage(
        body=body,
        header=header_text,
        media=media,
        footer=template.footer_text or None,
        buttons=_buttons(template, contact, buttons or []),
    )


def _buttons(template, contact: ContactValues, given: list[str]) -> list[dict]:
    shown, index = [], 0
    for button in template.buttons or []:
        item = {"type": (button.get("type") or "").upper(), "text": button.get("text") or ""}
        if button.get("url"):
            url = button["url"]
            if item["type"] == "URL" and button.get("parameters"):
                value = render(given[index], contact) if index < len(given) else None
                index += 1
                url = fill(url, {button["parameters"][0]: value} if value else {})
            item["url"] = url
        shown.append(item)
    return shown
