"""WhatsApp Cloud API client: POST {base}/{version}/{phone-number-id}/messages on the shared
keep-alive wire (app.whatsapp.wire; or an injected httpx.Client), every failure turned into a
classified `SendError`; GET {base}/{version}/{phone-number-id} to verify that the token can
read the id.

Only to an allowed host (app.whatsapp.hosts), and never following a redirect: a 3xx would
carry the token's request anywhere the answering server likes."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import httpx

from app.whatsapp.errors import AMBIGUOUS_REASON, ErrorKind, SendError
from app.whatsapp.hosts import AllowedHosts
from app.whatsapp.pool import shared_http_client
from app.whatsapp.provider import SendResult
from app.whatsapp.template_list import check_business_account_id, template_pages
from app.whatsapp.verification import (
    PHONE_NUMBER_FIELDS,
    UNREACHABLE,
    PhoneNumber,
    VerificationError,
    read_phone_number,
)
from app.whatsapp.wire import Malformed, NotSent, Target, Unsure, shared_wire

log = logging.getLogger(__name__)

_URL = re.compile(r"https?://", re.IGNORECASE)
_NOT_DIGITS = re.compile(r"[\s+\-().]")
_MSISDN = re.compile(r"[0-9]{5,15}")
# sending_paused_code of an account whose API base URL is not an allowed host.
HOST_NOT_ALLOWED = "host_not_allowed"
# Meta refuses a longer text body (error 100) after the request; refused before it, the reason
# says how long the message came out once its variables were filled in.
MAX_TEXT_CHARS = 4096


def recipient(to: str) -> str:
    """Meta's `to`: the E.164 number as digits only ('+44 20 7946 0123' -> '442079460123')."""
    digits = _NOT_DIGITS.sub("", to or "")
    if not _MSISDN.fullmatch(digits):
        raise SendError(
            ErrorKind.PERMANENT, f"The contact's phone number {to!r} is not a valid number"
        )
    return digits


def _addressed(payload: dict[str, Any], to: str | None, user_id: str | None) -> dict[str, Any]:
    """`to` (the phone number) when there is one; otherwise `recipient`, the contact's
    business-scoped user id. Meta takes either and prefers `to` when both are given, so a
    phone number is always used when known."""
    if to:
        payload["to"] = recipient(to)
    elif user_id:
        payload["recipient"] = user_id
    else:
        raise SendError(
            ErrorKind.PERMANENT, "The contact has neither a phone number nor a WhatsApp user id"
        )
    return payload


def text_body(
    to: str | None, body: str, callback_data: str | None = None, *, user_id: str | None = None
) -> dict[str, Any]:
    if len(body) > MAX_TEXT_CHARS:
        raise SendError(
            ErrorKind.PERMANENT,
            f"The message is {len(body):,} characters once its variables are filled in;"
            f" WhatsApp allows {MAX_TEXT_CHARS:,}. Shorten the step's text or the contact's"
            " values it uses.",
            code="100",  # what Meta answers for it: Invalid parameter
        )
    payload: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
    _addressed(payload, to, user_id)
    payload["type"] = "text"
    # A preview is fetched only when asked for, and only makes sense with a link.
    payload["text"] = {"preview_url": bool(_URL.search(body)), "body": body}
    return _with_callback(payload, callback_data)


def template_body(
    to: str | None,
    name: str,
    language: str,
    parameters: Sequence[str] = (),
    callback_data: str | None = None,
    *,
    components: Sequence[dict[str, Any]] | None = None,
    user_id: str | None = None,
) -> dict[str, Any]:
    """A template message. `components` are Meta's (header, body, button parameters), built by
    the caller from the catalog's template; without them, `parameters` fill the body's
    positional {{1}}, {{2}} ... in order."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        template["components"] = [dict(component) for component in components]
    elif parameters:
        values = [{"type": "text", "text": str(value)} for value in parameters]
        template["components"] = [{"type": "body", "parameters": values}]
    payload: dict[str, Any] = {"messaging_product": "whatsapp"}
    _addressed(payload, to, user_id)
    payload["type"] = "template"
    payload["template"] = template
    return _with_callback(payload, callback_data)


def _with_callback(payload: dict[str, Any], callback_data: str | None) -> dict[str, Any]:
    if callback_data is not None:
        payload["biz_opaque_callback_data"] = callback_data
    return payload


class CloudApiClient:
    """Sends through one phone number of the Cloud API; implements `Provider`."""

    def __init__(
        self,
        api_base_url: str,
        api_version: str,
        phone_number_id: str,
        access_token: str,
        *,
        http: httpx.Client | None = None,
        connect_timeout: float = 5,
        read_timeout: float = 15,
        allowed_hosts: AllowedHosts | Iterable[str] = (),
    ) -> None:
        base = api_base_url.rstrip("/")
        # Checked here and refused on every call (not raised): a processing pass builds the
        # clients of many accounts, and one account's bad address must only stop that account.
        self._refusal = AllowedHosts.of(allowed_hosts).refusal(base)
        self._phone_number_id = phone_number_id
        self._version_url = f"{base}/{api_version.strip('/')}"
        self._phone_url = f"{base}/{api_version.strip('/')}/{phone_number_id}"
        self.url = f"{self._phone_url}/messages"
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Content-Type": "application/json",
        }
        self._http = http
        self._target = Target.of(self.url)
        self._connect_timeout, self._read_timeout = connect_timeout, read_timeout
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )

    def __repr__(self) -> str:  # never the token
        return f"CloudApiClient({self.url!r})"

    def send_text(
        self,
        to: str | None,
        body: str,
        callback_data: str | None = None,
        *,
        user_id: str | None = None,
    ) -> SendResult:
        return self._send(text_body(to, body, callback_data, user_id=user_id))

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
    ) -> SendResult:
        return self._send(
            template_body(
                to,
                name,
                language,
                parameters,
                callback_data,
                components=components,
                user_id=user_id,
            )
        )

    def phone_number(self) -> PhoneNumber:
        """Meta's confirmation that the token can read the phone number id (and its display
        number); raises VerificationError with a reason in words."""
        if self._refusal:
            raise VerificationError(self._refusal, "api_base_url")
        http = self._http or shared_http_client()
        headers = {"Authorization": self._headers["Authorization"]}
        try:
            response = http.get(
                self._phone_url,
                params={"fields": PHONE_NUMBER_FIELDS},
                headers=headers,
                timeout=self._timeout,
                follow_redirects=False,
            )
        except httpx.LocalProtocolError as exc:
            raise VerificationError(_MALFORMED_TOKEN, "access_token") from exc
        except httpx.TransportError as exc:
            raise VerificationError(UNREACHABLE.format(what=type(exc).__name__)) from exc
        return read_phone_number(response, self._phone_number_id)

    def list_templates(
        self, business_account_id: str, page_size: int = 100
    ) -> Iterator[list[dict]]:
        """The business account's message templates, a page (a list of Meta's template
        objects) at a time, cursor after cursor; raises SendError with a reason in words."""
        if self._refusal:
            raise SendError(ErrorKind.STOP_ACCOUNT, self._refusal, code=HOST_NOT_ALLOWED)
        waba_id = check_business_account_id(business_account_id)
        headers = {"Authorization": self._headers["Authorization"]}
        url = f"{self._version_url}/{waba_id}/message_templates"
        http = self._http or shared_http_client()
        return template_pages(http, url, headers, self._timeout, page_size)

    def _send(self, payload: dict[str, Any]) -> SendResult:
        callback = payload.get("biz_opaque_callback_data")
        try:
            if self._refusal:
                raise SendError(
                    ErrorKind.STOP_ACCOUNT,
                    f"{self._refusal} Sending is paused until the account's API base URL is"
                    " changed in Settings.",
                    code=HOST_NOT_ALLOWED,
                )
            result = _answer(*self._post(payload))
        except SendError as error:
            log.info("send %s failed: %s %s (%s)", callback, error.kind, error.code, error.reason)
            raise
        log.debug("send %s accepted as %s", callback, result.wamid)
        return result

    def _post(self, payload: dict[str, Any]) -> tuple[int, bytes]:
        """(HTTP status, body) of the answer: on the shared wire (app.whatsapp.wire), or on
        the injected httpx client; a failure to get one as the SendError it means."""
        content = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            if self._http is None:
                return shared_wire().post(
                    self._target,
                    content,
                    self._headers,
                    self._connect_timeout,
                    self._read_timeout,
                )
            return _post_httpx(self._http, self.url, content, self._headers, self._timeout)
        except NotSent as exc:
            reason = "Could not reach WhatsApp (the message was not sent); retrying"
            raise SendError(ErrorKind.RETRY, reason, title=exc.title) from exc
        except Malformed as exc:
            raise SendError(ErrorKind.STOP_ACCOUNT, _MALFORMED_TOKEN) from exc
        except Unsure as exc:
            raise SendError(ErrorKind.AMBIGUOUS, AMBIGUOUS_REASON, title=exc.title) from exc


def _post_httpx(http: httpx.Client, url: str, content: bytes, headers, timeout):
    """The send on an injected httpx client, its failures told as the wire tells them."""
    try:
        response = http.post(
            url, content=content, headers=headers, timeout=timeout, follow_redirects=False
        )
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise NotSent(type(exc).__name__, exc) from exc
    except (httpx.WriteError, httpx.WriteTimeout) as exc:
        # The body never fully left: Meta cannot have acted on a request it did not get.
        raise NotSent(type(exc).__name__, exc) from exc
    except httpx.LocalProtocolError as exc:
        # The request could not even be formed (e.g. a token with a newline in it).
        raise Malformed(type(exc).__name__, exc) from exc
    except httpx.TransportError as exc:
        # ReadTimeout, ReadError, RemoteProtocolError...: after the send, so maybe accepted.
        raise Unsure(type(exc).__name__, exc) from exc
    return response.status_code, response.content


_MALFORMED_TOKEN = "The request to WhatsApp could not be formed: check the account's access token"


def _answer(status: int, content: bytes) -> SendResult:
    try:
        data = json.loads(content)
    except ValueError:  # UnicodeDecodeError included
        data = None
    if 300 <= status < 400:
        # Not followed: the request was not sent to WhatsApp, and every message of the
        # account would meet the same answer.
        raise SendError(
            ErrorKind.STOP_ACCOUNT,
            f"The WhatsApp API address answered with a redirect (HTTP {status}), which Drip"
            " does not follow: sending is paused until the account's API base URL is fixed"
            " in Settings",
            http_status=status,
        )
    if 200 <= status < 300:
        wamid = _wamid(data)
        if wamid:
            return SendResult(wamid)
        raise SendError(
            ErrorKind.AMBIGUOUS,
            "WhatsApp accepted the request but returned no message id: it may have been sent, "
            "so it is not resent automatically",
            http_status=status,
        )
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        raise SendError.from_api_error(error, status)
    raise SendError.from_http_status(status)


def _wamid(data: object) -> str | None:
    if not isinstance(data, dict):
        return None
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        return None
    wamid = messages[0].get("id")
    return wamid if isinstance(wamid, str) and wamid else None
