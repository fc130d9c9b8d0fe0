"""Cloud API errors: their kind (by Meta's error code, not the HTTP status), a reason a marketer
can act on, and the retry policy. Pure: no network, no database.

The same classification serves the send answer and the `errors[]` of a failed status webhook.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class ErrorKind(StrEnum):
    RETRY = "retry"  # transient: resend after a short backoff
    RETRY_LATER = "retry_later"  # account/app limit or maintenance: resend after minutes
    PERMANENT = "permanent"  # this message will not go through as it is
    STOP_ACCOUNT = "stop_account"  # nothing goes through for the account until a person acts
    AMBIGUOUS = "ambiguous"  # may have been accepted: never resend automatically


RETRYABLE = frozenset({ErrorKind.RETRY, ErrorKind.RETRY_LATER})

_KIND_BY_CODE: dict[int, ErrorKind] = {
    **dict.fromkeys((130429, 131056, 1, 2, 131000, 131016), ErrorKind.RETRY),
    # 131048 (spam rate limit) is a phone-number level restriction that lifts with time.
    **dict.fromkeys((80007, 4, 131057, 131048), ErrorKind.RETRY_LATER),
    **dict.fromkeys((131047, 131049, 131026, 131050, 131051, 131008, 100), ErrorKind.PERMANENT),
    # Template errors fail this message only (132001/132015/132016 also hold the step: the
    # template is unknown, paused or disabled; app.drip.sending.refusals), never the account.
    **dict.fromkeys(range(132000, 132017), ErrorKind.PERMANENT),
    # 3, 10, 200-299, 131005 (missing permission) and 133010 (number not registered) fail every
    # message of the account the same way, so they stop the account like an expired token.
    **dict.fromkeys((190, 368, 131031, 131042, 3, 10, 131005, 133010), ErrorKind.STOP_ACCOUNT),
    **dict.fromkeys(range(200, 300), ErrorKind.STOP_ACCOUNT),
}

_TEMPLATE = "WhatsApp rejected the message template"
_REASONS: dict[int, str] = {
    130429: "WhatsApp's sending speed limit for this phone number was reached; retrying slower",
    131056: "Too many messages to this contact in a short time; retrying after a pause",
    80007: "The WhatsApp Business Account reached its rate limit; retrying later",
    4: "The app reached Meta's API call limit; retrying later",
    131048: "WhatsApp limited this phone number for spam signals; retrying later",
    1: "WhatsApp reported an unknown error; retrying",
    2: "WhatsApp's service was temporarily unavailable; retrying",
    131000: "Something went wrong at WhatsApp; retrying",
    131016: "WhatsApp's service was temporarily overloaded; retrying",
    131057: "The WhatsApp Business Account is in maintenance; retrying in about a minute",
    131047: "More than 24 hours since the contact last wrote: free text is refused, "
    "use an approved template",
    131049: "WhatsApp held back this marketing message to keep engagement healthy "
    "(the contact got many marketing messages): do not resend soon",
    131026: "The message could not be delivered: the number may not be on WhatsApp, "
    "may have blocked the business, or uses an outdated app",
    131050: "The contact turned off marketing messages from this business: they are opted out",
    131051: "WhatsApp does not support this message type",
    131008: "WhatsApp refused the message: a required parameter is missing or empty",
    100: "WhatsApp rejected a parameter of the request (a bug in the message or its settings)",
    132000: f"{_TEMPLATE}: the number of parameters does not match the template's placeholders",
    132001: f"{_TEMPLATE}: it does not exist in this language or is not approved yet",
    132005: f"{_TEMPLATE}: the text with its parameters is too long",
    132007: f"{_TEMPLATE}: its content breaks WhatsApp's policies",
    132012: f"{_TEMPLATE}: a parameter has the wrong format",
    132015: f"{_TEMPLATE}: it is paused for low quality; edit it or use another one",
    132016: f"{_TEMPLATE}: it was disabled for low quality; create a new one",
    190: "The WhatsApp access token has expired or is invalid: sending is paused for this "
    "account until a new token is saved in Settings",
    368: "Meta temporarily blocked this account for a policy violation: sending is paused",
    131031: "The WhatsApp Business Account is locked: sending is paused until Meta unlocks it",
    131042: "There is a payment problem on the WhatsApp Business Account: sending is paused "
    "until billing is fixed",
}

AMBIGUOUS_REASON = (
    "No answer from WhatsApp after the message was sent: it may have been delivered, so it is "
    "not resent automatically; check the contact's delivery status before sending again"
)


def code_number(code: object) -> int | None:
    """Meta's code as an int, from an int or a numeric string; None otherwise."""
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().isdigit():
        return int(code)
    return None


def kind_for_status(http_status: int | None) -> ErrorKind:
    """The kind of an HTTP error that carries no usable Meta code."""
    if http_status == 429:
        return ErrorKind.RETRY_LATER
    if http_status is not None and http_status >= 500:
        return ErrorKind.RETRY
    return ErrorKind.PERMANENT


def classify(code: object, http_status: int | None = None) -> ErrorKind:
    """The kind of an error: by Meta's code when it is a known one, else by the HTTP status."""
    number = code_number(code)
    if number is not None and number in _KIND_BY_CODE:
        return _KIND_BY_CODE[number]
    return kind_for_status(http_status)


def reason_for(code: object, http_status: int | None = None, detail: str | None = None) -> str:
    """Plain-English reason for a marketer; falls back to Meta's own words for unknown codes."""
    number = code_number(code)
    if number in _REASONS:
        return _REASONS[number]
    if number is not None and 132000 <= number <= 132999:
        return f"{_TEMPLATE} (error {number}): check its name, language and parameters"
    kind = classify(code, http_status)
    said = f": {detail}" if detail else ""
    label = f"error {number}" if number is not None else f"HTTP {http_status}"
    if kind is ErrorKind.RETRY:
        return f"WhatsApp had a temporary problem ({label}{said}); retrying"
    if kind is ErrorKind.RETRY_LATER:
        return f"WhatsApp asked to slow down ({label}{said}); retrying later"
    if kind is ErrorKind.STOP_ACCOUNT:
        return f"WhatsApp refused the account ({label}{said}): sending is paused"
    return f"WhatsApp refused the message ({label}{said})"


# Codes Drip stores that are not Meta's (app.drip.sending): what they mean.
_DRIP_CODES = {
    "stale": "No answer about this message for too long: it was given up without resending",
    "ambiguous": AMBIGUOUS_REASON,
    "retry": "A temporary problem before the message was sent; it was retried",
}


def describe_code(code: object) -> str:
    """A stored error code (Meta's number, an HTTP status, or one of Drip's words) in words,
    for pages and exports that show codes: "131049" is not words."""
    if code is None or code == "":
        return "no error code"
    text = str(code).strip()
    if text in _DRIP_CODES:
        return _DRIP_CODES[text]
    number = code_number(text)
    if number is not None and 100 <= number <= 599 and number not in _REASONS:
        return reason_for(None, number)  # an HTTP status without Meta's code
    return reason_for(text)


class SendError(Exception):
    """A failed send: what kind it is, Meta's code and words, and a reason for a person."""

    def __init__(
        self,
        kind: ErrorKind,
        reason: str,
        *,
        code: str | None = None,
        title: str | None = None,
        message: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.kind = ErrorKind(kind)
        self.reason = reason
        self.code = code
        self.title = title
        self.message = message
        self.http_status = http_status

    @classmethod
    def from_api_error(cls, error: Mapping[str, Any], http_status: int | None = None) -> SendError:
        """From Meta's `error` object (send answer) or one `errors[]` item (status webhook)."""
        raw_code = error.get("code")
        number = code_number(raw_code)
        code = str(number) if number is not None else None
        title = _strip_code_prefix(error.get("title") or error.get("message"))
        data = error.get("error_data")
        detail = data.get("details") if isinstance(data, Mapping) else None
        message = detail or error.get("error_user_msg") or error.get("message") or title
        return cls(
            classify(number, http_status),
            reason_for(number, http_status, title),
            code=code,
            title=title,
            message=message,
            http_status=http_status,
        )

    @classmethod
    def from_http_status(cls, http_status: int) -> SendError:
        """An HTTP error whose body is not Meta's error JSON (a proxy page, an HTML 502)."""
        return cls(
            kind_for_status(http_status), reason_for(None, http_status), http_status=http_status
        )

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    @property
    def max_attempts(self) -> int:
        return max_attempts(self.code, self.kind)

    def retry_delay(self, attempt: int, rng: Uniform | None = None) -> float:
        return retry_delay(self.code, attempt, rng, kind=self.kind)

    def __str__(self) -> str:
        return f"{self.code or self.http_status or self.kind.value}: {self.reason}"

    def __reduce__(self):
        # Keyword-only fields would be lost by the default Exception pickling (RQ, logging).
        fields = (self.code, self.title, self.message, self.http_status)
        return (_rebuild, (self.kind, self.reason, *fields))


def _rebuild(kind, reason, code, title, message, http_status) -> SendError:
    return SendError(kind, reason, code=code, title=title, message=message, http_status=http_status)


def _strip_code_prefix(text: object) -> str | None:
    """'(#130429) Rate limit hit' -> 'Rate limit hit'."""
    if not isinstance(text, str):
        return None
    if text.startswith("(#") and ") " in text:
        return text.split(") ", 1)[1]
    return text


# --- retry policy -------------------------------------------------------------------------


class Uniform(Protocol):
    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff. `full_jitter` draws in [0, wait]; otherwise the wait is a floor Meta
    asked for (131056's 4^n, maintenance), honoured, with up to a quarter more on top."""

    base: float  # seconds for the first retry
    growth: float
    cap: float  # no delay is longer
    max_attempts: int  # sends in total, the first one included
    full_jitter: bool = True

    def delay(self, attempt: int, rng: Uniform) -> float:
        wait = min(self.cap, self.base * self.growth ** (attempt - 1))
        if self.full_jitter:
            return rng.uniform(0.0, wait)
        return min(self.cap, wait + rng.uniform(0.0, wait / 4))


THROUGHPUT = Backoff(base=1.0, growth=2.0, cap=300.0, max_attempts=8)
TRANSIENT = Backoff(base=2.0, growth=2.0, cap=300.0, max_attempts=8)
# 4^n for n = 1..4 stays under the cap: 4, 16, 64, 256 s (+ up to 25%).
PAIR_RATE = Backoff(base=4.0, growth=4.0, cap=320.0, max_attempts=5, full_jitter=False)
MAINTENANCE = Backoff(base=60.0, growth=2.0, cap=900.0, max_attempts=6, full_jitter=False)
ACCOUNT_LIMIT = Backoff(base=120.0, growth=2.0, cap=1800.0, max_attempts=6, full_jitter=False)
SLOW_DOWN = Backoff(base=60.0, growth=2.0, cap=900.0, max_attempts=6, full_jitter=False)

_POLICY_BY_CODE: dict[int, Backoff] = {
    130429: THROUGHPUT,
    131056: PAIR_RATE,
    131057: MAINTENANCE,
    80007: ACCOUNT_LIMIT,
    4: ACCOUNT_LIMIT,
    131048: ACCOUNT_LIMIT,
}
_POLICY_BY_KIND = {ErrorKind.RETRY: TRANSIENT, ErrorKind.RETRY_LATER: SLOW_DOWN}


def policy_for(code: object, kind: ErrorKind | None = None) -> Backoff | None:
    """The backoff of a retryable error; None when it must not be retried automatically.

    `kind` decides for errors without a code (429 -> RETRY_LATER, 5xx and network -> RETRY).
    """
    number = code_number(code)
    known = number is not None and number in _KIND_BY_CODE
    effective = _KIND_BY_CODE[number] if known else kind
    if effective not in RETRYABLE:
        return None
    if known and number in _POLICY_BY_CODE:
        return _POLICY_BY_CODE[number]
    return _POLICY_BY_KIND[effective]


def max_attempts(code: object, kind: ErrorKind | None = None) -> int:
    """How many sends in total (the first included) before the message fails; 1 = no retry."""
    policy = policy_for(code, kind)
    return policy.max_attempts if policy else 1


def retry_delay(
    code: object, attempt: int, rng: Uniform | None = None, *, kind: ErrorKind | None = None
) -> float:
    """Seconds to wait before the next send, `attempt` being the sends made so far (>= 1)."""
    if attempt < 1:
        raise ValueError("attempt counts the sends already made; it starts at 1")
    policy = policy_for(code, kind)
    if policy is None:
        raise ValueError(f"error {code or kind} is not retried automatically")
    return policy.delay(attempt, rng or random)


def gave_up_reason(error: SendError, attempts: int) -> str:
    """The reason recorded when a retryable error exhausted its attempts."""
    return f"Gave up after {attempts} attempts. {error.reason}"
