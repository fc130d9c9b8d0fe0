"""Domain errors. The web layer turns them into flashes, the API into the error envelope."""

from __future__ import annotations


class DripError(Exception):
    """Base of the errors a caller can show to a user as they are."""

    code = "error"
    status = 400

    def __init__(self, message: str, details: dict | list | None = None):
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DripError):
    """The row does not exist or belongs to another organization (the two look the same)."""

    code = "not_found"
    status = 404


class ValidationError(DripError):
    """Input that breaks a rule; details maps field names to messages."""

    code = "validation_error"
    status = 422

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message, details={"fields": fields or {}})
        self.fields = fields or {}


class Conflict(DripError):
    code = "conflict"
    status = 409
