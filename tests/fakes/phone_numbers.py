"""The fake Cloud API's phone number lookups: `GET /{version}/{phone-number-id}?fields=...`,
answered as Meta does (tests/fakes/cloud_api.py serves them).

The fake's token reads its phone number id (any id when it has none), and `add` lets more
tokens read more ids; any other id, existing or not, gets Meta's error 100/33
("does not exist, cannot be loaded due to missing permissions"), and an unknown token error 190.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from urllib.parse import parse_qs

from tests.fakes import meta_format as meta

DISPLAY_PHONE_NUMBER = "+1 555-000-1111"
_PHONE_PATH = re.compile(r"^/(v\d+(?:\.\d+)?)/([^/]+)$")


def lookup_id(method: str, path: str) -> str | None:
    """The phone number id of a lookup (`GET /{version}/{id}`), else None."""
    if method != "GET":
        return None
    match = _PHONE_PATH.match(path.split("?", 1)[0])
    return match[2] if match else None


class PhoneNumbers:
    """Which token reads which phone number id; thread-safe."""

    def __init__(self, token: str, phone_number_id: str | None, display: str) -> None:
        self._token = token
        self._own_id = phone_number_id  # None: the default token reads any id
        self._readers: dict[str, set[str]] = {}  # phone number id -> tokens added for it
        self.display_phone_number = display
        self._lock = threading.Lock()
        self.lookups = 0
        self.messaging_limit_tier: str | None = None  # reported when set (TIER_2K ...)

    def add(self, phone_number_id: str, token: str) -> None:
        with self._lock:
            self._readers.setdefault(phone_number_id, set()).add(token)

    def answer(self, path: str, authorization: str) -> tuple[int, bytes]:
        """(HTTP status, body) of `GET path` with this Authorization header."""
        phone_id = lookup_id("GET", path) or ""
        token = authorization.removeprefix("Bearer ")
        with self._lock:
            self.lookups += 1
            readers = set(self._readers.get(phone_id, ()))
            known = {self._token}.union(*self._readers.values())
        if self._own_id in (None, phone_id):
            readers.add(self._token)
        if token not in known:
            return 401, meta.error_body(190, meta.INVALID_TOKEN)
        if token not in readers:
            return 400, _unreadable(phone_id)
        number = {
            "display_phone_number": self.display_phone_number,
            "verified_name": "Fake Shop",
            "quality_rating": "GREEN",
            "throughput": {"level": "STANDARD"},
        }
        if self.messaging_limit_tier:
            number["whatsapp_business_manager_messaging_limit"] = self.messaging_limit_tier
        fields = parse_qs(path.partition("?")[2]).get("fields", [""])[0]
        if fields:
            number = {k: v for k, v in number.items() if k in fields.split(",")}
        return 200, json.dumps({**number, "id": phone_id}).encode()


def _unreadable(object_id: str) -> bytes:
    message = (
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api"
    )
    error = {
        "message": message,
        "type": "GraphMethodException",
        "code": 100,
        "error_subcode": 33,
        "fbtrace_id": "A" + secrets.token_urlsafe(16),
    }
    return json.dumps({"error": error}).encode()
