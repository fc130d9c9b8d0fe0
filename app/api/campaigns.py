"""JSON API: campaigns."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_campaigns", __name__, url_prefix="/api")

OPENAPI: dict = {}
