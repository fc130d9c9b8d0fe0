"""Tracked short links: GET /l/<code> records the click and redirects to the stored URL.

Public: contacts follow these from WhatsApp. The target is only ever the URL stored with the
code, never anything from the request, so this is no open redirect."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request

from app.auth import public
from app.drip import engagement
from app.extensions import db
from app.models import utcnow

bp = Blueprint("links", __name__)


@bp.get("/l/<code>")
@public
def follow(code: str):
    if request.method == "HEAD":  # link previews and probes are not clicks
        url = engagement.lookup(db.session, code)
    else:
        url = engagement.record_click(db.session, code, utcnow(), request.headers.get("User-Agent"))
        db.session.commit()
    # None: an unknown code, or a stored URL that is no http(s) target a Location header can
    # carry (https://javascript:alert(3)); such a follow was not counted either.
    if url is None:
        abort(404)
    response = redirect(url, code=302)
    response.headers["Cache-Control"] = "no-store"  # every follow must reach us to count
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
