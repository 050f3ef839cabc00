"""One domain error: an action refused. Views turn it into a message and a 4xx."""


class DomainError(Exception):
    """The user asked for something the current state does not allow.

    `status` is the HTTP status a view answers with: 409 for a state conflict
    (the usual case), 403 for someone else's object, 400 for bad input.
    """

    def __init__(self, message: str, *, status: int = 409, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


class Refused(DomainError):
    """Acting on another agent's offer or interaction."""

    def __init__(self, message: str = "That belongs to another agent.") -> None:
        super().__init__(message, status=403)


class Invalid(DomainError):
    """The input does not make sense (bad phone number, unknown zone …)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, status=400, field=field)
