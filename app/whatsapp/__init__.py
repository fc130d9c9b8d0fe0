"""The Meta adapter: the Cloud API client, the sandbox provider, webhook parsing and its
events, error classification, rate limiting. It imports nothing else of the app."""

from app.whatsapp.client import CloudApiClient
from app.whatsapp.errors import ErrorKind, SendError, gave_up_reason
from app.whatsapp.events import InboundMessageEvent, StatusUpdate
from app.whatsapp.provider import Provider, SendResult
from app.whatsapp.rate_limit import RateLimiter
from app.whatsapp.sandbox import WAMID_PREFIX, SandboxProvider
from app.whatsapp.webhook import (
    SIGNATURE_HEADER,
    WebhookBatch,
    WebhookFormatError,
    decode_delivery,
    parse_delivery,
    phone_number_ids,
    verify_signature,
)

__all__ = [
    "SIGNATURE_HEADER",
    "WAMID_PREFIX",
    "CloudApiClient",
    "ErrorKind",
    "InboundMessageEvent",
    "Provider",
    "RateLimiter",
    "SandboxProvider",
    "SendError",
    "SendResult",
    "StatusUpdate",
    "WebhookBatch",
    "WebhookFormatError",
    "decode_delivery",
    "gave_up_reason",
    "parse_delivery",
    "phone_number_ids",
    "verify_signature",
]
