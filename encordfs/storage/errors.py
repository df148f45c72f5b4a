"""Specific storage errors. The filesystem maps these to errno in one place (encordfs/fs/errors.py).

Messages name the operation, the path and the status and carry the server's message; they never
contain secrets or a signed URL's query string.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class: any failure talking to Encord storage."""

    def __init__(self, message: str, *, operation: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.operation = operation
        self.status = status


class InvalidArgument(StorageError):
    """400: the server rejected the request's arguments."""


class Unauthenticated(StorageError):
    """401: unknown key, bad signature, wrong domain or stale clock."""


class Forbidden(StorageError):
    """403: not allowed (Encord also answers 403 for things that do not exist)."""


class NotFound(StorageError):
    """404, or a 403 the caller knows means 'gone'."""


class Conflict(StorageError):
    """409: the thing already exists or the change conflicts with the server's state."""


class PayloadTooLarge(StorageError):
    """413."""


class RateLimited(StorageError):
    """429 after retries; ``retry_after`` in seconds when the server said."""

    def __init__(self, message: str, *, operation: str = "", status: int | None = 429, retry_after: float | None = None) -> None:
        super().__init__(message, operation=operation, status=status)
        self.retry_after = retry_after


class ServerError(StorageError):
    """5xx (or another unexpected status) after retries."""


class StorageTimeout(StorageError):
    """The server did not answer in time, after retries."""


class TransportError(StorageError):
    """The connection failed (refused, reset, DNS) after retries."""


class UploadFailed(StorageError):
    """An upload job ended in ERROR or CANCELLED; ``errors`` holds the server's reasons."""

    def __init__(self, message: str, *, operation: str = "", errors: tuple[str, ...] = ()) -> None:
        super().__init__(message, operation=operation)
        self.errors = errors


class CredentialsError(StorageError):
    """No usable credentials: none configured, an unsafe key file, or a key that is not Ed25519."""


OUTAGE_STATUSES = frozenset({502, 503, 504})


def is_outage(exc: BaseException) -> bool:
    """The server could not be reached or did not answer properly (as opposed to answering no):
    a connection failure, a timeout, or a gateway's 502/503/504."""
    if isinstance(exc, (TransportError, StorageTimeout)):
        return True
    return isinstance(exc, ServerError) and exc.status in OUTAGE_STATUSES
