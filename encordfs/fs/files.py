"""Open files for ``core.Filesystem`` (a mixin: the state and helpers live there): readers with
read-ahead, staged writers uploaded at close, and the drain at shutdown.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass
from typing import Hashable
from uuid import UUID

import trio

from encordfs.fs.attrs import Attrs
from encordfs.fs.errors import FsError
from encordfs.fs.inodes import Kind, Node
from encordfs.fs.listing import Listing
from encordfs.fs.prefetch import URLS_AHEAD, FolderPrefetch, Sibling
from encordfs.fs.reader import Reader
from encordfs.fs.recent_reads import RecentReads
from encordfs.fs.filetypes import UnsupportedType, is_temporary_name, judge_name
from encordfs.fs.options import MountOptions, UploadMode
from encordfs.fs.staging import NotPending, PendingUpload
from encordfs.fs.writer import Uploader, WriteHandle, refuse_unstorable_name
from encordfs.storage.errors import StorageError
from encordfs.storage.interface import Storage
from encordfs.wire.enums import StorageItemType
from encordfs.wire.models import StorageItem

log = logging.getLogger(__name__)

TEMP_NAME_GRACE = 0.2  # seconds a closed temp-named file waits for its rename before uploading


@dataclass
class StagedReader:
    """A read-only open of a file still being written: reads the staged bytes, never uploads.
    If the upload lands and the staged file goes while it is open, it reads the uploaded item."""

    writer: WriteHandle
    uploaded: Reader | None = None


Handle = Listing | Reader | WriteHandle | StagedReader


class FileOps:
    """open, create, read, write, fsync, flush, release; retries and the shutdown drain."""

    storage: Storage
    options: MountOptions
    uploader: Uploader
    _handles: dict[int, Handle]
    _writers: dict[int, WriteHandle]
    _pending: dict[int, dict[str, Node]]
    _nursery: trio.Nursery | None
    _uploading: set[WriteHandle]  # handles whose background upload task runs
    _prefetch: FolderPrefetch
    _recent_reads: RecentReads
    _draining = False  # shutting down: upload even what files still open hold

    async def open(self, ino: int, flags: int) -> tuple[int, bool]:
        """A file handle and whether the kernel may keep its page cache for the file."""
        node = await self._loaded(self._node(ino))
        if node.kind.is_dir:
            raise FsError(errno.EISDIR)
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_TRUNC | os.O_APPEND):
            return self._add_handle(await self._open_for_write(node, truncate=bool(flags & os.O_TRUNC))), False
        writer = self._writers.get(ino)
        if writer is not None and writer.landed_and_gone:  # its upload just landed: read the item
            writer = None
        if writer is not None or node.item is None:
            if writer is None:
                raise FsError(errno.ENOENT, "not uploaded")
            return self._add_handle(StagedReader(writer)), False
        if not self.caches.is_fresh(ino):
            await self._refresh(node)
        changed = node.extra.pop("changed", False)
        return self._add_handle(self._item_reader(node.item, await self._size(node), node)), not changed

    def _require_nursery(self) -> trio.Nursery:
        if self._nursery is None:
            raise RuntimeError("Filesystem.start(nursery) was not called")
        return self._nursery

    async def _open_for_write(self, node: Node, *, truncate: bool) -> WriteHandle:
        self._writable(node)
        existing = self._writers.get(node.ino)
        if existing is not None:
            existing.dropped = False
            if truncate:
                async with existing.lock:
                    await self.uploader.ensure_writable(existing, keep_content=False)
                    existing.staged.truncate(0)
                    existing.dirty = True
            return existing
        if node.kind is Kind.PENDING:  # an empty placeholder (see Uploader.upload)
            folder, title = node.extra["target"]
            handle = self.uploader.new_handle(node, folder, title)
            self._writers[node.ino] = handle
            return handle
        assert node.item is not None
        await self._may_drop(node, "overwrite")
        handle = self.uploader.new_handle(node, node.item.parent, node.item.name)
        if not truncate:
            try:
                await self._copy_content(node, handle)
            except BaseException:
                self.uploader.discard(handle)
                raise
            handle.dirty = False
        self._writers[node.ino] = handle
        return handle

    async def _copy_content(self, node: Node, handle: WriteHandle) -> None:
        """Opening to modify in place (no O_TRUNC): start from the current content."""
        assert node.item is not None
        size, offset = await self._size(node), 0
        while offset < size:
            data = await self.storage.read_range(node.item, offset, min(8 << 20, size - offset))
            if not data:
                break
            handle.staged.pwrite(data, offset)
            offset += len(data)

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
        node.extra["target"] = (folder, title)
        handle = self.uploader.new_handle(node, folder, title)
        self._writers[node.ino] = handle
        self._prepare_upload(folder, name)
        self._pending.setdefault(parent, {})[name] = node
        self._added(parent, name, node)
        node.lookups += 1
        return self._add_handle(handle), await self._attrs(node)

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

    async def read(self, fh: int, offset: int, size: int) -> bytes | memoryview:
        """A view of a cached chunk when the read lies within one (pyfuse3 takes any buffer)."""
        handle = self._handles[fh]
        if isinstance(handle, StagedReader):
            return await self._read_staged(handle, offset, size)
        if isinstance(handle, WriteHandle):
            async with handle.lock:  # a commit may be closing the staged fd in a worker thread
                self.uploader.reopen(handle)
                return handle.staged.pread(size, offset)
        assert isinstance(handle, Reader)
        return await handle.read(offset, size)

    async def _read_staged(self, handle: StagedReader, offset: int, size: int) -> bytes | memoryview:
        writer = handle.writer
        if handle.uploaded is None:
            async with writer.lock:
                if not writer.staged.closed or writer.uploaded_item is None:
                    self.uploader.reopen(writer)
                    return writer.staged.pread(size, offset)
            item = writer.uploaded_item  # the journal may be deleting the staged file right now
            handle.uploaded = self._item_reader(item, await self._item_size(item))
        return await handle.uploaded.read(offset, size)

    def _item_reader(self, item: StorageItem, size: int, node: Node | None = None) -> Reader:
        """A reader of the item. For a file of a folder (``node``), its first GET tells
        ``FolderPrefetch`` a file of the folder is being read (it may fetch the next ones) and is
        skipped when the file's bytes were fetched ahead. An open alone starts nothing: tools open
        files they never read, and the page cache answers reads of files read before."""

        async def fetch(offset: int, length: int) -> bytes:
            if offset == 0 and node is not None:
                key = self._reading_in_folder(node, size)
                if key is not None:
                    data = await self._prefetch.take(key)
                    if data is not None and len(data) >= length:
                        return data[:length]
                    await self._sign_ahead(node)
            return await self._recent_reads.read((item.uuid, item.last_edited_at, size), offset, length, get)

        async def get(offset: int, length: int) -> bytes:
            return await self.storage.read_range(item, offset, length)

        return Reader(fetch, size, self._require_nursery())

    def _reading_in_folder(self, node: Node, size: int) -> Hashable | None:
        """Tell ``FolderPrefetch`` a file of a listed folder is being read; the key its own bytes
        may have been fetched ahead under."""
        listing = self.caches.listing(node.parent)
        if listing is None or node.kind is not Kind.FILE or node.record is None:
            return None
        self._prefetch.read_started(node.parent, listing, node.ino, self._sibling)
        return (node.record.uuid, size, node.record.edited_ns)

    async def _sign_ahead(self, node: Node) -> None:
        """The file's download URL, with those of the next files of its folder when it must be
        fetched (a folder listed by ``ls`` came without URLs): one request per ``URLS_AHEAD``
        files instead of an item call before each file's GET."""
        listing = self.caches.listing(node.parent)
        if listing is None or node.record is None:
            return
        following = map(self.inodes.get, self._prefetch.following(node.parent, listing, node.ino, URLS_AHEAD))
        neighbours = (n.record.uuid for n in following if n is not None and n.kind is Kind.FILE and n.record is not None)
        await self.storage.sign_ahead(node.record.uuid, neighbours)  # read only when the URL must be fetched

    def _sibling(self, ino: int) -> Sibling | None:
        node = self.inodes.get(ino)
        if node is None or node.kind is not Kind.FILE or node.record is None or ino in self._writers:
            return None
        record, item = node.record, node.item
        size = record.file_size
        if not size or item is None:
            return None

        async def fetch() -> bytes:
            await self._sign_ahead(node)
            return await self.storage.read_range(item, 0, size)

        return Sibling((record.uuid, size, record.edited_ns), size, fetch)

    async def _item_size(self, item: StorageItem) -> int:
        return item.file_size if item.file_size is not None else await self.storage.content_length(item)

    async def write(self, fh: int, offset: int, data: bytes) -> int:
        handle = self._handles[fh]
        if not isinstance(handle, WriteHandle):
            raise FsError(errno.EBADF, "not open for writing")
        async with handle.lock:
            await self.uploader.ensure_writable(handle)
            handle.dirty = True
            return handle.staged.pwrite(data, offset)

    async def fsync(self, fh: int) -> None:
        """The bytes are made durable in the staging area; the upload still happens at close."""
        handle = self._handles.get(fh)
        if isinstance(handle, WriteHandle) and not handle.staged.closed:
            await trio.to_thread.run_sync(os.fsync, handle.staged.fd)

    async def flush(self, fh: int) -> None:
        """close(): journal what was written (durable from here on); refusals are close()'s
        errors. The upload runs in the background once the file's last fd is closed, or, with
        ``--upload-mode sync``, here: its failure is then close()'s error too."""
        handle = self._handles.get(fh)
        if not isinstance(handle, WriteHandle):
            return
        if handle.dirty:
            await self._commit(handle)
        if self.options.upload_mode is UploadMode.SYNC:
            await self._upload_at_close(handle)

    async def _upload_at_close(self, handle: WriteHandle) -> None:
        """Upload the handle's journaled file now and wait for it (concurrent closers still share
        their API requests); a StorageError escapes to close(), the file stays journaled for the
        periodic retry. A background upload of the file in flight (a retry) is waited for first."""
        while handle in self._uploading and handle.landed is not None:
            await handle.landed.wait()
        if handle.record is None or handle.dropped:
            return
        self._uploading.add(handle)
        handle.landed = trio.Event()
        self.uploader.expect()
        try:
            while await self._upload_next(handle, at_close=True):
                pass
        finally:
            self._uploading.discard(handle)
            handle.landed.set()
            await self.uploader.settled()

    async def _commit(self, handle: WriteHandle) -> None:
        """Journal under the handle's lock: concurrent closes commit once, writes wait."""
        async with handle.lock:
            if not handle.dirty:
                return
            if handle.dropped:  # unlinked while open: nothing of it is uploaded any more
                handle.dirty = False
                return
            replaces = handle.node.item.uuid if handle.node.item is not None and handle.uploading is None else None
            try:
                await self.uploader.commit(handle, replaces)
            except FsError:
                self._forget_pending(handle.node.parent, self._pending_name(handle.node), handle)
                raise

    def _schedule_upload(self, handle: WriteHandle) -> None:
        """Upload the handle's journaled file in the background (once: a running task picks up
        later commits itself)."""
        if handle.record is None or handle in self._uploading:
            return
        self._uploading.add(handle)
        handle.landed = trio.Event()
        self.uploader.expect()
        self._require_nursery().start_soon(self._upload_task, handle)

    async def _upload_task(self, handle: WriteHandle) -> None:
        try:
            if is_temporary_name(handle.title) and not self._draining:
                await trio.sleep(TEMP_NAME_GRACE)  # rsync and editors rename right after close
            while await self._upload_next(handle):
                pass
        except OSError as exc:  # the journal's disk: the record stays for the next try
            log.error("upload of %r stopped: %s", handle.title, exc)
        finally:
            self._uploading.discard(handle)
            assert handle.landed is not None
            handle.landed.set()
            self._settle_writer(handle)
            await self.uploader.settled()

    async def _upload_landed(self, node: Node) -> None:
        """Wait for the background upload of a closed file (its xattrs name the server's item;
        a hook for ``getxattr``/``listxattr``). A failed upload does not wait for its retry."""
        writer = self._writers.get(node.ino)
        if writer is not None and writer in self._uploading and writer.landed is not None:
            await writer.landed.wait()

    async def _upload_next(self, handle: WriteHandle, *, at_close: bool = False) -> bool:
        """Upload the handle's latest record; whether there may be more to do. ``at_close``
        (sync mode): upload although the file is open, and let a failure escape."""
        async with handle.lock:
            record = handle.record
            if record is None or handle.dropped or (self._open_for_writing(handle) and not (self._draining or at_close)):
                return False
            replaces = handle.node.item.uuid if handle.node.item is not None else None
            try:
                record = handle.record = await self.uploader.retarget(record, handle.folder_uuid, handle.title, replaces)
            except (UnsupportedType, NotPending) as exc:
                log.error("cannot upload %r as it is now: %s", handle.title, exc)
                return False
            handle.uploading = record
        try:
            item = await self.uploader.upload(record)
        except StorageError:
            handle.uploading, handle.failed = None, True
            if at_close:
                raise
            return False  # journaled: retry_pending tries again
        async with handle.lock:
            handle.uploading = None
            await self._uploaded(handle, record, item)
        return True

    async def _uploaded(self, handle: WriteHandle, record: PendingUpload, item: StorageItem) -> None:
        """The server has the file: the journal forgets it, the node stands for the new item, the
        item it replaced goes. A failure after the upload is logged (the item exists: retrying
        the upload would make a second one)."""
        handle.uploaded_item, handle.uploaded_from = item, record.id
        if handle.record is record and self._is_open(handle):
            self.uploader.reopen(handle)  # open readers keep the bytes once the staged file is gone
        await self.uploader.done(record)
        if handle.record is record:
            handle.record = None
        node = handle.node
        try:
            if handle.dropped:  # unlinked while uploading
                await self.uploader.delete_replaced(item.parent, item.uuid)
                return
            if (item.parent, item.name) != (handle.folder_uuid, handle.title):  # renamed while uploading
                if item.parent != handle.folder_uuid:
                    await self.storage.move_items(item.parent, [item.uuid], handle.folder_uuid)
                item = await self.storage.update_item(item, name=handle.title)
        except StorageError as exc:
            log.error("uploaded %r, then could not follow its rename or deletion: %s", record.title, exc)
        replaced = node.item  # what this file was before: the item overwritten, or our last upload
        dir_ino, name = node.parent, self._pending_name(node)
        self.inodes.bind_uploaded(node, item)
        if name is not None:
            self._pending.get(dir_ino, {}).pop(name, None)
        self.caches.mark_fresh(node.ino)
        if name is not None:
            self.caches.note_added(dir_ino, name, node.ino)
        self.notifier.inode_changed(node.ino)
        if replaced is not None and replaced.uuid != item.uuid:
            try:
                await self.uploader.delete_replaced(replaced.parent, replaced.uuid)
            except StorageError as exc:
                log.error("uploaded %r, but the item it replaces (%s) could not be deleted: %s", record.title, replaced.uuid, exc)

    def _open_for_writing(self, handle: WriteHandle) -> bool:
        """An fd may still write: the upload waits for its release (readers do not hold it up)."""
        return handle in self._handles.values()

    def _is_open(self, handle: WriteHandle) -> bool:
        return any(h is handle or (isinstance(h, StagedReader) and h.writer is handle) for h in self._handles.values())

    def _settle_writer(self, handle: WriteHandle) -> None:
        """Once nothing has the file open and nothing is left to upload, forget its staged file;
        a file whose upload failed stays (listed, readable) until a retry succeeds."""
        if self._is_open(handle) or handle in self._uploading:
            return
        if handle.record is not None:
            if handle.frozen:
                handle.staged.close()  # thousands of files may wait for their upload: no fd each
            return
        if self._writers.get(handle.node.ino) is handle:
            del self._writers[handle.node.ino]
        self.uploader.discard(handle)
        name = self._pending_name(handle.node)
        if name is not None and handle.node.kind is Kind.PENDING and handle.dropped:
            self._pending[handle.node.parent].pop(name, None)

    def _drop_writes(self, node: Node) -> None:
        """The file was unlinked: nothing it holds is uploaded any more, and what an upload in
        flight makes is deleted when it lands (a hook for ``unlink``)."""
        writer = self._writers.get(node.ino)
        if writer is None:
            return
        writer.dirty, writer.dropped = False, True
        if writer.record is not None and writer.record is not writer.uploading:
            self.uploader.discard_record(writer.record)
            writer.record = None
        self._settle_writer(writer)

    def _pending_name(self, node: Node) -> str | None:
        for name, pending in self._pending.get(node.parent, {}).items():
            if pending is node:
                return name
        return None

    def _forget_pending(self, dir_ino: int, name: str | None, handle: WriteHandle) -> None:
        """A refused type leaves nothing half-made: the entry goes, the staged bytes with it."""
        handle.dirty = False
        if name is not None and handle.node.kind is Kind.PENDING:
            self._pending.get(dir_ino, {}).pop(name, None)
            self._removed(dir_ino, name, handle.node)

    async def release(self, fh: int) -> None:
        handle = self._handles.pop(fh, None)
        if isinstance(handle, Reader):
            handle.close()
            return
        if isinstance(handle, StagedReader):
            if handle.uploaded is not None:
                handle.uploaded.close()
            self._settle_writer(handle.writer)
            return
        if not isinstance(handle, WriteHandle) or self._open_for_writing(handle):
            return
        if handle.dirty:  # written after its last flush (a failure here cannot reach close())
            try:
                await self._commit(handle)
            except (FsError, OSError) as exc:
                log.error("journaling %r at release failed: %s", handle.title, exc)
        if not handle.failed:  # failed at close (sync mode): the periodic retry takes it
            self._schedule_upload(handle)
        self._settle_writer(handle)

    async def retry_pending(self, every: float) -> None:
        """Retry failed uploads (and those left by an earlier mount) now and every ``every`` seconds."""
        while True:
            try:
                await self.retry_uploads()
            except Exception:  # a broken journal must not take the mount down; say so and go on
                log.exception("retrying pending uploads failed")
            await trio.sleep(every)

    async def retry_uploads(self) -> None:
        """One round of retries: files of this mount whose upload failed go back to the background
        uploads; journaled files no file here holds (an earlier mount's) are uploaded now."""
        for handle in list(self._writers.values()):
            if not self._open_for_writing(handle):
                handle.failed = False
                self._schedule_upload(handle)
        busy = {h.record.id for h in self._writers.values() if h.record is not None}
        if await self.uploader.replay_pending(skip=busy):
            self.caches.listings.clear()

    async def drain(self) -> None:
        """Before terminating (unmount, SIGINT/SIGTERM): journal what files still open hold, then
        wait for every upload; what fails stays journaled for the next mount."""
        self._draining = True
        for handle in list(self._writers.values()):
            if handle.dirty:
                log.warning("%r is still open at shutdown: uploading what was written", handle.title)
                try:
                    await self._commit(handle)
                except (FsError, OSError) as exc:
                    log.error("journaling %r at shutdown failed: %s", handle.title, exc)
            if not handle.failed:  # a failed one waits for the next mount, not for its retries here
                self._schedule_upload(handle)
        await self.uploader.wait_idle()
