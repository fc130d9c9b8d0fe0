"""The field readers of webhook parsing: each returns a clean value or raises
WebhookFormatError naming the path at fault. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

# Epoch seconds Meta could plausibly send: 1970 .. 9999 (datetime's range).
_MAX_EPOCH = 253402300799
# The longest id (wamid, message id, phone number, phone number id) kept: the columns that
# hold them (String(128)). Meta's are far shorter.
MAX_ID_LENGTH = 128
_REPLACEMENT = "\ufffd"


class WebhookFormatError(ValueError):
    """The delivery is not a webhook body we understand; the message says why."""


def _list(container: dict, key: str, path: str) -> list:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise WebhookFormatError(f"{path}.{key} must be a list.")
    return value


def _object(container: dict, key: str, path: str) -> dict:
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WebhookFormatError(f"{path}.{key} must be an object.")
    return value


def _optional_str(container: dict, key: str, path: str) -> str | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise WebhookFormatError(f"{path}.{key} must be a string.")
    return _clean(value)


def _clean(text: str) -> str:
    """The text with NUL and unpaired surrogates (JSON's lone \\ud800) replaced by U+FFFD:
    PostgreSQL cannot store NUL and no database can store a surrogate as UTF-8, so a delivery
    carrying one failed to apply on every try (found by fuzzing)."""
    if "\x00" in text:
        text = text.replace("\x00", _REPLACEMENT)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join(_REPLACEMENT if "\ud800" <= c <= "\udfff" else c for c in text)
    return text


def _id(container: dict, key: str, path: str) -> str:
    """A required id: a non-empty string of at most MAX_ID_LENGTH characters."""
    value = _required_str(container, key, path)
    if len(value) > MAX_ID_LENGTH:
        raise WebhookFormatError(f"{path}.{key} is longer than {MAX_ID_LENGTH} characters.")
    return value


def _required_str(container: dict, key: str, path: str) -> str:
    value = _optional_str(container, key, path)
    if not value:
        raise WebhookFormatError(f"{path}.{key} is required (a non-empty string).")
    return value


def _timestamp(container: dict, path: str, key: str = "timestamp") -> datetime:
    """Meta's epoch seconds (a string, or a number in user_preferences and an entry's `time`)
    as aware UTC."""
    value = container.get(key)
    if isinstance(value, str) and value.isascii() and value.strip().isdigit():
        if len(value.strip()) > 12:
            raise WebhookFormatError(f"{path}.{key} is out of range.")
        seconds = int(value.strip())
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        raise WebhookFormatError(f"{path}.{key} must be epoch seconds (digits).")
    if not 0 <= seconds <= _MAX_EPOCH:
        raise WebhookFormatError(f"{path}.{key} is out of range.")
    return datetime.fromtimestamp(seconds, tz=UTC)


def _short(exc: Exception) -> str:
    return str(exc)[:200]
