"""`GET /{version}/{waba-id}/message_templates`, page after page. Meta's `paging.next` is an
absolute URL on graph.facebook.com; it is never followed as it is (it would leave the account's
base URL, and could point anywhere): the next request is rebuilt on the base URL with the
`paging.cursors.after` cursor, for as long as Meta says there is a next page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx

from app.whatsapp.errors import ErrorKind, SendError, classify, code_number

TEMPLATE_FIELDS = "name,language,status,category,components,quality_score,parameter_format"
# A catalog is at most a few thousand templates; past this many pages Meta is looping.
MAX_PAGES = 200
_WABA_ID = re.compile(r"[0-9]{1,64}")
_WHAT = "WhatsApp did not list the templates"
_BY_CODE = {
    190: "the access token has expired or is invalid; save a new one in Settings",
    100: "check the WhatsApp Business Account id (Meta does not know it, or the token"
    " cannot read it)",
    10: "the access token lacks the whatsapp_business_management permission",
}


def check_business_account_id(business_account_id: str) -> str:
    waba_id = (business_account_id or "").strip()
    if not _WABA_ID.fullmatch(waba_id):
        raise SendError(
            ErrorKind.PERMANENT,
            f"{_WHAT}: the WhatsApp Business Account id must be digits, as Meta shows it",
        )
    return waba_id


def template_pages(
    http: httpx.Client, url: str, headers: dict, timeout: httpx.Timeout, page_size: int
) -> Iterator[list[dict]]:
    """Each page's `data` (template objects); raises SendError with a reason in words."""
    after: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        params = {"fields": TEMPLATE_FIELDS, "limit": str(page_size)}
        if after:
            params["after"] = after
        data = _page(_get(http, url, params, headers, timeout))
        yield [item for item in data["data"] if isinstance(item, dict)]
        after = _next_cursor(data)
        if after is None:
            return
        if after in seen:
            raise SendError(ErrorKind.PERMANENT, f"{_WHAT}: its paging went round in a circle")
        seen.add(after)
    raise SendError(ErrorKind.PERMANENT, f"{_WHAT}: more than {MAX_PAGES} pages")


def _get(http, url, params, headers, timeout) -> httpx.Response:
    try:
        return http.get(
            url, params=params, headers=headers, timeout=timeout, follow_redirects=False
        )
    except httpx.LocalProtocolError as exc:
        raise SendError(
            ErrorKind.STOP_ACCOUNT, f"{_WHAT}: the request could not be formed; check the token"
        ) from exc
    except httpx.TransportError as exc:
        raise SendError(
            ErrorKind.RETRY,
            f"{_WHAT}: could not reach WhatsApp ({type(exc).__name__}); try again later",
            title=type(exc).__name__,
        ) from exc


def _page(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    if 300 <= status < 400:
        raise SendError(
            ErrorKind.STOP_ACCOUNT,
            f"{_WHAT}: the API address answered with a redirect (HTTP {status}), which Drip"
            " does not follow",
            http_status=status,
        )
    if 200 <= status < 300 and isinstance(data, dict) and isinstance(data.get("data"), list):
        return data
    error = data.get("error") if isinstance(data, dict) else None
    if not 200 <= status < 300 and isinstance(error, dict):
        raise _meta_error(error, status)
    if 200 <= status < 300:
        raise SendError(ErrorKind.PERMANENT, f"{_WHAT}: its answer was not a template list")
    raise SendError(classify(None, status), f"{_WHAT} (HTTP {status})", http_status=status)


def _meta_error(error: dict, status: int) -> SendError:
    number = code_number(error.get("code"))
    said = error.get("message") if isinstance(error.get("message"), str) else None
    why = _BY_CODE.get(number) or (said or "no reason given")
    label = f"error {number}" if number is not None else f"HTTP {status}"
    return SendError(
        classify(number, status),
        f"{_WHAT} ({label}): {why}",
        code=str(number) if number is not None else None,
        message=said,
        http_status=status,
    )


def _next_cursor(data: dict) -> str | None:
    """The `after` cursor while Meta says a next page exists (Graph omits `next` on the last)."""
    paging = data.get("paging")
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    if not isinstance(after, str) or not after:
        raise SendError(ErrorKind.PERMANENT, f"{_WHAT}: a next page without its cursor")
    return after
