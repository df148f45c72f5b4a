"""The journal and server side of files being written: staged files, commits, uploads.

The rules (what may happen in which state) are in ``encordfs.fs.upload_state``; this module does
the I/O the transitions ask for. A commit (``close()``'s durability point) detects the type from the
name and the bytes (refusals are close()'s errors) and journals the staged file; an upload records
its slot's item in the journal before the upload can make it, so a replay after a crash adopts what
an interrupted upload made instead of uploading twice.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from uuid import UUID

import trio

from encordfs.fs import filetypes
from encordfs.fs.errors import FsError
from encordfs.fs.staging import Commit, NotPending, PendingUpload, StagedFile, Staging, UploadTarget
from encordfs.fs.upload_state import Target
from encordfs.storage.errors import Forbidden, NotFound, RateLimited, ServerError, StorageError, StorageTimeout, TransportError
from encordfs.storage.interface import Storage
from encordfs.wire.enums import StorageItemType
from encordfs.wire.models import StorageItem

log = logging.getLogger(__name__)

UPLOAD_CONCURRENCY = 64
COMMIT_ON_LOOP_BYTES = 1 << 20  # a text file up to this size is detected and journaled on the event loop, synced in a thread
_TRANSIENT_STATUS = {408, 429}


def is_transient(exc: StorageError) -> bool:
    """Worth retrying later: the connection, a timeout, throttling, the server's own trouble.
    Anything else (refused content, 400, 401/403, a folder that no longer exists, 413, ...) will
    be answered the same way again."""
    if isinstance(exc, (TransportError, StorageTimeout, RateLimited, ServerError)):
        return True
    return exc.status in _TRANSIENT_STATUS or (exc.status is not None and exc.status >= 500)


class Uploader:
    def __init__(self, storage: Storage, staging: Staging, concurrency: int = UPLOAD_CONCURRENCY) -> None:
        self._storage = storage
        self._staging = staging
        self._limiter = trio.CapacityLimiter(concurrency)
        self.in_flight = 0
        self._idle = trio.Condition()

    # --- staged files --------------------------------------------------------------------------

    def new_staged(self) -> StagedFile:
        return self._staging.new_file()

    def open_data(self, record: PendingUpload) -> StagedFile:
        return self._staging.open_data(record)

    async def fill(self, new: StagedFile, source: PendingUpload | StorageItem) -> None:
        """Copy a version's bytes into a new staged file: a journaled one's, or an item's."""
        if isinstance(source, PendingUpload):
            await trio.to_thread.run_sync(_copy_into, self._staging.data_path(source), new.fd)
            return
        size = source.file_size if source.file_size is not None else await self._storage.content_length(source)
        offset = 0
        while offset < size:
            data = await self._storage.read_range(source, offset, min(8 << 20, size - offset))
            if not data:
                break
            new.pwrite(data, offset)
            offset += len(data)

    def discard(self, what: PendingUpload | StagedFile) -> None:
        """Forget a staged file never journaled, or a record whose upload is no longer wanted."""
        self._staging.discard(what)

    # --- the journal ---------------------------------------------------------------------------

    async def commit(
        self,
        staged: StagedFile,
        target: Target,
        *,
        replaces: UUID | None,
        supersedes: PendingUpload | None,
        client_metadata: str | None = None,
    ) -> PendingUpload | None:
        """Detect the type and journal the staged file (its durability point); raises
        FsError(ENOTSUP) or StagingFull. None for an empty file under a media name (``touch
        photo.jpg``): no such item can exist, so it stays a local placeholder until written."""

        def begin() -> Commit:
            upload_target = UploadTarget(target.folder, target.title, filetypes.detect(staged.path, target.title))
            return self._staging.begin_commit(
                staged, upload_target, replaces=replaces, supersedes=supersedes, client_metadata=client_metadata
            )

        def detect_and_commit() -> PendingUpload:
            commit = begin()
            commit.sync()
            return commit.publish()

        try:
            if staged.size() <= COMMIT_ON_LOOP_BYTES and filetypes.type_of_name(target.title) is StorageItemType.PLAIN_TEXT:
                # a small text file is read, checked and its record written right here (microseconds,
                # from the page cache): the worker thread only waits for the disk. Media must decode
                # (milliseconds of CPU): that runs in the worker thread, off the event loop
                commit = begin()
                await trio.to_thread.run_sync(commit.sync)
                record = commit.publish()
            else:  # detection and the checksum read the file: one worker-thread hop for it all
                record = await trio.to_thread.run_sync(detect_and_commit)
        except filetypes.EmptyFile:
            log.info("%r is empty: kept as a local placeholder until it is written", target.title)
            return None
        except filetypes.UnsupportedType as exc:
            log.warning("refusing %r: %s", target.title, exc)
            raise FsError(exc.errno, str(exc)) from exc
        staged.close()  # the journal's now: thousands of files may wait for their upload, without an fd each
        return record

    async def retarget(self, record: PendingUpload, target: Target, *, replaces: UUID | None = None) -> PendingUpload:
        """Point a journaled version at where its file is now (renamed or moved since the
        commit), and at the item it now overwrites. The type is detected again for a new title."""
        if (record.folder_uuid, record.title) == (target.folder, target.title) and (replaces is None or record.replaced_item == replaces):
            return record
        item_type = record.item_type
        if target.title != record.title:
            item_type = await trio.to_thread.run_sync(filetypes.detect, self._staging.data_path(record), target.title)
        return await trio.to_thread.run_sync(
            lambda: self._staging.rename_target(
                record, folder_uuid=target.folder, title=target.title, item_type=item_type, replaces=replaces
            )
        )

    async def update(self, record: PendingUpload) -> PendingUpload:
        """Rewrite a record's bookkeeping (slot, attempts, failure); unchanged if it is gone."""
        try:
            return await trio.to_thread.run_sync(self._staging.update, record)
        except NotPending:
            return record

    async def done(self, record: PendingUpload) -> None:
        """The server has it: forget the record (one rename here; the journal syncs and deletes the
        data in its own thread)."""
        self._staging.done(record)

    def pending(self) -> list[PendingUpload]:
        return self._staging.pending()

    # --- the server ----------------------------------------------------------------------------

    async def upload(self, record: PendingUpload, on_record: Callable[[PendingUpload], None]) -> tuple[PendingUpload, StorageItem]:
        """Upload a journaled version (at most ``concurrency`` at once), first adopting what an
        earlier try made if it got that far. The slot's item is journaled (and ``on_record`` told
        of the rewritten record) before the upload can make it. Returns the record as journaled
        and the item; StorageError on failure."""
        async with self._limiter:
            if record.slot_uuid is not None:
                adopted = await self._storage.find_upload(record.slot_uuid)
                if adopted is not None:
                    log.info("%r was uploaded before (as %s): adopting it", record.title, adopted.uuid)
                    return record, adopted
            journaled = record

            async def on_slot(slot: UUID) -> None:
                nonlocal journaled
                journaled = await self.update(replace(journaled, slot_item=str(slot)))
                on_record(journaled)

            item = await self._storage.upload_file(
                record.folder_uuid,
                self._staging.data_path(record),
                record.title,
                record.item_type,
                content_type=filetypes.mime_type(record.item_type, record.title),
                on_slot=on_slot,
                client_metadata=json.loads(record.client_metadata) if record.client_metadata else None,
            )
        log.info("uploaded %r (%d bytes) as %s %s", record.title, record.size, record.item_type.value, item.uuid)
        return journaled, item

    async def carry_metadata(self, item: StorageItem, replaced: UUID, sent: str | None) -> StorageItem:
        """The item an upload replaces may have had its metadata changed while the upload ran
        (``setfattr`` on the old version): the new item takes what the old one has now."""
        try:
            current = (await self._storage.get_item(replaced)).client_metadata
        except (Forbidden, NotFound):
            return item
        if _same_json(current, sent):
            return item
        return await self._storage.update_item(item, client_metadata=json.loads(current) if current else {})

    async def delete_item(self, folder: UUID, item: UUID) -> None:
        """Delete an item the file no longer is (already gone: nothing to do)."""
        try:
            await self._storage.delete_items(folder, [item])
        except (Forbidden, NotFound):
            log.info("the item %s was already gone", item)

    async def follow(self, item: StorageItem, target: Target) -> StorageItem:
        """Move and rename an uploaded item to where its file is now."""
        if item.parent != target.folder:
            await self._storage.move_items(item.parent, [item.uuid], target.folder)
            item = await self._storage.get_item(item.uuid)
        if item.name != target.title:
            item = await self._storage.update_item(item, name=target.title)
        return item

    # --- counting work, for drain and tests ---------------------------------------------------------

    async def settled(self) -> None:
        """One upload counted in ``in_flight`` (by whoever started it) has ended."""
        self.in_flight -= 1
        async with self._idle:
            self._idle.notify_all()

    async def wait_idle(self) -> None:
        async with self._idle:
            while self.in_flight:
                await self._idle.wait()


def _same_json(a: str | None, b: str | None) -> bool:
    return (json.loads(a) if a else {}) == (json.loads(b) if b else {})


def _copy_into(source: os.PathLike[str], target: int) -> None:
    with open(source, "rb") as src, open(target, "wb", closefd=False) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def refuse_unstorable_name(name: str) -> None:
    """At create/rename: refuse names that say Encord cannot store them (not temp names)."""
    verdict, _ = filetypes.judge_name(name)
    if verdict is filetypes.NameVerdict.UNSTORABLE:
        message = filetypes.unstorable_name_message(name)
        log.warning("refusing to create %s", message)
        raise FsError(errno.ENOTSUP, message)
