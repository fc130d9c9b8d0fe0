"""Security headers on every response: a Content-Security-Policy that runs only our own
scripts, no sniffing, no framing, a same-origin referrer, and no caching of authenticated API
answers.

Pages keep no inline script and no inline event handler (onclick=...): behaviour lives in
static/js. `<script type="application/json">` data blocks are fine: they are never executed.
Inline styles stay allowed, because plotly.js sets them on the elements it draws.
"""

from __future__ import annotations

from flask import Flask, Response, g, request

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


def add_security_headers(response: Response) -> Response:
    # setdefault: a view may set a stricter value of its own (short links: no-referrer).
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if _authenticated_api_answer() and not response.cache_control.no_store:
        # An API answer carries one organization's data: no shared or browser cache keeps it.
        response.headers["Cache-Control"] = "no-store"
    return response


def _authenticated_api_answer() -> bool:
    api = request.path == "/api" or request.path.startswith("/api/")
    return api and g.get("organization_id") is not None
