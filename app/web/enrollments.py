"""Enrollment pages: a campaign's enrollments, enroll contacts, pause / resume / stop."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("enrollments", __name__, url_prefix="/campaigns")
