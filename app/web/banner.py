"""The WhatsApp account banner of every page: the account's repeated send failures or its
pause, in words with what to do (app.drip.sending.account_trouble)."""

from __future__ import annotations

import logging

from flask import Flask, g
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from app.drip import sending
from app.extensions import db

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    app.context_processor(whatsapp_banner)


def whatsapp_banner() -> dict:
    """`account_trouble()` for base.html: the account's failure or pause, looked up at most
    once per request and only when a signed-in page asks."""
    return {"account_trouble": _account_trouble}


def _account_trouble():
    if not current_user.is_authenticated or g.get("organization_id") is None:
        return None
    if "account_trouble" not in g:
        try:
            g.account_trouble = sending.account_trouble(db.session, g.organization_id)
        except SQLAlchemyError:  # an error page after a failed transaction still renders
            log.warning("account banner lookup failed", exc_info=True)
            g.account_trouble = None
    return g.account_trouble
