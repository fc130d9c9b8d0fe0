"""Who is calling: a logged-in user (browser) or an organization's API key (Bearer).

Every route needs one or the other unless it is marked @public, so a route added later is
protected by default.

Browser sessions live on the server (app.drip.accounts.sessions). Flask-Login keeps its "user
id" in the session and remember-me cookies; here that id is the session's random token (its
id_attribute is User.get_session_token), the "alternative token" Flask-Login's documentation
describes, and the user loader looks the token up. So the cookies keep Flask-Login's names and
flags (HttpOnly, SameSite=Lax, Secure with SESSION_COOKIE_SECURE), but a copy of them opens
nothing once the session is ended, idle, or its remember-me token was used and replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import current_app, g, request, session
from flask_login import current_user, login_user, logout_user, user_loaded_from_cookie

from app.drip import accounts
from app.drip.audit import SYSTEM, Actor
from app.envelope import error_response
from app.extensions import csrf, db, login_manager
from app.models import User, utcnow

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def public(view: Callable) -> Callable:
    """Mark a view as reachable without a login or key (webhook, cron, short links)."""
    view.drip_public = True
    return view


# What Flask-Login stores in the cookies: the session's token, never the user's id.
login_manager.id_attribute = "get_session_token"


def session_idle() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_IDLE_HOURS"])


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """The user of the open session this token names; None once it ended or went idle."""
    found = accounts.find_session(db.session, token, utcnow(), session_idle())
    if found is None:
        return None
    g.user_session, user = found
    user.session_token = token
    return user


@user_loaded_from_cookie.connect
def _renew_remembered_session(_app, user: User) -> None:
    """The remember-me cookie opened the session: its token is replaced at once, so a copy of
    the cookie works at most once. Runs when the request first asks who is calling (in
    require_login, or first thing in the login view), before any work of the view: it may
    commit. Two requests racing on one old cookie: the second is sent to the login page."""
    token = accounts.renew_session(db.session, g.user_session, utcnow())
    db.session.commit()
    user.session_token = token
    login_user(user, remember=True, fresh=False)  # new session and remember-me cookies


def log_in(user: User, *, remember: bool) -> None:
    """Start a browser session for a user whose password was checked; the caller commits."""
    user.session_token = accounts.start_session(db.session, user, utcnow(), session_idle())
    login_user(user, remember=remember)


def log_out(*, everywhere: bool = False) -> None:
    """End this browser's session, or every session of the user; the caller commits."""
    if everywhere:
        accounts.end_all_sessions(db.session, current_user.id, utcnow())
    elif g.get("user_session") is not None:
        accounts.end_session(db.session, g.user_session, utcnow())
    logout_user()


def _note_activity() -> None:
    """Keep the session from going idle; written at most once a minute, not per request."""
    user_session = g.get("user_session")
    if user_session is not None and accounts.touch_session(user_session, utcnow()):
        db.session.commit()


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
        _forget_ended_session()
        return login_manager.unauthorized()
    _note_activity()
    g.organization_id = current_user.organization_id
    return None


def _forget_ended_session() -> None:
    """Cookies naming an ended session are dropped, rather than looked up on every request."""
    if "_user_id" in session:
        logout_user()


def _require_api_caller():
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        key = (
            accounts.api_key_for_token(db.session, token.strip())
            if scheme.lower() == "bearer"
            else None
        )
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
        _note_activity()
        g.organization_id = current_user.organization_id
        # A cookie rides along on cross-site requests: browser writes need the CSRF header.
        if request.method not in SAFE_METHODS and current_app.config["WTF_CSRF_ENABLED"]:
            csrf.protect()
        return None
    _forget_ended_session()
    return error_response(
        401, "unauthorized", "Authentication required: send 'Authorization: Bearer <API key>'."
    )
