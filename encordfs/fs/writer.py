"""Files open for writing: staged locally, journaled at close, uploaded in the background.

A ``WriteHandle`` holds a private staged file (see ``encordfs.fs.staging``). Closing it (``flush``)
detects the type from the name and the bytes (refusals are close()'s errors) and journals the file
(fsync'd: from then on nothing written is lost, whatever fails), and close() returns. The upload
runs after the last close of the file, concurrently with others (``Uploader.upload``, at most
``UPLOAD_CONCURRENCY`` at once, their API calls batched by the storage client); a failed upload
stays in the journal and is retried, and on the next mount.

A committed staged file is frozen (the journal record names its size): a later write first copies
it to a new staged file, whose commit supersedes the earlier record if that one has not started
uploading, so however often one open file is flushed, one item results.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator
from uuid import UUID

import trio

from encordfs.fs import filetypes
from encordfs.fs.errors import FsError
from encordfs.fs.inodes import Node
from encordfs.fs.staging import Commit, NotPending, PendingUpload, StagedFile, Staging, UploadTarget
from encordfs.storage.errors import Forbidden, NotFound, StorageError
from encordfs.storage.interface import Storage
from encordfs.wire.models import StorageItem

log = logging.getLogger(__name__)

UPLOAD_CONCURRENCY = 64
COMMIT_ON_LOOP_BYTES = 1 << 20  # a file up to this size is detected and journaled on the event loop, synced in a thread


@dataclass(eq=False)
class WriteHandle:
    """One file being written (shared by every open of it), from create until its upload is done."""

    node: Node
    staged: StagedFile
    folder_uuid: UUID
    title: str
    dirty: bool = True  # written since the last commit
    record: PendingUpload | None = None  # the latest commit: journaled, not confirmed by the server
    uploading: PendingUpload | None = None  # the record whose upload runs now
    dropped: bool = False  # unlinked: nothing more is uploaded, an upload in flight is undone
    landed: trio.Event | None = None  # set when the background upload task ends
    failed: bool = False  # its last upload failed: retried by the periodic retry, not at shutdown
    uploaded_item: StorageItem | None = None  # what the last upload made: readers' source once the staged file goes
    uploaded_from: str | None = None  # the staged file id that upload took (the journal deletes its data)
    lock: trio.Lock = field(default_factory=trio.Lock)  # writes and commits wait for each other

    def size(self) -> int:
        """The file's size: the staged file's while it is open, else what was journaled, else what
        the upload made (the journal forgets a record before the node moves to the new item)."""
        if not self.staged.closed:
            return self.staged.size()
        if self.record is not None:
            return self.record.size
        if self.uploaded_item is not None and self.uploaded_item.file_size is not None:
            return self.uploaded_item.file_size
        raise FsError(errno.ESTALE, f"{self.title!r}: neither staged nor uploaded")

    @property
    def landed_and_gone(self) -> bool:
        """Uploaded, and its staged file forgotten: nothing local is left to read."""
        return self.record is None and self.staged.closed and not self.dirty

    @property
    def frozen(self) -> bool:
        """The staged file is what the journal record names: it must not change any more."""
        return self.record is not None and self.record.id == self.staged.id

    @property
    def staged_taken(self) -> bool:
        """The staged file is one the journal holds or held (deleted once its upload landed):
        changes must go to a new one."""
        return self.frozen or self.staged.closed or self.uploaded_from == self.staged.id


class Uploader:
    def __init__(self, storage: Storage, staging: Staging, concurrency: int = UPLOAD_CONCURRENCY) -> None:
        self._storage = storage
        self._staging = staging
        self._limiter = trio.CapacityLimiter(concurrency)
        self.in_flight = 0
        self._idle = trio.Condition()

    def new_handle(self, node: Node, folder_uuid: UUID, title: str) -> WriteHandle:
        return WriteHandle(node, self._staging.new_file(), folder_uuid, title)

    async def ensure_writable(self, handle: WriteHandle, *, keep_content: bool = True) -> None:
        """Before changing the file: a frozen staged file is the journal's (and is deleted once its
        upload lands), so continue in a new one holding the current bytes, or nothing for O_TRUNC."""
        if not handle.staged_taken:
            return
        new = self._staging.new_file()
        try:
            if keep_content:
                await self._copy_current(handle, new)
        except BaseException:
            self._staging.discard(new)
            raise
        handle.staged.close()
        handle.staged = new

    async def _copy_current(self, handle: WriteHandle, new: StagedFile) -> None:
        """The journaled bytes; when the journal has just forgotten them (the upload landed),
        the bytes of the item the upload made."""
        if handle.record is not None:
            try:
                await trio.to_thread.run_sync(_copy_into, self._staging.data_path(handle.record), new.fd)
                return
            except FileNotFoundError:
                if handle.uploaded_item is None:
                    raise
        item = handle.uploaded_item
        if item is None:
            raise FsError(errno.ESTALE, f"{handle.title!r}: neither staged nor uploaded")
        size = item.file_size if item.file_size is not None else await self._storage.content_length(item)
        offset = 0
        while offset < size:
            data = await self._storage.read_range(item, offset, min(8 << 20, size - offset))
            if not data:
                break
            new.pwrite(data, offset)
            offset += len(data)

    def reopen(self, handle: WriteHandle) -> None:
        """A frozen staged file's fd is closed once it is journaled: open it again to read it.
        (Call under the handle's lock: a commit closes the fd in a worker thread.)"""
        if handle.staged.closed and handle.record is not None:
            handle.staged = self._staging.open_data(handle.record)

    async def commit(self, handle: WriteHandle, replaces: UUID | None) -> bool:
        """Detect the type and journal the handle's file (its durability point); raises
        FsError(ENOTSUP) or StagingFull. False for an empty file under a media name (``touch
        photo.jpg``): no such item can exist yet, so it stays a local placeholder until written."""
        superseded = handle.record if handle.record is not handle.uploading else None
        staged, folder, title = handle.staged, handle.folder_uuid, handle.title

        def begin() -> Commit:
            target = UploadTarget(folder, title, filetypes.detect(staged.path, title))
            return self._staging.begin_commit(staged, target, replaces=replaces, supersedes=superseded)

        def detect_and_commit() -> PendingUpload:
            commit = begin()
            commit.sync()
            return commit.publish()

        try:
            if not staged.closed and staged.size() <= COMMIT_ON_LOOP_BYTES:
                # a small file is read, checked and its record written right here (microseconds,
                # from the page cache): the worker thread only waits for the disk
                commit = begin()
                await trio.to_thread.run_sync(commit.sync)
                handle.record = commit.publish()
            else:  # detection and the checksum read the file: one worker-thread hop for it all
                handle.record = await trio.to_thread.run_sync(detect_and_commit)
            staged.close()  # frozen now: thousands of files may wait for their upload, without an fd each
        except filetypes.EmptyFile:
            log.info("%r is empty: kept as a local placeholder until it is written", handle.title)
            handle.dirty = False
            return False
        except filetypes.UnsupportedType as exc:
            log.warning("refusing %r: %s", handle.title, exc)
            raise FsError(exc.errno, str(exc)) from exc
        handle.dirty = handle.failed = False
        return True

    async def retarget(self, record: PendingUpload, folder_uuid: UUID, title: str, replaces: UUID | None) -> PendingUpload:
        """Point a record not yet uploading at where its file is now (renamed or moved since the
        commit) and at the item it now overwrites (one an earlier upload of the file made)."""
        if (record.folder_uuid, record.title, record.replaced_item) == (folder_uuid, title, replaces or record.replaced_item):
            return record
        item_type = record.item_type
        if title != record.title:
            item_type = await trio.to_thread.run_sync(filetypes.detect, self._staging.data_path(record), title)
        return await trio.to_thread.run_sync(
            lambda: self._staging.rename_target(record, folder_uuid=folder_uuid, title=title, item_type=item_type, replaces=replaces)
        )

    async def upload(self, record: PendingUpload) -> StorageItem:
        """Upload a journaled file (at most ``concurrency`` at once); the record stays journaled
        until ``done``. A failure is logged and kept in the record for the next try."""
        async with self._limiter:
            try:
                item = await self._storage.upload_file(
                    record.folder_uuid, self._staging.data_path(record), record.title, record.item_type,
                    content_type=filetypes.mime_type(record.item_type, record.title),
                )
            except StorageError as exc:
                log.error("upload of %r failed, kept in the pending area for a retry: %s", record.title, exc)
                try:
                    await trio.to_thread.run_sync(self._staging.failed, record, str(exc))
                except NotPending:
                    pass
                raise
        log.info("uploaded %r (%d bytes) as %s %s", record.title, record.size, record.item_type.value, item.uuid)
        return item

    async def done(self, record: PendingUpload) -> None:
        """Forget the record (one unlink, here: cheaper than a worker-thread hop; the journal
        syncs and deletes the data in its own thread)."""
        self._staging.done(record)

    async def delete_replaced(self, folder: UUID, item: UUID) -> None:
        """Delete the item an upload replaced (already gone: nothing to do)."""
        try:
            await self._storage.delete_items(folder, [item])
        except (Forbidden, NotFound):
            log.info("the item %s replaced by an upload was already gone", item)

    async def replay_pending(self, skip: set[str] = frozenset()) -> int:
        """Upload the journaled files no open file holds (from an earlier mount, or retried after a
        failure), concurrently; how many succeeded."""
        records = [r for r in await trio.to_thread.run_sync(self._staging.pending) if r.id not in skip]
        succeeded = 0

        async def replay(record: PendingUpload) -> None:
            nonlocal succeeded
            try:
                item = await self.upload(record)
                if record.replaced_item is not None and record.replaced_item != item.uuid:
                    await self.delete_replaced(item.parent, record.replaced_item)
                await self.done(record)
                succeeded += 1
            except StorageError:
                return

        async with self.busy(), trio.open_nursery() as nursery:
            for record in records:
                nursery.start_soon(replay, record)
        return succeeded

    def discard(self, handle: WriteHandle) -> None:
        """Forget the handle's staged file (not journaled, or its upload is done)."""
        self._staging.discard(handle.staged)

    def discard_record(self, record: PendingUpload) -> None:
        """The file was deleted before this record's upload began: forget it."""
        self._staging.discard(record)

    @asynccontextmanager
    async def busy(self) -> AsyncIterator[None]:
        """Counts upload work from its start until it settles (see ``wait_idle``)."""
        self.expect()
        try:
            yield
        finally:
            await self.settled()

    def expect(self) -> None:
        """Count upload work about to start (a task scheduled, not yet running) for ``wait_idle``."""
        self.in_flight += 1

    async def settled(self) -> None:
        self.in_flight -= 1
        async with self._idle:
            self._idle.notify_all()

    async def wait_idle(self) -> None:
        async with self._idle:
            while self.in_flight:
                await self._idle.wait()


def _copy_into(source: os.PathLike[str], target: int) -> None:
    with open(source, "rb") as src, open(target, "wb", closefd=False) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def refuse_unstorable_name(name: str) -> None:
    """At create/rename: refuse names that say Encord cannot store them (not temp names)."""
    verdict, _ = filetypes.judge_name(name)
    if verdict is filetypes.NameVerdict.UNSTORABLE:
        log.warning("refusing to create %r: Encord storage cannot hold this type of file", name)
        raise FsError(errno.ENOTSUP, f"{name!r}: Encord storage cannot hold this type of file")
