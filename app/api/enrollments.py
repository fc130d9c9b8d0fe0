"""JSON API: enrollments."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_enrollments", __name__, url_prefix="/api")

OPENAPI: dict = {}
