"""THE one place where failures become errno values.

The core raises ``FsError(errno, message)`` for filesystem-level refusals and lets storage
exceptions through; the FUSE adapter calls ``errno_for`` on whatever escapes an operation, with a
description of what it was about (a path) and the mount's ``RefusalLog``. Errors that arrive
wrapped in an ExceptionGroup (from a nursery) are unwrapped first, so they map like the others.

Logging: an expected answer (ENOENT, EEXIST, ...) is not logged; a refusal (EPERM, ENOTSUP,
EROFS, EACCES, ...) is one WARNING line and is recorded for ``encordfs status``; a storage failure
is one WARNING or ERROR line, never a traceback; only an unexpected exception (a bug) logs one.
"""

from __future__ import annotations

import errno
import logging

from encordfs.fs.refusals import RefusalLog
from encordfs.storage import errors as se

log = logging.getLogger(__name__)


class FsError(Exception):
    """A filesystem refusal with its errno; the message says why (it is logged, never shown)."""

    def __init__(self, code: int, message: str = "", *, quiet: bool = False) -> None:
        super().__init__(message or errno.errorcode.get(code, str(code)))
        self.errno = code
        self.quiet = quiet  # an expected answer (a probe for an unsupported feature): debug log only


_STORAGE_ERRNO: tuple[tuple[type[se.StorageError], int], ...] = (
    (se.NotFound, errno.ENOENT),
    (se.Forbidden, errno.EACCES),
    (se.Unauthenticated, errno.EACCES),
    (se.Conflict, errno.EEXIST),
    (se.InvalidArgument, errno.EINVAL),
    (se.PayloadTooLarge, errno.EFBIG),
    (se.StorageTimeout, errno.ETIMEDOUT),
    (se.RateLimited, errno.EAGAIN),
    (se.UploadFailed, errno.EIO),
    (se.TransportError, errno.EIO),
    (se.ServerError, errno.EIO),
)

# Answers, not failures: never logged above debug.
_EXPECTED = frozenset({errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY, errno.ENODATA})
# Storage failures that are outages (logged as errors), not refusals of this request.
_OUTAGES = frozenset({errno.EIO, errno.ETIMEDOUT})
_KNOWN = (FsError, se.StorageError, OSError)


def unwrap(exc: BaseException) -> BaseException:
    """The error an ExceptionGroup stands for: its first leaf we know how to map (a storage error
    from one of a nursery's tasks), else its first leaf."""
    if not isinstance(exc, BaseExceptionGroup):
        return exc
    leaves = [unwrap(inner) for inner in exc.exceptions]
    return next((leaf for leaf in leaves if isinstance(leaf, _KNOWN)), leaves[0] if leaves else exc)


def storage_errno(exc: se.StorageError) -> int:
    return next((c for t, c in _STORAGE_ERRNO if isinstance(exc, t)), errno.EIO)


def errno_for(exc: BaseException, operation: str = "", subject: str = "", refusals: RefusalLog | None = None) -> int:
    """The errno for an exception escaping a filesystem operation on ``subject`` (a path, for the
    log), logging what deserves it and recording refusals in ``refusals``."""
    exc = unwrap(exc)
    where = f"{operation} {subject}" if subject else operation
    if isinstance(exc, FsError):
        if exc.quiet or exc.errno in _EXPECTED:
            log.debug("%s: %s", where, exc)
        else:
            _refused(where, operation, subject, exc.errno, str(exc), refusals)
        return exc.errno
    if isinstance(exc, se.StorageError):
        code = storage_errno(exc)
        if code in _OUTAGES:
            log.error("%s failed (%s): %s", where, errno.errorcode.get(code), exc)
        elif code == errno.EACCES:
            _refused(where, operation, subject, code, str(exc), refusals)
        elif code not in _EXPECTED:
            log.warning("%s failed (%s): %s", where, errno.errorcode.get(code), exc)
        return code
    if isinstance(exc, OSError) and exc.errno:
        log.warning("%s failed: %s", where, exc)
        return exc.errno
    log.exception("%s: unexpected error", where, exc_info=exc)
    return errno.EIO


def _refused(where: str, operation: str, subject: str, code: int, reason: str, refusals: RefusalLog | None) -> None:
    name = errno.errorcode.get(code, str(code))
    log.warning("%s refused (%s): %s", where, name, reason)
    if refusals is not None:
        refusals.note(operation, subject, name, reason)
