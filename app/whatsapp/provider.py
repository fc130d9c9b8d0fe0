"""What the processor sends through: the Cloud API client or the sandbox, interchangeably."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class SendResult:
    """An accepted send: the wamid that later status webhooks refer to."""

    wamid: str


@runtime_checkable
class Provider(Protocol):
    """Sends one message, or raises `app.whatsapp.errors.SendError` (its kind says whether the
    message may still have gone out). `to` is E.164 with or without the '+'; `callback_data`
    comes back in every status webhook of the message ("log=<message log id>")."""

    def send_text(self, to: str, body: str, callback_data: str | None = None) -> SendResult: ...

    def send_template(
        self,
        to: str,
        name: str,
        language: str,
        parameters: Sequence[str] = (),
        callback_data: str | None = None,
    ) -> SendResult: ...
