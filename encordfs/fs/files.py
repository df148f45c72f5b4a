"""Open files for ``core.Filesystem`` (a mixin: the state and helpers live there): readers with
read-ahead, staged writers uploaded at close, and the drain at shutdown.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass

import trio

from encordfs.fs.attrs import Attrs
from encordfs.fs.errors import FsError
from encordfs.fs.inodes import Kind, Node
from encordfs.fs.listing import Listing
from encordfs.fs.reader import Reader
from encordfs.fs.writer import Uploader, WriteHandle, refuse_unstorable_name
from encordfs.storage.errors import StorageError
from encordfs.storage.interface import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagedReader:
    """A read-only open of a file still being written: reads the staged bytes, never uploads."""

    writer: WriteHandle


Handle = Listing | Reader | WriteHandle | StagedReader


class FileOps:
    """open, create, read, write, fsync, flush, release; retries and the shutdown drain."""

    storage: Storage
    uploader: Uploader
    _handles: dict[int, Handle]
    _writers: dict[int, WriteHandle]
    _pending: dict[int, dict[str, Node]]
    _nursery: trio.Nursery | None

    async def open(self, ino: int, flags: int) -> tuple[int, bool]:
        """A file handle and whether the kernel may keep its page cache for the file."""
        node = await self._loaded(self._node(ino))
        if node.kind.is_dir:
            raise FsError(errno.EISDIR)
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_TRUNC | os.O_APPEND):
            return self._add_handle(await self._open_for_write(node, truncate=bool(flags & os.O_TRUNC))), False
        writer = self._writers.get(ino)
        if writer is not None or node.item is None:
            if writer is None:
                raise FsError(errno.ENOENT, "not uploaded")
            return self._add_handle(StagedReader(writer)), False
        if not self.caches.is_fresh(ino):
            await self._refresh(node)
        changed = node.extra.pop("changed", False)
        item = node.item
        reader = Reader(lambda off, n: self.storage.read_range(item, off, n), await self._size(node), self._require_nursery())
        return self._add_handle(reader), not changed

    def _require_nursery(self) -> trio.Nursery:
        if self._nursery is None:
            raise RuntimeError("Filesystem.start(nursery) was not called")
        return self._nursery

    async def _open_for_write(self, node: Node, *, truncate: bool) -> WriteHandle:
        self._writable(node)
        existing = self._writers.get(node.ino)
        if existing is not None:
            if truncate:
                async with existing.lock:
                    await self.uploader.ensure_writable(existing)
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
        self._pending.setdefault(parent, {})[name] = node
        self._added(parent, name, node)
        node.lookups += 1
        return self._add_handle(handle), await self._attrs(node)

    async def read(self, fh: int, offset: int, size: int) -> bytes:
        handle = self._handles[fh]
        if isinstance(handle, StagedReader):
            handle = handle.writer
        if isinstance(handle, WriteHandle):
            return handle.staged.pread(size, offset)
        assert isinstance(handle, Reader)
        return await handle.read(offset, size)

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
        """close(): upload what was written; its failure is close()'s."""
        handle = self._handles.get(fh)
        if isinstance(handle, WriteHandle) and handle.dirty:
            await self._upload(handle)

    async def _upload(self, handle: WriteHandle) -> None:
        """Upload under the handle's lock: concurrent closes upload once, writes wait."""
        async with handle.lock:
            if handle.dirty:
                await self._upload_locked(handle)

    async def _upload_locked(self, handle: WriteHandle) -> None:
        node = handle.node
        dir_ino, name = node.parent, self._pending_name(node)
        try:
            item = await self.uploader.upload(handle)
        except FsError:
            self._forget_pending(dir_ino, name, handle)
            raise
        if item is None:
            return
        replaced = node.item  # what this file was before: the item overwritten, or our last upload
        self.inodes.bind_uploaded(node, item)
        if name is not None:
            self._pending.get(dir_ino, {}).pop(name, None)
        if replaced is not None and replaced.uuid != item.uuid:
            await self.storage.delete_items(replaced.parent, [replaced.uuid])
        self.caches.stale(dir_ino)
        self.caches.mark_fresh(node.ino)
        if name is not None:
            self.caches.note_added(dir_ino, name, node.ino)
        self.notifier.inode_changed(node.ino)

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
        if not isinstance(handle, WriteHandle) or handle in self._handles.values():
            return
        if handle.dirty and not handle.journaled:  # a failed upload is retried from the journal
            try:
                await self._upload(handle)
            except (FsError, StorageError) as exc:
                log.error("upload of %r at release failed: %s", handle.title, exc)
        self._writers.pop(handle.node.ino, None)
        if handle.journaled:
            handle.staged.close()  # a failed upload: its data stays in the pending area
        else:
            self.uploader.discard(handle)
        name = self._pending_name(handle.node)
        if name is not None and handle.node.kind is Kind.PENDING and handle.journaled:
            self._pending[handle.node.parent].pop(name, None)
            self._removed(handle.node.parent, name, handle.node)

    async def retry_pending(self, every: float) -> None:
        """Retry failed uploads (and those left by an earlier mount) now and every ``every`` seconds."""
        while True:
            busy = {h.staged.id for h in self._writers.values()}
            try:
                if await self.uploader.replay_pending(skip=busy):
                    self.caches.listings.clear()
            except Exception:  # a broken journal must not take the mount down; say so and go on
                log.exception("retrying pending uploads failed")
            await trio.sleep(every)

    async def drain(self) -> None:
        """Before terminating (unmount, SIGINT/SIGTERM): wait for the uploads in flight, then
        upload what files still open hold, so nothing written is dropped."""
        await self.uploader.wait_idle()
        for handle in {id(h): h for h in self._writers.values()}.values():
            if handle.dirty and not handle.journaled:
                log.warning("%r is still open at shutdown: uploading what was written", handle.title)
                try:
                    await self._upload(handle)
                except (FsError, StorageError) as exc:
                    log.error("upload of %r at shutdown failed: %s", handle.title, exc)
