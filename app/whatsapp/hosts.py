"""Where the Cloud API client may send: Meta's Graph API, plus the hosts the operator allowed.

An account's API base URL is typed by a user. Left open it made Drip post the organization's
access token to any address, internal ones included, and report what answered (a port
scanner). So only `https://graph.facebook.com` is reachable unless the operator lists more hosts
(WHATSAPP_API_ALLOWED_HOSTS: a local fake, a proxy). Pure: no network.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

META_API_BASE_URL = "https://graph.facebook.com"
_META = ("https", "graph.facebook.com", 443)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTROL = {chr(c) for c in range(33)} | {chr(127), "\\"}


class AllowedHosts:
    """Meta's host over https, and each `host` (any port) or `host:port` (that port) listed,
    over http or https: the operator vouched for those."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self._entries = frozenset(_entry(item) for item in extra)

    @classmethod
    def of(cls, hosts: AllowedHosts | Iterable[str]) -> AllowedHosts:
        return hosts if isinstance(hosts, AllowedHosts) else cls(hosts)

    def refusal(self, url: str) -> str | None:
        """Why Drip must not send to `url`, in words; None when it may."""
        problem = url_problem(url)
        if problem:
            return problem
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname or ""
        port = parts.port or _DEFAULT_PORTS[scheme]
        if (scheme, host, port) == _META or {(host, None), (host, port)} & self._entries:
            return None
        return (
            f"Drip sends only to {META_API_BASE_URL} and the hosts the operator allowed"
            f" (WHATSAPP_API_ALLOWED_HOSTS); {scheme}://{_netloc(host, port)} is not one of them."
        )


def url_problem(url: str) -> str | None:
    """What makes `url` unusable as an API base URL whatever the host; None when fine."""
    if not isinstance(url, str) or not url.strip():
        return f"Enter the API's address, such as {META_API_BASE_URL}."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    checks = (
        (
            _CONTROL & set(url),
            "The URL must not contain spaces, control characters or backslashes.",
        ),
        # On the text, not the parsed parts: a bare "?" or "#" parses as empty, and either
        # would still move the path Drip appends into the query or the fragment.
        (
            "?" in url or "#" in url,
            "The URL must not contain a query (?) or a fragment (#): Drip appends the API path.",
        ),
        (parts is None, "This is not a valid URL."),
        (parts and parts.scheme.lower() not in _DEFAULT_PORTS, "Use an https:// (or http://) URL."),
        (parts and "@" in parts.netloc, "The URL must not contain a user name or password (@)."),
        (parts and not parts.hostname, "The URL has no host name."),
        (parts and {".", ".."} & set(parts.path.split("/")), "The URL's path has . or .. in it."),
    )
    return next((message for failed, message in checks if failed), None)


def _entry(item: str) -> tuple[str, int | None]:
    """'host' or 'host:port' (IPv6 in brackets) -> (host, port or None)."""
    text = item.strip().lower()
    try:
        parts = urlsplit("//" + text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or not parts.hostname or parts.netloc != text or "@" in text:
        raise ValueError(f"{item!r} is not a host or host:port")
    return parts.hostname, port


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
