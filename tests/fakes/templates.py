"""The fake Cloud API's template list: `GET /{version}/{waba-id}/message_templates`, answered
as Meta does (tests/fakes/cloud_api.py serves it): `data`, and Graph paging with opaque
`paging.cursors.after` and an absolute `paging.next` on graph.facebook.com while more remain.

Tests change the catalog between syncs (`put`, `remove`, `set_status`) and read `requests` (the
`after` cursor and `limit` of every page asked for). Another WABA id gets error 100/33, another
token 190.

Template sends are refused from this catalog as Meta refuses them (`refusal`): a template it has
that is PAUSED -> 132015, DISABLED -> 132016, not APPROVED otherwise -> 132001 ("does not exist in
the specified language or has not been approved"), a body parameter count other than the body's
placeholders -> 132000. A name and language it does not have -> 132001 only when `strict` is on
(`FakeCloudApi(strict_templates=True)`, or `{"strict_templates": true}` on /_control): by default
unknown templates are accepted, so tests that send made-up templates without a catalog still pass.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.fakes import meta_format as meta

BUSINESS_ACCOUNT_ID = "102290129340398"
_PATH = re.compile(r"^/(v\d+(?:\.\d+)?)/([^/]+)/message_templates$")
_FIXTURE = Path(__file__).parent / "fixtures" / "message_templates_page.json"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
REFUSAL_BY_STATUS = {"PAUSED": 132015, "DISABLED": 132016}


def templates_path(method: str, path: str) -> bool:
    return method == "GET" and bool(_PATH.match(path.split("?", 1)[0]))


def template(name: str, body: str, *, category: str = "MARKETING", **fields) -> dict:
    """A template object in Meta's shape (positional unless told otherwise)."""
    return {
        "id": fields.pop("id", str(zlib.crc32(name.encode()))),
        "name": name,
        "language": fields.pop("language", "en_US"),
        "status": fields.pop("status", "APPROVED"),
        "category": category,
        "parameter_format": fields.pop("parameter_format", "POSITIONAL"),
        "quality_score": {"score": fields.pop("quality", "GREEN")},
        "components": [{"type": "BODY", "text": body}, *fields.pop("components", [])],
    }


def default_templates() -> list[dict]:
    """The two templates of Meta's sample page, and three more: five, three pages of two."""
    sample = json.loads(_FIXTURE.read_text())["data"]
    return [
        *sample,
        template("spring_sale", "{{1}}, spring sale: {{2}} off until Sunday."),
        template("cart_reminder", "You left {{1}} in your cart.", category="UTILITY"),
        template("payment_due", "Payment of {{1}} is due on {{2}}.", category="UTILITY"),
    ]


class TemplateCatalog:
    """The templates of one WhatsApp Business Account; thread-safe."""

    def __init__(
        self, token: str, business_account_id: str = BUSINESS_ACCOUNT_ID, *, strict: bool = False
    ) -> None:
        self._token = token
        self.business_account_id = business_account_id
        self._templates = default_templates()
        self._lock = threading.Lock()
        self.requests: list[dict] = []
        self.strict = strict  # refuse (132001) sends of templates not in the catalog

    def set_status(self, name: str, language: str = "en_US", status: str = "APPROVED") -> None:
        """Change a template's status as Meta would (its sends are refused or accepted)."""
        if not self.get(name, language):
            raise KeyError(f"no template {name}/{language} in the fake catalog")
        self.change(name, language, status=status)

    def get(self, name: str, language: str = "en_US") -> dict | None:
        with self._lock:
            for item in self._templates:
                if (item["name"], item["language"]) == (name, language):
                    return copy.deepcopy(item)
        return None

    def refusal(self, template: dict[str, Any]) -> tuple[int, str] | None:
        """(Meta's code, error_data.details) refusing this send's `template` object, or None."""
        name = template.get("name")
        language = (template.get("language") or {}).get("code")
        item = self.get(name, language)
        if item is None:
            if not self.strict:
                return None
            return 132001, f"template name ({name}) does not exist in {language}"
        status = str(item.get("status", "")).upper()
        if status in REFUSAL_BY_STATUS:
            return REFUSAL_BY_STATUS[status], None
        if status != "APPROVED":
            return 132001, f"template name ({name}) does not exist in {language}"
        expected = len(body_placeholders(item))
        given = meta.body_parameter_count(template)
        if given != expected:
            return 132000, (
                f"body: number of localizable_params ({given}) does not match the expected "
                f"number of params ({expected})"
            )
        return None

    def put(self, item: dict) -> None:
        """Add a template, or replace the one with its name and language."""
        with self._lock:
            key = (item["name"], item["language"])
            kept = [t for t in self._templates if (t["name"], t["language"]) != key]
            self._templates = [*kept, copy.deepcopy(item)]

    def change(self, name: str, language: str = "en_US", **fields) -> None:
        with self._lock:
            for item in self._templates:
                if (item["name"], item["language"]) == (name, language):
                    item.update(fields)

    def remove(self, name: str, language: str = "en_US") -> None:
        with self._lock:
            self._templates = [
                t for t in self._templates if (t["name"], t["language"]) != (name, language)
            ]

    def answer(self, path: str, authorization: str) -> tuple[int, bytes]:
        """(HTTP status, body) of `GET path` with this Authorization header."""
        route, _, query = path.partition("?")
        version, waba_id = _PATH.match(route).groups()
        args = {key: values[0] for key, values in parse_qs(query).items()}
        with self._lock:
            self.requests.append({"after": args.get("after"), "limit": args.get("limit")})
            templates = copy.deepcopy(self._templates)
        if authorization.removeprefix("Bearer ") != self._token:
            return 401, meta.error_body(190, meta.INVALID_TOKEN)
        if waba_id != self.business_account_id:
            message = f"Unsupported get request. Object with ID '{waba_id}' does not exist"
            return 400, meta.error_body(100, f"(#100) {message}")
        limit = int(args.get("limit") or 25)
        start = _offset(args.get("after"))
        page = templates[start : start + limit]
        body: dict = {"data": page}
        if page:
            after = _cursor(start + len(page))
            body["paging"] = {"cursors": {"before": _cursor(start), "after": after}}
            if start + len(page) < len(templates):
                body["paging"]["next"] = (
                    f"https://graph.facebook.com/{version}/{waba_id}/message_templates"
                    f"?{query.split('&after=')[0]}&after={after}"
                )
        return 200, json.dumps(body).encode()


def body_placeholders(item: dict) -> list[str]:
    """The distinct placeholders of a template object's body, in order."""
    body = next((c for c in item.get("components", []) if c.get("type") == "BODY"), {})
    return list(dict.fromkeys(_PLACEHOLDER.findall(body.get("text") or "")))


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    padded = cursor + "=" * (-len(cursor) % 4)
    return int(base64.urlsafe_b64decode(padded).decode().split(":", 1)[1])
