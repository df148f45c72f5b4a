import errno
import logging

import pytest

from encordfs.fs.errors import FsError, errno_for
from encordfs.storage import errors as se


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (se.NotFound("x"), errno.ENOENT),
        (se.Forbidden("x"), errno.EACCES),
        (se.Unauthenticated("x"), errno.EACCES),
        (se.Conflict("x"), errno.EEXIST),
        (se.InvalidArgument("x"), errno.EINVAL),
        (se.StorageTimeout("x"), errno.ETIMEDOUT),
        (se.ServerError("x"), errno.EIO),
        (se.TransportError("x"), errno.EIO),
        (se.UploadFailed("x"), errno.EIO),
        (se.RateLimited("x"), errno.EAGAIN),
        (FsError(errno.EROFS), errno.EROFS),
        (OSError(errno.ENOSPC, "full"), errno.ENOSPC),
        (RuntimeError("bug"), errno.EIO),
    ],
)
def test_every_failure_has_one_errno(exc: BaseException, code: int) -> None:
    assert errno_for(exc, "op") == code


def test_server_errors_are_logged_and_quiet_refusals_are_not(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="encordfs.fs.errors"):
        errno_for(se.ServerError("boom 503"), "read")
        errno_for(FsError(errno.ENOTSUP, "probe", quiet=True), "setxattr")
    assert [r.levelno for r in caplog.records] == [logging.ERROR] and "boom 503" in caplog.text
