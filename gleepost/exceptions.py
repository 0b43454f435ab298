"""Domain errors raised by the action layer, independent of HTTP.

Views let them propagate (the API's exception handler maps them to 400/403/404), the admin turns
them into messages, and commands print them.
"""

from __future__ import annotations


class DomainError(Exception):
    """A state change that cannot be made; ``reason`` is safe to show to the caller."""

    status_code = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidInput(DomainError):
    status_code = 400


class NotAllowed(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404
