"""JSON API: contacts."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_contacts", __name__, url_prefix="/api")

OPENAPI: dict = {}
