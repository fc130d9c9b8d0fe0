"""The sandbox provider: organizations without a WhatsApp account send through it. Nothing
leaves the machine; every message Meta would take (the same wire body is built, so a bad
number or an overlong text is refused as Meta refuses it) is accepted with a fresh wamid.
What happens to the message afterwards is simulated by app.drip.engagement.sandbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from app.whatsapp.client import template_body, text_body
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
        template_body(
            to, name, language, parameters, callback_data, components=components, user_id=user_id
        )
        return SendResult(new_wamid())


def new_wamid() -> str:
    return f"{WAMID_PREFIX}{uuid.uuid4().hex}"
