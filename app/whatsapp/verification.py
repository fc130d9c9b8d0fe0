"""Meta's answer to `GET /{version}/{phone-number-id}?fields=...`: the proof that an access
token can read a phone number id, read into a `PhoneNumber` or a `VerificationError` whose
reason a person can act on. Pure: no network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from app.whatsapp.errors import code_number

PHONE_NUMBER_FIELDS = (
    "display_phone_number,verified_name,quality_rating,throughput,"
    "whatsapp_business_manager_messaging_limit"
)

# One message for every "this token cannot read this id" answer. The caller uses it too when
# another organization holds the id, so a refusal never tells whether someone registered it.
NOT_VERIFIED = (
    "This phone number id could not be verified for this account: check that it is the id "
    "Meta shows for the number (WhatsApp Manager > Phone numbers) and that the access token "
    "has access to it."
)
BAD_TOKEN = (
    "WhatsApp refused the access token (invalid or expired): generate a new one for the app "
    "in Meta's Business settings and paste it again."
)
UNREACHABLE = (
    "Could not reach WhatsApp to verify the phone number id ({what}); nothing was saved. "
    "Try again in a few minutes."
)
BUSY = (
    "WhatsApp could not verify the phone number id right now ({what}); nothing was saved. "
    "Try again in a few minutes."
)
REDIRECTED = (
    "The API base URL answered with a redirect (HTTP {status}); Drip does not follow "
    "redirects: enter the API's address itself."
)

# Meta's codes for an object the token may not read: 100 (unknown or unreadable object,
# subcode 33), 10 and 200-299 (permission missing), 803 (unknown alias).
_UNREADABLE = {100, 10, 803, *range(200, 300)}
_TOKEN = {190, 102, 463, 467}
_TRANSIENT = {1, 2, 4, 17, 341, 80007, 131000, 131016}


@dataclass(frozen=True)
class PhoneNumber:
    """What Meta says about a phone number id the token can read."""

    id: str
    display_phone_number: str | None
    verified_name: str | None
    quality_rating: str | None
    throughput_level: str | None
    # The business portfolio's messaging limit tier (TIER_250 ...), when Meta reports it.
    messaging_limit_tier: str | None = None


class VerificationError(Exception):
    """Meta did not confirm the phone number id; `field` is the form field to fix, if one is."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def read_phone_number(response: httpx.Response, phone_number_id: str) -> PhoneNumber:
    """The phone number from Meta's answer; raises VerificationError for anything else."""
    status = response.status_code
    if 300 <= status < 400:
        raise VerificationError(REDIRECTED.format(status=status), "api_base_url")
    try:
        data = response.json()
    except ValueError:
        data = None
    if 200 <= status < 300:
        # An answer about another object (or none) proves nothing about this id.
        if not isinstance(data, dict) or str(data.get("id")) != phone_number_id:
            raise VerificationError(NOT_VERIFIED, "phone_number_id")
        return PhoneNumber(
            id=phone_number_id,
            display_phone_number=_text(data.get("display_phone_number"), 32),
            verified_name=_text(data.get("verified_name"), 255),
            quality_rating=_text(data.get("quality_rating"), 32),
            throughput_level=_text(_level(data.get("throughput")), 32),
            messaging_limit_tier=_text(
                data.get("whatsapp_business_manager_messaging_limit")
                or data.get("messaging_limit_tier"),
                32,
            ),
        )
    error = data.get("error") if isinstance(data, dict) else None
    raise refusal(error if isinstance(error, dict) else {}, status)


def refusal(error: dict[str, Any], status: int) -> VerificationError:
    """Meta's `error` object (or {} for a body without one) as a reason in words."""
    code = code_number(error.get("code"))
    if code in _TOKEN or (code is None and status == 401):
        return VerificationError(BAD_TOKEN, "access_token")
    if code in _UNREADABLE or (code is None and status in (400, 403, 404)):
        return VerificationError(NOT_VERIFIED, "phone_number_id")
    if code in _TRANSIENT or status == 429 or status >= 500:
        what = f"error {code}" if code is not None else f"HTTP {status}"
        return VerificationError(BUSY.format(what=what))
    what = f"error {code}" if code is not None else f"HTTP {status}"
    return VerificationError(f"WhatsApp did not confirm the phone number id ({what}).")


def _level(throughput: object) -> object:
    return throughput.get("level") if isinstance(throughput, dict) else None


def _text(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None
