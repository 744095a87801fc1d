"""Steward's error tree: one root, subclasses grouped by what the caller can do about them.

Each class carries the HTTP status the control plane answers with, so the app needs one
handler. A message names the thing, the value received and what would be accepted.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Conflict",
    "Forbidden",
    "IntegrityError",
    "InvalidInput",
    "NotFound",
    "PolicyViolation",
    "StewardError",
    "Unauthorized",
    "Unavailable",
]


class StewardError(Exception):
    """Root of every error Steward raises on purpose.

    Args:
        message: the whole sentence a person reads: thing, value, what is accepted.
        field: dotted path of the offending input field, when there is one.
        details: structured extras (e.g. per-row contract violations) for machines.
    """

    status_code = 500
    error_type = "internal"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or []

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of the error, as the REST API sends it."""
        body: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(StewardError):
    """The caller sent something malformed or out of range; fix the input and retry."""

    status_code = 422
    error_type = "invalid_input"


class NotFound(StewardError):
    """The named thing does not exist."""

    status_code = 404
    error_type = "not_found"


class Conflict(StewardError):
    """The request clashes with stored state (a different param value, a finished run...)."""

    status_code = 409
    error_type = "conflict"


class IntegrityError(Conflict):
    """Stored bytes do not match their record (an artifact whose hash differs)."""

    error_type = "integrity_error"


class PolicyViolation(Conflict):
    """A promotion was refused by its policy: failed checks or missing approvals.

    `details` holds one entry per failed check with its numbers.
    """

    error_type = "policy_violation"


class Unauthorized(StewardError):
    """No valid identity was presented."""

    status_code = 401
    error_type = "unauthorized"


class Forbidden(StewardError):
    """The identity is known but lacks the role for this action."""

    status_code = 403
    error_type = "forbidden"


class Unavailable(StewardError):
    """A dependency (metadata store, server) cannot be reached right now; retry later."""

    status_code = 503
    error_type = "unavailable"


_BY_TYPE: dict[str, type[StewardError]] = {
    cls.error_type: cls
    for cls in (
        StewardError,
        InvalidInput,
        NotFound,
        Conflict,
        IntegrityError,
        PolicyViolation,
        Unauthorized,
        Forbidden,
        Unavailable,
    )
}


def error_from_dict(body: dict[str, Any]) -> StewardError:
    """Rebuild the error a server sent, so SDK callers catch the same classes as in-process."""
    error = body.get("error", {}) if isinstance(body, dict) else {}
    cls = _BY_TYPE.get(str(error.get("type")), StewardError)
    return cls(
        str(error.get("message", "unknown error")),
        field=error.get("field"),
        details=error.get("details"),
    )
