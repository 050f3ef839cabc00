"""One domain error: an action refused. Views turn it into a message and a 4xx.

Messages are written with `gettext` where they are raised: in the agent's language on their pages, in English on the
machine endpoints (the locale middleware activates English there).
"""

from django.utils.formats import number_format
from django.utils.translation import gettext


class DomainError(Exception):
    """The user asked for something the current state does not allow.

    `status` is the HTTP status a view answers with: 409 for a state conflict
    (the usual case), 403 for someone else's object, 400 for bad input.
    """

    def __init__(
        self, message: str, *, status: int = 409, field: str | None = None, code: str = "", extra: dict | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        # A machine-readable code for API clients ("outside_hours", "slot_full" …), and data that helps them
        # recover (e.g. the nearest free slots).
        self.code = code or ("conflict" if status == 409 else "invalid" if status == 400 else "refused")
        self.extra = extra or {}


def is_id(value: str) -> bool:
    """A database id as typed in a URL or form: ASCII digits only (str.isdigit accepts '²')."""
    return bool(value) and value.isascii() and value.isdigit() and len(value) < 19


def clean_text(value: str, limit: int = 100) -> str:
    """Search text from a query string: no NUL bytes (PostgreSQL refuses them), bounded length."""
    return (value or "").replace("\x00", "")[:limit]


class Refused(DomainError):
    """Acting on another agent's offer or interaction."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or gettext("That belongs to another agent."), status=403)


class Invalid(DomainError):
    """The input does not make sense (bad phone number, unknown zone …)."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "", extra: dict | None = None) -> None:
        super().__init__(message, status=400, field=field, code=code or "invalid", extra=extra)


def too_long(message: str, *, limit: int, count: int, field: str) -> Invalid:
    """The refusal of a text over its limit: `message` (translated) names them as %(max)s and %(count)s, written as
    the agent's language writes numbers ("10,000", "10 000")."""
    figures = {"max": number_format(limit, force_grouping=True), "count": number_format(count, force_grouping=True)}
    return Invalid(message % figures, field=field)
