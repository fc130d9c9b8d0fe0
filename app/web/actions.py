"""Running a domain change from a page: commit it, or roll back and show why."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash
from flask_wtf import FlaskForm

from app.drip.errors import DripError, ValidationError
from app.extensions import db


def commit_or_report(action: Callable[[], object], form: FlaskForm | None = None) -> bool:
    """Run action() and commit. On a DripError roll back, put field errors on the form's
    fields (flashing those no field shows, or the message) and return False."""
    try:
        action()
    except DripError as exc:
        db.session.rollback()
        unplaced = [exc.message]
        if form is not None and isinstance(exc, ValidationError) and exc.fields:
            unplaced = place_errors(form, exc)
        for message in unplaced:
            flash(message, "error")
        return False
    db.session.commit()
    return True


def place_errors(form: FlaskForm, exc: ValidationError) -> list[str]:
    """Put each field error on its form field; return the ones no field shows."""
    unplaced = []
    for name, message in exc.fields.items():
        field = getattr(form, name.replace(".", "_"), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), message]
        else:
            unplaced.append(message)
    return unplaced
