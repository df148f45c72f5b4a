"""The upload state of a file: its transitions alone, and the core's failure rules against the
in-memory storage (permanent failures fail at once and stay; transient ones back off, then give up)."""

from __future__ import annotations

import errno
import os
from uuid import uuid4

import pytest
import trio

from encordfs.fs import upload_state
from encordfs.fs.errors import FsError
from encordfs.fs.inodes import ROOT_INO, Kind, Node
from encordfs.fs.staging import PendingUpload, StagedFile, StagingFull
from encordfs.fs.upload_state import Failed, Gone, Journaled, Landed, PendingFile, Phase, Target, Uploading
from encordfs.storage.errors import Forbidden
from encordfs.wire.enums import StorageItemType

from .fake_storage import FakeStorage
from .test_core import cat, ls, make_fs, staging, storage  # noqa: F401 (fixtures)

FOLDER = uuid4()


def record(name: str = "a.txt", **fields) -> PendingUpload:
    return PendingUpload(uuid4().hex, FOLDER, name, StorageItemType.PLAIN_TEXT, 3, 0.0, **fields)


def pending_file() -> PendingFile:
    return PendingFile(Node(5, Kind.PENDING, 1, ROOT_INO), Target(FOLDER, "a.txt"))


def test_a_rename_and_an_unlink_in_flight_are_applied_when_the_upload_lands() -> None:
    file = pending_file()
    first = record()
    file.committed(first)
    assert file.begin_upload() is first and isinstance(file.state, Uploading)
    assert file.renamed(Target(FOLDER, "b.txt")) is None, "nothing to rewrite: followed on landing"
    item = FakeStorage().add_item(FOLDER, "a.txt", b"abc")
    assert file.follow_for(item) == Target(FOLDER, "b.txt")
    file.upload_landed(item)
    assert isinstance(file.state, Landed)

    again = pending_file()
    again.committed(record())
    again.begin_upload()
    assert again.unlinked() == () and again.unlinked_here and not again.listed
    assert again.upload_landed(item).delete_item and isinstance(again.state, Gone)


def test_a_newer_version_waits_for_the_one_in_flight_and_replaces_it() -> None:
    file = pending_file()
    file.committed(record())
    file.begin_upload()
    newer = record()
    file.committed(newer)
    assert file.superseded_by_commit is newer and file.newest is newer
    item = FakeStorage().add_item(FOLDER, "a.txt", b"abc")
    landing = file.upload_landed(item)
    assert landing.next is newer and file.replaces == item.uuid and isinstance(file.state, Journaled)


async def test_failures_transient_then_permanent() -> None:
    file = pending_file()
    file.committed(record())
    file.begin_upload()
    outcome = file.upload_failed("HTTP 503", permanent=False, limit=3)
    assert outcome.retry_in is not None and outcome.retry_in >= 1.0 and file.phase is Phase.RETRY_WAIT
    assert not file.upload_coming, "a file waiting to retry does not hold up getfattr"
    file.begin_upload()
    file.upload_failed("HTTP 503", permanent=False, limit=3)
    file.begin_upload()
    outcome = file.upload_failed("HTTP 503", permanent=False, limit=3)
    assert outcome.failed_for_good and isinstance(file.state, Failed) and "gave up after 3 attempts" in file.upload_error
    assert outcome.journal is not None and outcome.journal.failure == file.upload_error
    retried = file.retry()
    assert retried is not None and retried.failure is None and retried.attempts == 0 and isinstance(file.state, Journaled)
    file.begin_upload()
    assert file.upload_failed("HTTP 403 read-only", permanent=True, limit=3).failed_for_good
    assert file.unlinked() and isinstance(file.state, Gone), "rm discards a failed file"


async def test_a_refused_upload_fails_for_good_stays_readable_and_rm_discards_it(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top)
    storage.fail_uploads, storage.upload_error = True, Forbidden("folder does not exist", status=403)
    fh, attrs = await fs.create(ROOT_INO, "keep.txt", os.O_WRONLY | os.O_CREAT)
    await fs.write(fh, 0, b"precious")
    await fs.flush(fh)
    await fs.release(fh)
    await fs.uploader.wait_idle()
    assert await fs.getxattr(attrs.ino, "user.encord.upload_state") == b"failed"
    assert b"folder does not exist" in await fs.getxattr(attrs.ino, "user.encord.upload_error")
    await trio.sleep(0.5)
    assert storage.calls.count("upload_file") == 1, "a permanent failure is not retried"
    [journaled] = staging.pending()
    assert journaled.failure and journaled.attempts == 1
    assert await ls(fs, ROOT_INO) == {"keep.txt": attrs.ino} and await cat(fs, attrs.ino) == b"precious"
    storage.fail_uploads = False
    await fs.unlink(ROOT_INO, "keep.txt")
    assert staging.pending() == [] and await ls(fs, ROOT_INO) == {} and storage.titles(top.uuid) == []


async def test_transient_failures_back_off_then_give_up(storage, staging, nursery, monkeypatch) -> None:
    monkeypatch.setattr(upload_state, "RETRY_BASE_SECONDS", 0.05)  # the backoff's shape, at a test's pace
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top, upload_retries=3)
    storage.fail_uploads = True  # a 500 each time
    fh, attrs = await fs.create(ROOT_INO, "later.txt", os.O_WRONLY | os.O_CREAT)
    await fs.write(fh, 0, b"x")
    await fs.flush(fh)
    await fs.release(fh)
    started = trio.current_time()
    while storage.calls.count("upload_file") < 3:
        await trio.sleep(0.02)
        assert trio.current_time() - started < 10
    assert trio.current_time() - started >= 0.05, "not at once: after a backoff"
    await trio.sleep(1)
    assert storage.calls.count("upload_file") == 3, "given up after 3 tries"
    assert b"gave up after 3 attempts" in await fs.getxattr(attrs.ino, "user.encord.upload_error")
    storage.fail_uploads = False
    assert await fs.retry_uploads() == 1
    await fs.uploader.wait_idle()
    assert storage.titles(top.uuid) == ["later.txt"] and staging.pending() == []


async def test_fsync_of_a_writer_uploads_and_reports_the_failure(storage, staging, nursery) -> None:
    top = storage.add_folder("top")
    fs = make_fs(storage, staging, nursery, root=top)
    fh, _ = await fs.create(ROOT_INO, "now.txt", os.O_WRONLY | os.O_CREAT)
    await fs.write(fh, 0, b"x")
    await fs.fsync(fh)
    assert storage.titles(top.uuid) == ["now.txt"]
    storage.fail_uploads, storage.upload_error = True, Forbidden("read-only key", status=403)
    await fs.write(fh, 0, b"y")
    with pytest.raises(FsError) as failed:
        await fs.fsync(fh)
    assert failed.value.errno == errno.EACCES
    await fs.release(fh)


async def test_a_copy_that_fills_the_cache_disk_leaves_no_ghost_entry(storage, staging, nursery, monkeypatch) -> None:
    top = storage.add_folder("top")
    old = storage.add_item(top.uuid, "old.txt", b"kept as it was")
    fs = make_fs(storage, staging, nursery, root=top)
    old_ino = (await fs.lookup(ROOT_INO, "old.txt")).ino
    fh, _ = await fs.create(ROOT_INO, "big.txt", os.O_WRONLY | os.O_CREAT)
    rewrite, _ = await fs.open(old_ino, os.O_WRONLY | os.O_TRUNC)

    def full(self, data: bytes, offset: int) -> int:
        raise StagingFull(staging.root, f"writing {len(data)} bytes")

    monkeypatch.setattr(StagedFile, "pwrite", full)
    for handle in (fh, rewrite):
        with pytest.raises((OSError, FsError)) as no_space:
            await fs.write(handle, 0, b"x" * 100)
        assert no_space.value.errno == errno.ENOSPC
        with pytest.raises((OSError, FsError)) as at_close:  # cp reports it; nothing half-written is journaled
            await fs.flush(handle)
        assert at_close.value.errno == errno.ENOSPC
        await fs.release(handle)
    monkeypatch.undo()
    await fs.uploader.wait_idle()
    assert await ls(fs, ROOT_INO) == {"old.txt": old_ino}, "no 0-byte ghost of the new file"
    assert await cat(fs, old_ino) == b"kept as it was" and staging.pending() == []
    assert storage.titles(top.uuid) == ["old.txt"] and old.uuid in storage.items
