"""Who is calling: a logged-in user (browser) or an organization's API key (Bearer).

Every route needs one or the other unless it is marked @public, so a route added later is
protected by default.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, g, request
from flask_login import current_user

from app.drip.accounts import api_key_for_token
from app.drip.audit import SYSTEM, Actor
from app.envelope import error_response
from app.extensions import csrf, db, login_manager
from app.models import User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def public(view: Callable) -> Callable:
    """Mark a view as reachable without a login or key (webhook, cron, short links)."""
    view.drip_public = True
    return view


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def current_org_id() -> int:
    """The organization the current request acts for (set by require_login)."""
    return g.organization_id


def current_actor() -> Actor:
    """Who is making this request, for the audit log: the API key, else the user."""
    key = g.get("api_key")
    if key is not None:
        return Actor(f"API key “{key.name}” ({key.prefix}…)", api_key_id=key.id)
    if current_user.is_authenticated:
        return Actor(current_user.email, user_id=current_user.id)
    return SYSTEM


def require_login():
    """before_request: resolve the caller, or answer 401 JSON / redirect to the login page."""
    g.organization_id = None
    g.api_key = None
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if view is None or request.endpoint == "static" or getattr(view, "drip_public", False):
        return None
    if is_api_request():
        return _require_api_caller()
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    g.organization_id = current_user.organization_id
    return None


def _require_api_caller():
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        key = api_key_for_token(db.session, token.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            return error_response(
                401, "unauthorized", "The API key is missing, invalid or revoked."
            )
        g.api_key = key
        g.organization_id = key.organization_id
        # last_used_at was set on lookup; keep it even if the handler rolls back.
        db.session.commit()
        return None
    if current_user.is_authenticated:
        g.organization_id = current_user.organization_id
        # A cookie rides along on cross-site requests: browser writes need the CSRF header.
        if request.method not in SAFE_METHODS and current_app.config["WTF_CSRF_ENABLED"]:
            csrf.protect()
        return None
    return error_response(
        401, "unauthorized", "Authentication required: send 'Authorization: Bearer <API key>'."
    )
