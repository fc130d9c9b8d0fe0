"""The Meta adapter: the Cloud API client, the hosts it may call, phone number verification,
the sandbox provider, webhook parsing and its events, error classification, rate limiting.
It imports nothing else of the app."""

from app.whatsapp.client import HOST_NOT_ALLOWED, CloudApiClient
from app.whatsapp.errors import ErrorKind, SendError, describe_code, gave_up_reason
from app.whatsapp.events import InboundMessageEvent, LimitUpdate, StatusUpdate, TemplateUpdate
from app.whatsapp.hosts import META_API_BASE_URL, AllowedHosts
from app.whatsapp.messaging_limits import UNKNOWN_LIMIT, messaging_limit_of
from app.whatsapp.provider import Provider, SendResult
from app.whatsapp.rate_limit import RateLimiter
from app.whatsapp.sandbox import WAMID_PREFIX, SandboxProvider
from app.whatsapp.verification import NOT_VERIFIED, PhoneNumber, VerificationError
from app.whatsapp.webhook import (
    SIGNATURE_HEADER,
    WebhookBatch,
    WebhookFormatError,
    business_account_ids,
    decode_delivery,
    parse_delivery,
    phone_number_ids,
    verify_signature,
)

__all__ = [
    "HOST_NOT_ALLOWED",
    "META_API_BASE_URL",
    "NOT_VERIFIED",
    "SIGNATURE_HEADER",
    "UNKNOWN_LIMIT",
    "WAMID_PREFIX",
    "AllowedHosts",
    "CloudApiClient",
    "ErrorKind",
    "InboundMessageEvent",
    "LimitUpdate",
    "PhoneNumber",
    "Provider",
    "RateLimiter",
    "SandboxProvider",
    "SendError",
    "SendResult",
    "StatusUpdate",
    "TemplateUpdate",
    "VerificationError",
    "WebhookBatch",
    "WebhookFormatError",
    "business_account_ids",
    "decode_delivery",
    "describe_code",
    "gave_up_reason",
    "messaging_limit_of",
    "parse_delivery",
    "phone_number_ids",
    "verify_signature",
]
