"""Opening and reading files for ``core.Filesystem`` (a mixin: the state and helpers live there):
readers with read-ahead; files being written are in ``writes.py``.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Hashable

import trio

from encordfs.fs.content_reads import ContentReads
from encordfs.fs.errors import FsError
from encordfs.fs.inodes import Kind, Node
from encordfs.fs.listing import Listing
from encordfs.fs.prefetch import URLS_AHEAD, Sibling
from encordfs.fs.reader import Reader
from encordfs.fs.recent_reads import RecentReads
from encordfs.fs.upload_state import Landed
from encordfs.fs.writes import PendingReader, WriteFd, WriteOps
from encordfs.wire.models import StorageItem

log = logging.getLogger(__name__)

Handle = Listing | Reader | WriteFd | PendingReader


class FileOps(WriteOps):
    """open, read and release; the writers' operations come from ``WriteOps``."""

    _recent_reads: RecentReads
    content: ContentReads

    async def open(self, ino: int, flags: int) -> tuple[int, bool]:
        """A file handle and whether the kernel may keep its page cache for the file."""
        node = await self._loaded(self._node(ino))
        if node.kind.is_dir:
            raise FsError(errno.EISDIR)
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_TRUNC | os.O_APPEND):
            return self._add_handle(await self._open_for_write(node, truncate=bool(flags & os.O_TRUNC))), False
        file = self._files.get(ino)
        if file is not None and not (isinstance(file.state, Landed) and file.working is None):
            file.readers += 1
            return self._add_handle(PendingReader(file)), False
        if node.item is None:
            raise FsError(errno.ENOENT, "not uploaded")
        if not self.caches.is_fresh(ino):
            await self._refresh(node)
        changed = node.extra.pop("changed", False)
        return self._add_handle(self._item_reader(node.item, await self._size(node), node)), not changed

    def _require_nursery(self) -> trio.Nursery:
        if self._nursery is None:
            raise RuntimeError("Filesystem.start(nursery) was not called")
        return self._nursery

    async def read(self, fh: int, offset: int, size: int) -> bytes | memoryview:
        """A view of a cached chunk when the read lies within one (pyfuse3 takes any buffer)."""
        handle = self._handles[fh]
        if isinstance(handle, (WriteFd, PendingReader)):
            return await self._read_pending(handle, offset, size)
        assert isinstance(handle, Reader)
        return await handle.read(offset, size)

    async def _read_pending(self, handle: WriteFd | PendingReader, offset: int, size: int) -> bytes | memoryview:
        """The local bytes while there are some, else (the upload landed) the item's."""
        data = await self._read_local(handle.file, offset, size)
        if data is not None:
            return data
        state = handle.file.state
        item = state.item if isinstance(state, Landed) else handle.file.node.item
        if item is None:
            raise FsError(errno.ESTALE, f"{handle.file.target.title!r}: neither staged nor uploaded")
        if not isinstance(handle, PendingReader):
            return await self.storage.read_range(item, offset, size)
        if not isinstance(handle.uploaded, Reader):
            handle.uploaded = self._item_reader(item, await self._item_size(item))
        return await handle.uploaded.read(offset, size)

    def _item_reader(self, item: StorageItem, size: int, node: Node | None = None) -> Reader:
        """A reader of the item. For a file of a folder (``node``), its first GET tells
        ``FolderPrefetch`` a file of the folder is being read (it may fetch the next ones) and is
        skipped when the file's bytes were fetched ahead. An open alone starts nothing: tools open
        files they never read, and the page cache answers reads of files read before."""

        version = (item.uuid, item.last_edited_at, size)

        async def fetch(offset: int, length: int) -> bytes:
            if offset == 0 and node is not None:
                key = self._reading_in_folder(node, size)
                if key is not None:
                    data = await self._prefetch.take(key)
                    if data is not None and len(data) >= length:
                        return data[:length]
                    if not self.content.cached(version, offset, length):
                        await self._sign_ahead(node)
            return await self._recent_reads.read(version, offset, length, get)

        async def get(offset: int, length: int) -> bytes:
            return await self.content.read(version, offset, length, lambda o, n: self.storage.read_range(item, o, n))

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
        if node is None or node.kind is not Kind.FILE or node.record is None or ino in self._files:
            return None
        record, item = node.record, node.item
        size = record.file_size
        if not size or item is None:
            return None

        version = (item.uuid, item.last_edited_at, size)

        async def fetch() -> bytes:
            if not self.content.cached(version, 0, size):
                await self._sign_ahead(node)
            return await self.content.read(version, 0, size, lambda o, n: self.storage.read_range(item, o, n))

        return Sibling((record.uuid, size, record.edited_ns), size, fetch)

    async def warm(self, node: Node) -> tuple[int, int]:
        """Put a file's bytes in the content cache (``encordfs warm``): (bytes fetched, bytes
        cached already). A file being written or not yet uploaded has none to fetch."""
        item = node.item
        if node.kind not in (Kind.FILE, Kind.FRAME) or item is None or node.ino in self._files:
            return 0, 0
        size = await self._size(node)
        version = (item.uuid, item.last_edited_at, size)
        if not self.content.cached(version, 0, size):
            await self._sign_ahead(node)
        return await self.content.fill(version, lambda o, n: self.storage.read_range(item, o, n))

    async def _item_size(self, item: StorageItem) -> int:
        return item.file_size if item.file_size is not None else await self.storage.content_length(item)

    async def release(self, fh: int) -> None:
        handle = self._handles.pop(fh, None)
        if isinstance(handle, Reader):
            handle.close()
        elif isinstance(handle, PendingReader):
            if isinstance(handle.uploaded, Reader):
                handle.uploaded.close()
            handle.file.readers -= 1
            self._settle(handle.file)
        elif isinstance(handle, WriteFd):
            await self._release_writer(handle)
