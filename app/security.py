"""Security headers on every response: a Content-Security-Policy that runs only our own
scripts, no sniffing, no framing, a same-origin referrer, and no caching of any answer to an
authenticated request (page or API). And no webhook verify token in the request logs.

Pages keep no inline script and no inline event handler (onclick=...): behaviour lives in
static/js. `<script type="application/json">` data blocks are fine: they are never executed.
Inline styles stay allowed, because plotly.js sets them on the elements it draws.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, g

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def register(app: Flask) -> None:
    app.after_request(add_security_headers)
    redact_verify_tokens_in_logs()


def add_security_headers(response: Response) -> Response:
    # setdefault: a view may set a stricter value of its own (short links: no-referrer).
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if g.get("organization_id") is not None and not response.cache_control.no_store:
        # An answer to a logged-in user or an API key carries one organization's data (the
        # one-time API key page above all): no shared or browser cache keeps it, and the back
        # button after logging out does not show it. Public answers (login page, short links,
        # static files, plotly.js) resolve no organization and keep their own caching.
        response.headers["Cache-Control"] = "no-store"
    return response


# --- request logs ---------------------------------------------------------------------------

# The handshake's secret in a logged request line: ?hub.mode=subscribe&hub.verify_token=...
# (the dot may arrive percent-encoded). Its value runs to the next parameter or the end of the
# URL: a space (the development server logs %22 decoded as '"', so a quote is no end).
VERIFY_TOKEN = re.compile(r"(hub(?:\.|%2e)verify_token=)[^&\s]*", re.IGNORECASE)
REDACTED = "[redacted]"
# Loggers that write request lines: the development server's, and gunicorn's access log (its
# error log names the URL of a request that failed).
REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


class RedactVerifyToken(logging.Filter):
    """Replaces a webhook verify token in a log record's message with [redacted].

    A logger's filter runs before any of its handlers, whatever they are (a file, syslog,
    gunicorn's --logconfig), so the token is written nowhere."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = VERIFY_TOKEN.sub(rf"\1{REDACTED}", message)
        if redacted != message:
            # The message is final: no arguments left to interpolate (a % in it stays a %).
            record.msg, record.args = redacted, None
        return True


def redact_verify_tokens_in_logs() -> None:
    """Install the filter on the request loggers, once per process (create_app runs often in
    tests; gunicorn keeps its loggers' filters when it sets up handlers or reloads)."""
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactVerifyToken) for f in logger.filters):
            logger.addFilter(RedactVerifyToken())
