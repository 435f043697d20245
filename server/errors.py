"""The server's typed errors: bad configuration at start-up, and a refused request."""

from __future__ import annotations


class ServerConfigError(Exception):
    """The server cannot start as configured (certificate, key, address, limits); says which and why."""


class Refusal(Exception):
    """A request the server turns down.

    ``reason`` is logged (it may name the device or patient); ``message`` is what the client gets,
    which says what to do without telling a prober anything it does not already know."""

    def __init__(self, status: int, reason: str, message: str | None = None, *, retry_after_s: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.message = message or reason
        self.retry_after_s = retry_after_s
