"""One exception root for the store; each subclass names what failed and where."""

from __future__ import annotations


class StoreError(Exception):
    """Root of every error the store raises on purpose."""


class StoreConfigError(StoreError):
    """The data directory, config file or database URL is unusable."""


class NotFoundError(StoreError, LookupError):
    """A user, prescription, session or report id/username that does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class DuplicateError(StoreError):
    """A unique value (e.g. a username) is already taken."""


class InvalidValueError(StoreError, ValueError):
    """A field value outside its documented range or vocabulary; the message names field and value."""


class AccessDeniedError(StoreError, PermissionError):
    """The signed-in user may not see or change this record."""


class RawFileError(StoreError):
    """A session's Parquet file is missing, unreadable or not in the expected format."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
