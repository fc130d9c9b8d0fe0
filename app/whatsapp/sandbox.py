"""The sandbox provider: organizations without a WhatsApp account send through it. Nothing
leaves the machine; every message Meta would take (the same wire body is built, so a bad
number or an overlong text is refused as Meta refuses it) is accepted with a fresh wamid.
What happens to the message afterwards is simulated by app.drip.engagement.sandbox.

Template components are checked as Meta checks them before looking at the template: a media
header whose link is not an https URL is refused with 100, a text parameter without text with
131008. The sandbox does not see the catalog (app.whatsapp imports nothing of the app): a
template that is not approved never reaches it (the processor holds its step) and parameter
counts are checked when a step is saved, so it does not refuse 132000/132001/132015/132016."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from app.whatsapp.client import template_body, text_body
from app.whatsapp.errors import ErrorKind, SendError, reason_for
from app.whatsapp.provider import SendResult

WAMID_PREFIX = "wamid.SANDBOX."


class SandboxProvider:
    """A Provider that sends nothing: each message is accepted with a fresh wamid."""

    def send_text(
        self,
        to: str | None,
        body: str,
        callback_data: str | None = None,
        *,
        user_id: str | None = None,
    ) -> SendResult:
        text_body(to, body, callback_data, user_id=user_id)
        return SendResult(new_wamid())

    def send_template(
        self,
        to: str | None,
        name: str,
        language: str,
        parameters: Sequence[str] = (),
        callback_data: str | None = None,
        *,
        components: Sequence[dict[str, Any]] | None = None,
        user_id: str | None = None,
    ) -> SendResult:
        payload = template_body(
            to, name, language, parameters, callback_data, components=components, user_id=user_id
        )
        refuse_malformed(payload["template"])
        return SendResult(new_wamid())


MEDIA_TYPES = ("image", "video", "document")


def refuse_malformed(template: dict[str, Any]) -> None:
    """Raise Meta's refusal of a template whose components are malformed (see the module)."""
    for component in template.get("components") or []:
        for parameter in component.get("parameters") or []:
            kind = parameter.get("type")
            if kind == "text" and not str(parameter.get("text") or "").strip():
                where = f"a {component.get('type', 'body')} parameter"
                raise _refusal(131008, f"{reason_for(131008)} ({where} came out empty)")
            if kind in MEDIA_TYPES:
                link = (parameter.get(kind) or {}).get("link")
                if not isinstance(link, str) or not link.startswith("https://") or " " in link:
                    raise _refusal(
                        100, f"The template's {kind} header needs an https link, not {link!r}"
                    )


def _refusal(code: int, reason: str) -> SendError:
    return SendError(ErrorKind.PERMANENT, reason, code=str(code), http_status=400)


def new_wamid() -> str:
    return f"{WAMID_PREFIX}{uuid.uuid4().hex}"
