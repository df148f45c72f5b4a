"""THE one place where failures become errno values.

The core raises ``FsError(errno, message)`` for filesystem-level refusals and lets storage
exceptions through; the FUSE adapter calls ``errno_for`` on whatever escapes an operation.
"""

from __future__ import annotations

import errno
import logging

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


def errno_for(exc: BaseException, operation: str = "") -> int:
    """The errno for an exception escaping a filesystem operation, logging what deserves it."""
    if isinstance(exc, FsError):
        if exc.quiet:
            log.debug("%s: %s", operation, exc)
        elif exc.errno not in (errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY, errno.ENODATA):
            log.warning("%s refused (%s): %s", operation, errno.errorcode.get(exc.errno), exc)
        return exc.errno
    if isinstance(exc, se.StorageError):
        code = next((c for t, c in _STORAGE_ERRNO if isinstance(exc, t)), errno.EIO)
        level = logging.ERROR if code in (errno.EIO, errno.ETIMEDOUT) else logging.WARNING
        log.log(level, "%s failed (%s): %s", operation, errno.errorcode.get(code), exc)
        return code
    if isinstance(exc, OSError) and exc.errno:
        log.warning("%s failed: %s", operation, exc)
        return exc.errno
    log.exception("%s: unexpected error", operation, exc_info=exc)
    return errno.EIO
