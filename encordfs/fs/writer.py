"""Files open for writing: staged locally, uploaded when closed.

A ``WriteHandle`` holds a private staged file (see ``encordfs.fs.staging``). Closing it (``flush``)
detects the type from the name and the bytes, journals the upload (so nothing written is lost if the
upload or the process fails), uploads, and only then reports success; a failed upload is raised to
``close()`` and stays in the journal, replayed on the next mount.
"""

from __future__ import annotations

import errno
import logging
import mimetypes
import os
import shutil
from pathlib import Path
from typing import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from uuid import UUID

import trio

from encordfs.fs import filetypes
from encordfs.fs.errors import FsError
from encordfs.fs.inodes import Node
from encordfs.fs.staging import PendingUpload, StagedFile, Staging, UploadTarget
from encordfs.storage.errors import StorageError
from encordfs.storage.interface import Storage
from encordfs.wire.models import StorageItem

log = logging.getLogger(__name__)


@dataclass(eq=False)
class WriteHandle:
    node: Node
    staged: StagedFile
    folder_uuid: UUID
    title: str
    dirty: bool = True
    uploaded: StorageItem | None = None
    journaled: bool = False  # committed to the pending area and not confirmed by the server
    lock: trio.Lock = field(default_factory=trio.Lock)  # writes wait for an upload in progress

    def size(self) -> int:
        return self.staged.size()


class Uploader:
    def __init__(self, storage: Storage, staging: Staging) -> None:
        self._storage = storage
        self._staging = staging
        self.in_flight = 0
        self._idle = trio.Condition()
        self._links = staging.root / "uploading"
        self._links.mkdir(mode=0o700, exist_ok=True)
        for stale in self._links.iterdir():  # links left by a crash would keep their data alive
            stale.unlink()

    def new_handle(self, node: Node, folder_uuid: UUID, title: str) -> WriteHandle:
        """The upload replaces the node's item, if it has one (an overwrite, or a second close)."""
        return WriteHandle(node, self._staging.new_file(), folder_uuid, title)

    async def ensure_writable(self, handle: WriteHandle) -> None:
        """After an upload the staged data is gone from the journal: copy it to a new staged file."""
        if handle.uploaded is None or handle.dirty:
            return
        old, new = handle.staged, self._staging.new_file()
        await trio.to_thread.run_sync(_copy_fd, old.fd, new.fd)
        old.close()
        handle.staged = new

    async def upload(self, handle: WriteHandle) -> StorageItem | None:
        """Detect, journal and upload the handle's file; raises FsError(ENOTSUP) or StorageError.

        None for an empty file under a media name (``touch photo.jpg``): no such item can exist
        yet, so the file stays a local placeholder until something is written to it.
        """
        async with self._busy():
            try:
                item_type = await trio.to_thread.run_sync(filetypes.detect, handle.staged.path, handle.title)
            except filetypes.EmptyFile:
                log.info("%r is empty: kept as a local placeholder until it is written", handle.title)
                handle.dirty = False
                return None
            except filetypes.UnsupportedType as exc:
                log.warning("refusing %r: %s", handle.title, exc)
                raise FsError(exc.errno, str(exc)) from exc
            target = UploadTarget(handle.folder_uuid, handle.title, item_type)
            record = await trio.to_thread.run_sync(self._staging.commit, handle.staged, target)
            handle.journaled = True
            item = await self._upload_record(record)
            handle.dirty, handle.uploaded, handle.journaled = False, item, False
            return item

    @asynccontextmanager
    async def _busy(self) -> AsyncIterator[None]:
        """Counts an upload from its start until the handle knows the outcome (see wait_idle)."""
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            async with self._idle:
                self._idle.notify_all()

    async def _upload_record(self, record: PendingUpload) -> StorageItem:
        link = self._upload_link(record)
        try:
            item = await self._storage.upload_file(record.folder_uuid, link, record.title, record.item_type)
        except StorageError as exc:
            log.error("upload of %r failed, kept in the pending area for a retry: %s", record.title, exc)
            await trio.to_thread.run_sync(self._staging.failed, record, str(exc))
            raise
        finally:
            link.unlink(missing_ok=True)
        await trio.to_thread.run_sync(self._staging.done, record)
        log.info("uploaded %r (%d bytes) as %s %s", record.title, record.size, record.item_type.value, item.uuid)
        return item

    def _upload_link(self, record: PendingUpload) -> Path:
        """A hard link to the staged data whose extension says its type: the client guesses the
        upload Content-Type from the path's name, and staged files (and temp names) have none."""
        ext = mimetypes.guess_extension(filetypes.mime_type(record.item_type, record.title)) or ""
        link = self._links / f"{record.id}{ext}"
        link.unlink(missing_ok=True)
        os.link(self._staging.data_path(record), link)
        return link

    async def replay_pending(self, skip: set[str] = frozenset()) -> int:
        """Retry the journaled uploads (from this or an earlier mount); how many succeeded."""
        done = 0
        for record in await trio.to_thread.run_sync(self._staging.pending):
            if record.id in skip:
                continue
            try:
                async with self._busy():
                    await self._upload_record(record)
                done += 1
            except StorageError:
                continue
        return done

    def discard(self, handle: WriteHandle) -> None:
        self._staging.discard(handle.staged)

    async def wait_idle(self) -> None:
        async with self._idle:
            while self.in_flight:
                await self._idle.wait()


def _copy_fd(source: int, target: int) -> None:
    with open(source, "rb", closefd=False) as src, open(target, "wb", closefd=False) as dst:
        src.seek(0)
        shutil.copyfileobj(src, dst)


def refuse_unstorable_name(name: str) -> None:
    """At create/rename: refuse names that say Encord cannot store them (not temp names)."""
    verdict, _ = filetypes.judge_name(name)
    if verdict is filetypes.NameVerdict.UNSTORABLE:
        log.warning("refusing to create %r: Encord storage cannot hold this type of file", name)
        raise FsError(errno.ENOTSUP, f"{name!r}: Encord storage cannot hold this type of file")
