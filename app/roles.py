"""Roles: admins manage the organization (settings, the WhatsApp account, API keys, users);
members run campaigns, contacts and A/B tests.

A view that needs an admin says so with @admin_only; require_role, one before_request hook
that runs after authentication (app.auth), refuses everyone else with 403. An API key acts
with the role of the user who created it, read at each request; a key made on the command
line (no creator) acts as an admin, because the operator made it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, abort, current_app, g, request
from flask_login import current_user

from app.auth import current_org_id
from app.drip import accounts
from app.drip.scope import get_scoped
from app.extensions import db
from app.models import ApiKey

# The rows an admin-only route's arguments name, checked before the role so that another
# organization's id answers 404 as it does everywhere, never 403.
ROWS_OF_ARGUMENTS = {"key_id": ApiKey}
KEYS_MAKE_NO_KEYS = (
    "An API key cannot create API keys: an admin creates them on the settings page (signed "
    "in), or the operator with `flask create-api-key`."
)


def admin_only(what: str, *, api_keys: bool = True) -> Callable[[Callable], Callable]:
    """Mark a view as an admin's: a member is told "Only an admin can {what}." With
    api_keys=False no API key may call it, whatever its role: a key made by a key would
    outlive the revocation of the key that made it."""

    def mark(view: Callable) -> Callable:
        view.drip_admin_only = what
        view.drip_api_keys_allowed = api_keys
        return view

    return mark


def register(app: Flask) -> None:
    """After app.auth's login guard (registered first), and for templates."""
    app.before_request(require_role)
    app.context_processor(lambda: {"caller_is_admin": caller_is_admin})


def caller_role() -> str | None:
    """The role the current caller acts with, or None before anyone is authenticated."""
    key = g.get("api_key")
    if key is not None:
        return accounts.api_key_role(db.session, key)
    if current_user.is_authenticated:
        return current_user.role
    return None


def caller_is_admin() -> bool:
    return caller_role() == accounts.ADMIN


def require_role():
    """before_request: a 403 (JSON envelope under /api/, an error page otherwise) for a caller
    who is not an admin on a view marked @admin_only."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    what = getattr(view, "drip_admin_only", None)
    if what is None:
        return None
    for name, value in (request.view_args or {}).items():
        if name in ROWS_OF_ARGUMENTS:
            get_scoped(db.session, ROWS_OF_ARGUMENTS[name], current_org_id(), value)
    if not caller_is_admin():
        abort(403, description=f"Only an admin can {what}.")
    if g.get("api_key") is not None and not view.drip_api_keys_allowed:
        abort(403, description=KEYS_MAKE_NO_KEYS)
    return None
