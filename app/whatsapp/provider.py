"""What the processor sends through: the Cloud API client or the sandbox, interchangeably."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class SendResult:
    """An accepted send: the wamid that later status webhooks refer to."""

    wamid: str


@runtime_checkable
class Provider(Protocol):
    """Sends one message, or raises `app.whatsapp.errors.SendError` (its kind says whether the
    message may still have gone out). `to` is E.164 with or without the '+'; `callback_data`
    comes back in every status webhook of the message ("log=<message log id>"). A contact
    without a phone number (`to` None) is reached by its business-scoped `user_id`; template
    `components` are Meta's, built from the catalog's template."""

    def send_text(
        self,
        to: str | None,
        body: str,
        callback_data: str | None = None,
        *,
        user_id: str | None = None,
    ) -> SendResult: ...

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
    ) -> SendResult: ...
