"""Files being written, for ``core.Filesystem`` (a mixin: the shared state lives there).

Each file with local content has one ``PendingFile`` (``upload_state``), which says what may
happen; this module does the I/O around its transitions: opens and writes go to the working copy,
close() journals it (``Uploader.commit``), the last close starts its upload in the background (at
most one per file at a time), and landing applies what the user did meanwhile (renames, moves,
deletes, newer versions). Failures are kept in the state and the journal, and retried with backoff
only when they are transient.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Awaitable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TypeVar
from uuid import UUID

import trio

from encordfs.fs import names
from encordfs.fs.attrs import Attrs
from encordfs.fs.base import FsBase
from encordfs.fs.errors import FsError, errno_for
from encordfs.fs.filetypes import is_temporary_name, judge_name
from encordfs.fs.inodes import ROOT_INO, Kind, Node
from encordfs.fs.local_names import is_local_only
from encordfs.fs.locations import refuse_private_write
from encordfs.fs.options import UploadMode
from encordfs.fs.staging import NotPending, PendingUpload, StagedFile, StagingFull
from encordfs.fs.upload_state import Failed, Gone, Journaled, Landed, Local, PendingFile, Phase, Target, Uploading, Working
from encordfs.fs.writer import is_transient, refuse_unstorable_name
from encordfs.storage.errors import StorageError
from encordfs.wire.enums import StorageItemType
from encordfs.wire.models import StorageItem

log = logging.getLogger(__name__)

T = TypeVar("T")

TEMP_NAME_GRACE = 0.2  # seconds a closed temp-named file waits for its rename before uploading
UNLINKED_UPLOAD_WAIT = 30.0  # rmdir waits this long for uploads of files deleted from the folder


@dataclass(eq=False)
class WriteFd:
    """An open of a file that may write (every open shares the file's ``PendingFile``)."""

    file: PendingFile


@dataclass(eq=False)
class PendingReader:
    """A read-only open of a file with local content: reads the local bytes, or the item once the
    upload has landed and nothing local is left."""

    file: PendingFile
    uploaded: object | None = None  # a Reader of the landed item (files.py makes it)


class WriteOps(FsBase):
    """create, write, flush, fsync and release of writers; the uploads and their landing."""

    # --- the registry of files with local content ------------------------------------------------

    def _track(self, file: PendingFile) -> PendingFile:
        self._files[file.node.ino] = file
        self._local.setdefault(file.target.folder, {})[names.escape(file.target.title)] = file
        return file

    def _untrack(self, file: PendingFile) -> None:
        if self._files.get(file.node.ino) is file:
            del self._files[file.node.ino]
        self._unindex(file)

    def _unindex(self, file: PendingFile) -> None:
        entries = self._local.get(file.target.folder, {})
        name = names.escape(file.target.title)
        if entries.get(name) is file:
            del entries[name]
            if not entries:
                del self._local[file.target.folder]

    def _local_entries(self, dir_node: Node) -> Iterator[tuple[str, PendingFile]]:
        """The files listed in a directory from local state (written, not on the server yet)."""
        if dir_node.uuid is None:
            return
        for name, file in list(self._local.get(dir_node.uuid, {}).items()):
            if file.listed:
                if file.node.parent == 0:  # restored from the journal before its folder was seen
                    file.node.parent = dir_node.ino
                yield name, file

    def _local_entry(self, dir_node: Node, name: str) -> PendingFile | None:
        if dir_node.uuid is None:
            return None
        file = self._local.get(dir_node.uuid, {}).get(name)
        if file is None or not file.listed:
            return None
        if file.node.parent == 0:
            file.node.parent = dir_node.ino
        return file

    def _shadowed(self, node: Node) -> bool:
        """The node's server item is an older version of a file listed from local state (under
        its target name, which may differ): the server's entry must not show as well."""
        file = self._files.get(node.ino)
        return file is not None and file.listed

    def pending_size(self, file: PendingFile) -> int:
        if file.working is not None:
            return file.working.staged.size()
        newest = file.newest
        if newest is not None:
            return newest.size
        if file.data is not None and not file.data.closed:
            return file.data.size()
        state = file.state
        if isinstance(state, Landed) and state.item.file_size is not None:
            return state.item.file_size
        record = file.node.record
        return record.file_size if record is not None and record.file_size is not None else 0

    # --- opening and writing ------------------------------------------------------------------------

    async def create(self, parent: int, name: str, flags: int) -> tuple[int, Attrs]:
        dir_node = self._dir(parent)
        self._writable(dir_node)
        title = self._new_title(name)
        refuse_unstorable_name(name)
        folder = self._folder_uuid(dir_node)
        if folder is None:
            raise FsError(errno.EPERM, "files must live in a folder, not at the storage root")
        existing = await self._resolve(dir_node, name)
        if existing is not None:
            await self._loaded(existing)
            if flags & os.O_EXCL:
                raise FsError(errno.EEXIST)
            if existing.kind.is_dir:
                raise FsError(errno.EISDIR)
            handle = await self._open_for_write(existing, truncate=bool(flags & os.O_TRUNC))
            existing.lookups += 1
            return self._add_handle(handle), await self._attrs(existing)
        node = self.inodes.new_pending(parent)
        file = self._track(
            PendingFile(
                node,
                Target(folder, title),
                working=Working(self.uploader.new_staged()),
                metadata=self._renamed_away.pop((folder, title), None),
            )
        )
        file.mtime_ns = time.time_ns()
        file.writers += 1
        self._prepare_upload(folder, name)
        self._added(parent, name, node)
        node.lookups += 1
        return self._add_handle(WriteFd(file)), await self._attrs(node)

    def _prepare_upload(self, folder: UUID, name: str) -> None:
        """A new file whose name says its type: its upload slot is reserved while it is written."""
        _verdict, item_type = judge_name(name)
        if item_type is not None:
            self._require_nursery().start_soon(self._hint_upload, folder, item_type)

    async def _hint_upload(self, folder: UUID, item_type: StorageItemType) -> None:
        try:
            await self.storage.prepare_upload(folder, item_type)
        except StorageError as exc:  # only a head start: the upload reserves its own slot
            log.debug("reserving an upload slot ahead failed: %s", exc)

    async def _open_for_write(self, node: Node, *, truncate: bool) -> WriteFd:
        self._writable(node)
        file = self._files.get(node.ino)
        if file is None or isinstance(file.state, Gone):
            assert node.item is not None, node
            refuse_private_write(node.item, self.options.allow_private_data_copy)
            await self._may_drop(node, "overwrite")
            item = node.item
            file = self._track(PendingFile(node, Target(item.parent, item.name), state=Landed(item), replaces=item.uuid))
        if isinstance(file.state, Landed):  # its next version carries the item's metadata over
            file.metadata = file.state.item.client_metadata
        file.writers += 1
        if truncate:
            try:
                async with file.lock:
                    working = await self._working_copy(file, keep_content=False)
                    working.staged.truncate(0)
                    working.dirty = True
                    file.mtime_ns = time.time_ns()
            except BaseException:
                file.writers -= 1
                self._settle(file)
                raise
        return WriteFd(file)

    async def _working_copy(self, file: PendingFile, *, keep_content: bool) -> Working:
        """The staged file writes go to (under the file's lock): made on the first change, holding
        the newest version's bytes (journaled, or the item's) unless it is truncated anyway."""
        if file.working is not None:
            return file.working
        staged = self.uploader.new_staged()
        try:
            if keep_content:
                source = file.newest or (file.state.item if isinstance(file.state, Landed) else file.node.item)
                if source is not None:
                    await self.uploader.fill(staged, source)
        except BaseException:
            self.uploader.discard(staged)
            raise
        file.working = Working(staged, dirty=False)
        return file.working

    async def write(self, fh: int, offset: int, data: bytes) -> int:
        handle = self._handles[fh]
        if not isinstance(handle, WriteFd):
            raise FsError(errno.EBADF, "not open for writing")
        file = handle.file
        async with file.lock:
            working = await self._working_copy(file, keep_content=True)
            working.dirty = True
            file.mtime_ns = time.time_ns()
            try:
                return working.staged.pwrite(data, offset)
            except StagingFull as exc:
                working.lost = str(exc)  # close() must not journal a file with a hole in it
                raise

    async def _truncate_file(self, file: PendingFile, size: int) -> None:
        async with file.lock:
            working = await self._working_copy(file, keep_content=size > 0)
            working.staged.truncate(size)
            working.dirty = True
            file.mtime_ns = time.time_ns()

    async def _truncate_closed(self, node: Node, size: int) -> None:
        """``truncate -s N f`` of a closed file: stage the new version and journal it as a close
        would (a refusal is the caller's error); its upload follows."""
        handle = await self._open_for_write(node, truncate=size == 0)
        try:
            await self._truncate_file(handle.file, size)
            await self._commit(handle.file)
        finally:
            await self._release_writer(handle)

    async def _read_local(self, file: PendingFile, offset: int, size: int) -> bytes | None:
        """Bytes of the file's local content (the working copy, else the newest journaled
        version); None once nothing local is left (read the item)."""
        async with file.lock:
            if file.working is not None:
                return file.working.staged.pread(size, offset)
            data = self._newest_data(file)
            return None if data is None else data.pread(size, offset)

    def _newest_data(self, file: PendingFile) -> StagedFile | None:
        """An open fd of the newest journaled version's data (kept open: the journal may delete
        the file once its upload lands, and reads in flight must still see it)."""
        newest = file.newest
        if newest is None:  # landed, or unlinked: the bytes last opened are still the file's
            return file.data
        if file.data is not None and file.data.id == newest.id:
            return file.data
        if file.data is not None:
            file.data.close()
            file.data = None
        try:
            file.data = self.uploader.open_data(newest)
        except FileNotFoundError:
            return None
        return file.data

    # --- closing ------------------------------------------------------------------------------------

    async def flush(self, fh: int) -> None:
        """close(): journal what was written (durable from here on); refusals are close()'s
        errors. The upload runs in the background once the file's last writer is closed, or, with
        ``--upload-mode sync``, here: its failure is then close()'s error too."""
        handle = self._handles.get(fh)
        if not isinstance(handle, WriteFd):
            return
        await self._commit(handle.file)
        if self.options.upload_mode is UploadMode.SYNC:
            await self._upload_now(handle.file)

    async def fsync(self, fh: int) -> None:
        """fsync() of a file open for writing: journal it, upload it now and wait; the upload's
        failure is fsync's errno. (Read-only handles: nothing to do.)"""
        handle = self._handles.get(fh)
        if isinstance(handle, WriteFd):
            await self._commit(handle.file)
            await self._upload_now(handle.file)

    async def _commit(self, file: PendingFile) -> None:
        """Journal the working copy under the file's lock (concurrent closes commit once)."""
        async with file.lock:
            working = file.working
            if working is None or not working.dirty:
                return
            if isinstance(file.state, Gone) or self._local_only(file.target.title):
                working.dirty = False  # unlinked while open, or a scratch file: nothing of it is uploaded
                return
            if working.lost is not None:
                self._refused(file)
                raise FsError(errno.ENOSPC, f"{file.target.title!r} was not saved: {working.lost}")
            try:
                record = await self.uploader.commit(
                    working.staged,
                    file.target,
                    replaces=file.replaces,
                    supersedes=file.superseded_by_commit,
                    client_metadata=file.metadata,
                )
            except (FsError, StagingFull):
                self._refused(file)  # a new file leaves no entry behind; a rewrite is what it was
                raise
            if record is None:  # an empty media file: a placeholder until written
                working.dirty = False
                return
            file.committed(record)

    def _local_only(self, title: str) -> bool:
        return is_local_only(title, self.options.local_names)

    def _refused(self, file: PendingFile) -> None:
        """A refused commit drops the changes; a new file that held nothing else goes."""
        working = file.working
        gone = file.refused()
        if working is not None:
            self.uploader.discard(working.staged)
        if gone:
            self._removed(file.node.parent, names.escape(file.target.title), file.node)
        self.notifier.inode_changed(file.node.ino)  # its size (and bytes) are what they were before

    async def _release_writer(self, handle: WriteFd) -> None:
        file = handle.file
        file.writers -= 1
        if file.writers == 0:
            try:  # written after its last flush (a failure here cannot reach close())
                await self._commit(file)
            except (FsError, OSError) as exc:
                log.error("journaling %r at release failed: %s", file.target.title, exc)
            if is_temporary_name(file.target.title) and not self._draining:
                file.deferred(trio.current_time() + TEMP_NAME_GRACE)  # rsync and editors rename right after close
                self._kick_at(file, TEMP_NAME_GRACE)
            else:
                self._kick(file)
        self._settle(file)

    def _settle(self, file: PendingFile) -> None:
        """Forget a file once nothing has it open and nothing local is left."""
        if file.opens or not file.finished:
            return
        if file.data is not None:
            file.data.close()
            file.data = None
        self._untrack(file)

    # --- uploads ------------------------------------------------------------------------------------

    def _kick(self, file: PendingFile) -> None:
        """Start the file's upload if it may start now: journaled, due, and (unless shutting down)
        not open for writing. At most one upload per file runs; it picks up newer versions."""
        state = file.state
        if not isinstance(state, Journaled):
            return
        if not self._draining and (file.writers or state.retry_at > trio.current_time()):
            return
        record = file.begin_upload()
        self.uploader.in_flight += 1  # counted from now, so wait_idle cannot miss it
        self._require_nursery().start_soon(self._upload_task, file, record)

    def _kick_at(self, file: PendingFile, delay: float) -> None:
        """Kick the file after ``delay`` (a temp name's grace, a retry's backoff); counted as upload
        work meanwhile, so drain and ``wait_idle`` wait for a grace (not for a retry: drain kicks
        every file itself)."""
        counted = delay <= TEMP_NAME_GRACE
        if counted:
            self.uploader.in_flight += 1

        async def later() -> None:
            try:
                await trio.sleep(delay)
                self._kick(file)
            finally:
                if counted:
                    await self.uploader.settled()

        self._require_nursery().start_soon(later)

    async def _upload_task(self, file: PendingFile, record: PendingUpload | None) -> None:
        try:
            await self._upload(file)
        finally:
            await self.uploader.settled()

    async def _upload_now(self, file: PendingFile) -> None:
        """Upload the file's newest version now (even while open) and wait: for fsync and sync
        mode. A failure raises its errno; the file keeps its state (journaled or failed)."""
        while True:
            state = file.state
            if isinstance(state, Uploading):
                await file.upload_ended.wait()
                continue
            if isinstance(state, Failed):
                raise FsError(errno.EIO, f"upload of {file.target.title!r} failed: {state.reason}")
            if not isinstance(state, Journaled):
                return
            file.begin_upload()
            self.uploader.in_flight += 1
            try:
                error = await self._upload(file)
            finally:
                await self.uploader.settled()
            if error is not None:
                raise FsError(errno_for(error), f"upload of {file.target.title!r} failed: {error}") from error

    async def _upload(self, file: PendingFile) -> StorageError | None:
        """Upload the version in flight (the state is Uploading) and apply the outcome; the
        storage error when it failed."""
        try:
            async with file.lock:
                await self._retarget_in_flight(file)
            state = file.state
            assert isinstance(state, Uploading), state
            journaled, item = await self.uploader.upload(state.record, on_record=lambda r: self._slot_journaled(file, r))
        except StorageError as exc:
            self._unhide_slot(file)
            await self._upload_failed(file, exc, permanent=not is_transient(exc))
            return exc
        except (OSError, NotPending) as exc:  # the journal's disk, or the file was forgotten meanwhile
            self._unhide_slot(file)
            await self._upload_failed(file, StorageError(f"the journal: {exc}"), permanent=False)
            return None
        else:
            async with file.lock:
                await self._land(file, journaled, item)
            return None
        finally:
            file.ended_upload()
            self._kick(file)
            self._settle(file)

    def _slot_journaled(self, file: PendingFile, record: PendingUpload) -> None:
        """The upload's item-to-be is known: until it lands, a listing must not show it next to the
        file's local entry (a second entry of the same title)."""
        file.slot_journaled(record)
        if record.slot_uuid is not None:
            self._hidden[record.slot_uuid] = True

    async def _retarget_in_flight(self, file: PendingFile) -> None:
        """A rename before the upload really began: the record follows (no server call later)."""
        state = file.state
        if not isinstance(state, Uploading) or state.unlinked:
            return
        record = state.record
        if (record.folder_uuid, record.title) != (file.target.folder, file.target.title):
            file.slot_journaled(await self.uploader.retarget(record, file.target))

    def _unhide_slot(self, file: PendingFile) -> None:
        state = file.state
        if isinstance(state, Uploading) and state.record.slot_uuid is not None:
            self._hidden.pop(state.record.slot_uuid, None)

    async def _upload_failed(self, file: PendingFile, exc: StorageError, *, permanent: bool) -> None:
        async with file.lock:
            outcome = file.upload_failed(str(exc), permanent=permanent, limit=self.options.upload_retries)
            for record in outcome.discard:
                self.uploader.discard(record)
            if outcome.journal is not None:
                await self.uploader.update(outcome.journal)
        title = file.target.title
        if outcome.failed_for_good:
            log.warning("upload of %r failed for good, kept in the cache dir (see encordfs status; rm discards it): %s", title, exc)
        elif outcome.retry_in is not None:
            level = logging.WARNING if outcome.journal is not None and outcome.journal.attempts == 1 else logging.INFO
            log.log(level, "upload of %r failed (%s); retrying in %.0f s", title, exc, outcome.retry_in)
            self._kick_at(file, outcome.retry_in)

    async def _land(self, file: PendingFile, record: PendingUpload, item: StorageItem) -> None:
        """The server has the version in flight as ``item``: the journal forgets it, then what the
        user did meanwhile is applied (under the file's lock, so no rename or unlink interleaves)."""
        follow = file.follow_for(item)
        if follow is not None:  # first, while the file is still listed from local state and its item hidden
            followed = await self._quietly(
                f"move/rename the uploaded {record.title!r} to {follow.title!r}", self.uploader.follow(item, follow)
            )
            if isinstance(followed, StorageItem):
                item = followed
        landing = file.upload_landed(item)
        self._hidden.pop(item.uuid, None)
        if record.slot_uuid is not None:
            self._hidden.pop(record.slot_uuid, None)
        if landing.delete_item:
            await self.uploader.done(record)
            await self._quietly("delete the item of a file deleted while it uploaded", self.uploader.delete_item(item.parent, item.uuid))
            return
        self._bind(file, item)  # before any await: an open arriving now finds the item
        await self.uploader.done(record)
        if landing.replaced is not None:
            self._hidden[landing.replaced] = True  # from now on the file is its new item: the old one is not listed
            carried = await self._quietly(
                f"carry the metadata of the item {record.title!r} replaces over",
                self.uploader.carry_metadata(item, landing.replaced, record.client_metadata),
            )
            if isinstance(carried, StorageItem):
                item = file.node.item = carried
                file.followed(item)
            await self._quietly(f"delete the item {record.title!r} replaces", self.uploader.delete_item(item.parent, landing.replaced))
        if landing.next is not None:
            try:
                file.retargeted(await self.uploader.retarget(landing.next, file.target, replaces=item.uuid))
            except (OSError, NotPending) as exc:
                log.error("cannot point the next version of %r at the item it replaces: %s", file.target.title, exc)

    async def _quietly(self, doing: str, call: Awaitable[T]) -> T | StorageError:
        """A server call after an upload landed: the item exists, so a failure is logged (the
        upload must not be repeated), never raised."""
        try:
            return await call
        except StorageError as exc:
            log.warning("uploaded, but could not %s: %s", doing, exc)
            return exc

    def _bind(self, file: PendingFile, item: StorageItem) -> None:
        """The node stands for the uploaded item from now on (same inode number)."""
        node = file.node
        self.inodes.bind_uploaded(node, item)
        self.caches.mark_fresh(node.ino)
        if node.parent:
            self.caches.note_added(node.parent, names.escape(file.target.title), node.ino)
        self.notifier.inode_changed(node.ino)

    # --- namespace changes of files with local content -------------------------------------------------

    def _drop_local(self, file: PendingFile) -> None:
        """The user deleted a file with local content (under its lock; the caller deletes its
        server item, if any): drop its journaled versions; one in flight is deleted when it lands."""
        if file.opens:
            self._newest_data(file)  # open handles keep reading what was there
        for record in file.unlinked():
            self.uploader.discard(record)
        if file.working is not None and not file.writers:
            self.uploader.discard(file.working.staged)
            file.working = None
        self._unindex(file)

    async def _rename_local(self, file: PendingFile, target: Target) -> None:
        """Rename or move a file whose newest version is not on the server (under its lock): its
        journal record follows now, an upload in flight follows when it lands."""
        self._unindex(file)
        was_local_only = self._local_only(file.target.title)
        record = file.renamed(target)
        self._local.setdefault(target.folder, {})[names.escape(target.title)] = file
        if record is not None:
            file.retargeted(await self.uploader.retarget(record, target))
        if was_local_only and not self._local_only(target.title) and file.working is not None:
            file.working.dirty = True  # a scratch file renamed to a real name is uploaded like any file

    async def _after_rename(self, file: PendingFile) -> None:
        """Out of the lock: journal a scratch file that became a real one, and upload what may go."""
        if not file.writers:
            await self._commit(file)
        self._kick(file)

    async def _replace_on_landing(self, node: Node, target: Node) -> bool:
        """``rename(temp, f)`` of a file written here (rsync, ``sed -i``, GLib, an editor's save)
        onto a file the server has: the new version takes over the old item's metadata and deletes
        it once the new item exists, as an overwrite does, so ``f`` is never missing on the
        server. True if so (the caller leaves the old item); False when the new file has landed
        already or overwrites an item of its own (then the old item goes now)."""
        file = self._files.get(node.ino)
        item = target.item
        if file is None or item is None or target.kind is not Kind.FILE or target.ino in self._files:
            return False
        async with file.lock:
            state = file.state
            if not isinstance(state, (Journaled, Uploading)) or file.replaces is not None:
                return False
            file.replaces = item.uuid
            file.metadata = file.metadata or item.client_metadata
            newest = state.newer or state.record if isinstance(state, Uploading) else state.record
            record = await self.uploader.update(replace(newest, replaces=str(item.uuid), client_metadata=file.metadata))
            file.retargeted(record)  # a version waiting in the journal
            file.slot_journaled(record)  # the version in flight: its landing deletes the old item
        return True

    async def _wait_for_uploads_into(self, folder: UUID) -> None:
        """Before rmdir: uploads in flight into the folder of files deleted meanwhile delete their
        items when they land; wait for that (bounded) so the folder is really empty."""
        with trio.move_on_after(UNLINKED_UPLOAD_WAIT):
            while True:
                busy = [
                    f
                    for f in self._files.values()
                    if isinstance(f.state, Uploading) and folder in (f.state.record.folder_uuid, f.target.folder)
                ]
                if not busy:
                    return
                await busy[0].upload_ended.wait()

    # --- the journal at mount, retries, drain -----------------------------------------------------------

    async def resume_uploads(self) -> int:
        """At mount: every journaled file (an earlier mount's too) is listed in its folder,
        readable, and uploaded, except those that failed for good. How many were found."""
        records = await trio.to_thread.run_sync(self.uploader.pending)
        known = {r.id for f in self._files.values() for r in (f.newest,) if r is not None}
        found = 0
        for record in records:
            if record.id in known:
                continue
            found += 1
            node = self._restored_node(record)
            state = Failed(record, record.failure) if record.failure else Journaled(record)
            file = self._track(PendingFile(node, Target(record.folder_uuid, record.title), state=state, replaces=record.replaced_item))
            self._kick(file)
        return found

    def _restored_node(self, record: PendingUpload) -> Node:
        """The inode of a journaled file: the item it overwrites (so that item's entry is shadowed)
        or a new local one; its directory is found when its folder is first looked at."""
        if record.replaced_item is not None:
            return self.inodes.for_uuid(record.replaced_item, Kind.FILE)
        return self.inodes.new_pending(0)

    async def retry_uploads(self, files: Iterable[PendingFile] | None = None) -> int:
        """Upload now every file (of ``files``) waiting for a retry or failed for good
        (``encordfs sync --retry``); how many were sent back."""
        count = 0
        for file in list(self._files.values() if files is None else files):
            async with file.lock:
                record = file.retry()
                if record is None:
                    continue
                file.retargeted(await self.uploader.update(record))
            count += 1
            self._kick(file)
        return count

    async def drain(self) -> None:
        """Before terminating (unmount, SIGINT/SIGTERM): journal what files still open hold, then
        wait for every upload that may run; what fails stays journaled for the next mount."""
        self._draining = True
        for file in list(self._files.values()):
            if file.working is not None and file.working.dirty:
                log.warning("%r is still open at shutdown: uploading what was written", file.target.title)
                try:
                    await self._commit(file)
                except (FsError, OSError) as exc:
                    log.error("journaling %r at shutdown failed: %s", file.target.title, exc)
            if not isinstance(file.state, Journaled) or not file.state.last_error:
                self._kick(file)  # one waiting for a retry after a failure waits for the next mount
        await self.uploader.wait_idle()

    # --- what status and sync report ----------------------------------------------------------------------

    def uploads_under(self, node: Node) -> list[PendingFile]:
        """Files under ``node`` (a directory, or one file) whose upload has not landed: journaled,
        uploading, waiting for a retry, or failed (for ``encordfs sync``)."""
        waiting = (f for f in self._files.values() if f.phase not in (Phase.LANDED, Phase.GONE, Phase.LOCAL))
        if not node.kind.is_dir:
            return [f for f in waiting if f.node is node]
        return [f for f in waiting if self._folder_within(f.target.folder, node)]

    def _folder_within(self, folder: UUID, ancestor: Node) -> bool:
        if ancestor.ino == ROOT_INO:
            return True
        node = self.inodes.by_key(folder)
        while node is not None and node.ino != ROOT_INO:
            if node.ino == ancestor.ino:
                return True
            node = self.inodes.get(node.parent)
        return False

    def mount_path(self, file: PendingFile) -> str:
        """The file's path in the mount as ``ls`` would show it (the folder's UUID stands in for
        a folder this mount has not seen yet)."""
        parts = [names.escape(file.target.title)]
        node = self.inodes.by_key(file.target.folder)
        if node is None:
            return f"{file.target.folder}/{parts[0]}"
        while node.ino != ROOT_INO:
            parts.append(names.escape(node.title))
            parent = self.inodes.get(node.parent)
            if parent is None or parent is node:
                break
            node = parent
        return "/".join(reversed(parts))

    async def _upload_landed(self, node: Node) -> None:
        """Wait for the upload of a closed file, in flight or about to start (its xattrs then name
        the server's item). A file waiting for a retry, or failed, does not wait."""
        file = self._files.get(node.ino)
        while file is not None and file.upload_coming:
            await file.upload_ended.wait()


__all__ = ["TEMP_NAME_GRACE", "Local", "PendingReader", "WriteFd", "WriteOps"]
