"""One errno mapping for every operation, lookups included, and the reasons reaching the user."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import time
from pathlib import Path
from uuid import UUID

import pytest
import trio

from encordfs.fs.core import Filesystem
from encordfs.fs.errors import FsError, errno_for
from encordfs.fs.inodes import ROOT_INO
from encordfs.fs.options import MountOptions
from encordfs.fs.refusals import RefusalLog
from encordfs.fs.staging import Staging
from encordfs.storage import errors as se

from .conftest import encordfs
from .fake_storage import FakeStorage

LONG = "x" * 256


class FailingSearch(FakeStorage):
    """Searches of one folder's items fail with ``error`` (as a real server's answer would)."""

    def __init__(self, error: se.StorageError) -> None:
        super().__init__()
        self.error = error

    async def iter_items(self, folder: UUID, **kwargs):  # type: ignore[override]
        raise self.error
        yield  # pragma: no cover (an async generator)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (se.Unauthenticated("list items http://x/v2/public/storage/folders/1/items: HTTP 401", status=401), errno.EACCES),
        (se.Forbidden("list items: HTTP 403", status=403), errno.EACCES),
        (se.RateLimited("list items: HTTP 429"), errno.EAGAIN),
        (se.StorageTimeout("list items: timed out (ReadTimeout)"), errno.ETIMEDOUT),
        (se.TransportError("list items: connection failed (ConnectError)"), errno.EIO),
        (se.ServerError("list items: HTTP 503", status=503), errno.EIO),
    ],
)
async def test_a_failed_lookup_maps_like_any_other_failure_and_logs_no_traceback(
    error: se.StorageError, code: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = FailingSearch(error)
    folder = storage.add_folder("top")
    with Staging(tmp_path / "cache") as staging:
        async with trio.open_nursery() as nursery:
            fs = Filesystem(storage, staging, MountOptions(mountpoint=Path("/x")), None)
            fs.start(nursery)
            top = await fs.lookup(ROOT_INO, "top")
            assert top.ino and folder.uuid
            with caplog.at_level(logging.DEBUG):
                with pytest.raises(BaseException) as raised:
                    await fs.lookup(top.ino, "missing.txt")
                assert errno_for(raised.value, "lookup", "/top/missing.txt") == code
            nursery.cancel_scope.cancel()
    assert isinstance(raised.value, se.StorageError)  # not wrapped in the search's ExceptionGroup
    assert all(record.exc_info is None for record in caplog.records)
    assert "lookup /top/missing.txt " in caplog.text and str(error) in caplog.text


def test_a_group_from_a_nursery_maps_to_its_storage_error() -> None:
    group = BaseExceptionGroup("nursery", [se.RateLimited("429"), trio.Cancelled._create()])  # type: ignore[attr-defined]
    assert errno_for(group, "lookup") == errno.EAGAIN


def test_refusals_are_recorded_with_their_reasons_and_answers_are_not() -> None:
    refusals = RefusalLog(None)
    errno_for(FsError(errno.EPERM, "files must live in a folder"), "create", "/a.txt", refusals)
    errno_for(FsError(errno.ENOENT), "lookup", "/b", refusals)
    errno_for(FsError(errno.ENOTSUP, "probe", quiet=True), "getxattr", "/c", refusals)
    errno_for(se.Forbidden("create folder: HTTP 403: read-only key"), "mkdir", "/d", refusals)
    assert [(r.operation, r.path, r.error, r.reason) for r in refusals.recent()] == [
        ("create", "/a.txt", "EPERM", "files must live in a folder"),
        ("mkdir", "/d", "EACCES", "create folder: HTTP 403: read-only key"),
    ]


@pytest.mark.fuse
def test_long_and_non_utf8_names_are_refused_by_every_operation(emulator, fs_root, mount_fs, tmp_path) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    mnt = mounted.path
    (mnt / "ok.txt").write_text("x")
    long_path = mnt / LONG
    attempts = {
        "stat": lambda: os.stat(long_path),
        "unlink": lambda: os.unlink(long_path),
        "rmdir": lambda: os.rmdir(long_path),
        "rename from": lambda: os.rename(long_path, mnt / "y"),
        "rename to": lambda: os.rename(mnt / "ok.txt", long_path),
        "truncate": lambda: os.truncate(long_path, 0),
        "open": lambda: os.open(long_path, os.O_RDONLY),
        "create": lambda: os.open(long_path, os.O_WRONLY | os.O_CREAT, 0o644),
        "mkdir": lambda: os.mkdir(long_path),
    }
    for what, attempt in attempts.items():
        with pytest.raises(OSError) as raised:
            attempt()
        assert raised.value.errno == errno.ENAMETOOLONG, what
    bad = os.fsencode(mnt) + b"/caf\xe9.txt"
    for what, attempt in {"stat": lambda: os.stat(bad), "create": lambda: os.open(bad, os.O_WRONLY | os.O_CREAT, 0o644), "mkdir": lambda: os.mkdir(bad)}.items():
        with pytest.raises(OSError) as raised:
            attempt()
        assert raised.value.errno == errno.EINVAL, what
    log = mounted.log()
    assert "Traceback" not in log and "unexpected error" not in log
    assert "lookup /caf\\xe9.txt refused (EINVAL): b'caf\\xe9.txt' is not UTF-8: Encord titles are text" in log
    assert f"lookup /{LONG} refused (ENAMETOOLONG): a name of 256 bytes (at most 255)" in log


@pytest.mark.fuse
def test_a_revoked_key_is_eacces_on_lookup_and_the_reason_reaches_status(emulator_factory, make_sdk_client, mount_fs) -> None:
    server = emulator_factory()
    folder = make_sdk_client(server).create_storage_folder("top")
    mounted = mount_fs(server, folder.uuid, daemon=True)
    with pytest.raises(OSError) as raised:  # (no ls: a listing would answer the lookup below)
        os.open(mounted.path / "a.zip", os.O_WRONLY | os.O_CREAT, 0o644)
    assert raised.value.errno == errno.ENOTSUP
    db = sqlite3.connect(server.data_dir / "emulator.sqlite3")
    with db:
        db.execute("DELETE FROM keys")
    db.close()
    with pytest.raises(OSError) as raised:
        os.stat(mounted.path / "never-seen.txt")
    assert raised.value.errno == errno.EACCES
    log = mounted.log()
    assert "Traceback" not in log
    assert "lookup /never-seen.txt refused (EACCES): list " in log and "HTTP 401: authentication failed: unknown public key" in log
    deadline = time.monotonic() + 5  # the mount writes its refusals a moment after them
    while "lookup /never-seen.txt" not in (status := encordfs("status").stdout) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"mounted: {mounted.path} (cache dir {mounted.cache_dir})" in status
    assert "create /a.zip: ENOTSUP: 'a.zip': Encord storage cannot hold .zip files (it stores" in status
    assert "lookup /never-seen.txt: EACCES: list " in status
