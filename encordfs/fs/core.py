"""The filesystem operations in plain Python (no pyfuse3 here): raise FsError or StorageError.

Inodes come from ``InodeTable``, names from ``names``, freshness from ``Caches``. Our own changes
update the caches at once and tell the kernel through ``Notifier`` (entries and inodes to forget).
"""

from __future__ import annotations

import errno
import logging
import os
import time
from dataclasses import dataclass
from typing import AsyncIterator, Iterable, Protocol
from uuid import UUID

import trio

from encordfs.fs import names, xattrs
from encordfs.fs.attrs import Attrs, Ownership, attrs_for
from encordfs.fs.cache import Caches
from encordfs.fs.errors import FsError
from encordfs.fs.inodes import ROOT_INO, InodeTable, Kind, Node
from encordfs.fs.listing import Entry, Listing
from encordfs.fs.options import MountOptions
from encordfs.fs.reader import Reader
from encordfs.fs.staging import Staging
from encordfs.fs.writer import Uploader, WriteHandle, refuse_unstorable_name
from encordfs.storage.errors import Forbidden, NotFound, StorageError
from encordfs.storage.interface import Storage
from encordfs.wire.models import StorageFolder, StorageItem

log = logging.getLogger(__name__)

PAGE_SIZE = 1000


class Notifier(Protocol):
    """Tells the kernel to drop what it cached (pyfuse3 in a mount, nothing in unit tests)."""

    def entry_changed(self, parent: int, name: str) -> None: ...

    def inode_changed(self, ino: int) -> None: ...


class NullNotifier:
    def entry_changed(self, parent: int, name: str) -> None:
        return None

    def inode_changed(self, ino: int) -> None:
        return None


@dataclass(frozen=True)
class FsStats:
    block_size: int
    blocks: int
    blocks_free: int
    files: int
    files_free: int
    name_max: int = names.NAME_MAX


@dataclass(frozen=True)
class _Found:
    """A storage entry under a directory, ready for naming."""

    candidate: names.Candidate
    folder: StorageFolder | None = None
    item: StorageItem | None = None


@dataclass(frozen=True)
class StagedReader:
    """A read-only open of a file still being written: reads the staged bytes, never uploads."""

    writer: WriteHandle


def _candidate(model: StorageFolder | StorageItem) -> names.Candidate:
    return names.Candidate(model.uuid, model.name, isinstance(model, StorageFolder), model.created_at)


class Filesystem:
    """All operations of one mount. ``start(nursery)`` before use (read-ahead runs in it)."""

    def __init__(
        self,
        storage: Storage,
        staging: Staging,
        options: MountOptions,
        root_folder: StorageFolder | None,
        notifier: Notifier | None = None,
    ) -> None:
        self.storage = storage
        self.options = options
        self.inodes = InodeTable(root_folder)
        self.caches = Caches(attr_ttl=options.attr_ttl, dir_ttl=options.dir_ttl, negative_ttl=options.negative_ttl)
        self.uploader = Uploader(storage, staging)
        self.notifier: Notifier = notifier or NullNotifier()
        self._own = Ownership(options.uid, options.gid, options.umask, options.read_only)
        self._mount_ns = time.time_ns()
        self._handles: dict[int, Listing | Reader | WriteHandle | StagedReader] = {}
        self._next_fh = 1
        self._nursery: trio.Nursery | None = None
        self._pending: dict[int, dict[str, Node]] = {}  # dir ino -> new files not uploaded yet
        self._writers: dict[int, WriteHandle] = {}  # ino -> its open write handle

    def start(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery

    # --- helpers ---------------------------------------------------------------------------

    def _writable(self, node: Node) -> None:
        if self.options.read_only:
            raise FsError(errno.EROFS, "mounted read-only")
        if node.kind.read_only:
            raise FsError(errno.EROFS, "multi-file items are read-only")

    def _dir(self, ino: int) -> Node:
        node = self._node(ino)
        if not node.kind.is_dir:
            raise FsError(errno.ENOTDIR)
        return node

    def _node(self, ino: int) -> Node:
        node = self.inodes.get(ino)
        if node is None:
            raise FsError(errno.ENOENT, f"unknown inode {ino}")
        return node

    def _folder_uuid(self, node: Node) -> UUID | None:
        """The storage folder a directory stands for (None: the storage root)."""
        if node.kind is Kind.GROUP:
            raise FsError(errno.EROFS, "multi-file items are read-only")
        return node.uuid

    def _add_handle(self, handle: Listing | Reader | WriteHandle | StagedReader) -> int:
        fh = self._next_fh
        self._next_fh += 1
        self._handles[fh] = handle
        return fh

    async def _size(self, node: Node) -> int:
        if node.kind is Kind.PENDING or node.ino in self._writers:
            writer = self._writers.get(node.ino)
            return writer.size() if writer else 0
        if node.kind.is_dir or node.item is None:
            return 0
        if node.item.file_size is not None:
            return node.item.file_size
        if "size" not in node.extra:
            node.extra["size"] = await self.storage.content_length(node.item)
        return node.extra["size"]

    async def _attrs(self, node: Node) -> Attrs:
        await self._loaded(node)
        return attrs_for(node, await self._size(node), self._own, self._mount_ns)

    async def _loaded(self, node: Node) -> Node:
        """The node with its folder/item model (refetched if ``forget`` dropped it)."""
        if node.needs_model:
            await self._refresh(node)
        return node

    # --- names -> entries --------------------------------------------------------------------

    async def _search(self, dir_node: Node, text: str | None) -> list[_Found]:
        """Entries of a folder whose titles contain ``text`` (all entries when None)."""
        parent = dir_node.uuid
        found = [_Found(_candidate(f), folder=f) async for f in self.storage.iter_folders(parent, search=text)]
        if parent is not None:
            found += [_Found(_candidate(i), item=i) async for i in self.storage.iter_items(parent, search=text)]
        return found

    def _node_for(self, found: _Found, dir_ino: int) -> Node:
        if found.folder is not None:
            node = self.inodes.for_folder(found.folder, dir_ino)
        else:
            assert found.item is not None
            node = self.inodes.for_item(found.item, dir_ino)
        self.caches.mark_fresh(node.ino)
        return node

    async def _resolve(self, dir_node: Node, name: str) -> Node | None:
        """The node named ``name`` in a directory, asking the server only for that name."""
        pending = self._pending.get(dir_node.ino, {}).get(name)
        if pending is not None:
            return pending
        listing = self.caches.listing(dir_node.ino)
        if listing is not None:
            ino = listing.get(name)
            return None if ino is None else self.inodes.get(ino)
        if self.caches.is_negative(dir_node.ino, name):
            return None
        if dir_node.kind is Kind.GROUP:
            await self._group_listing(dir_node)
            return await self._resolve(dir_node, name)
        suffixed = names.parse_suffix(name)
        if suffixed is not None:
            text = suffixed.search_text or None
        else:
            text = names.unescape(name)
            if names.escape(text) != name:
                self.caches.note_missing(dir_node.ino, name)
                return None
        found = await self._search(dir_node, text)
        if suffixed is None:
            found = [f for f in found if f.candidate.title == text]
        by_candidate = {f.candidate: f for f in found}
        for entry_name, candidate in names.assign_names(by_candidate):
            if entry_name == name:
                return self._node_for(by_candidate[candidate], dir_node.ino)
        self.caches.note_missing(dir_node.ino, name)
        return None

    async def _lookup_node(self, parent: int, name: str) -> Node:
        dir_node = self._dir(parent)
        node = await self._resolve(dir_node, name)
        if node is None:
            raise FsError(errno.ENOENT)
        return await self._loaded(node)

    # --- metadata ------------------------------------------------------------------------------

    async def lookup(self, parent: int, name: str) -> Attrs:
        """Look up a name; the caller (the kernel) now holds one more reference to the inode."""
        node = await self._lookup_node(parent, name)
        attrs = await self.getattr(node.ino)
        node.lookups += 1
        return attrs

    def forget(self, inodes: Iterable[tuple[int, int]]) -> None:
        """Inodes the kernel no longer references keep their number but drop their model, so a
        walk over millions of files does not keep millions of models in memory."""
        for ino, count in inodes:
            node = self.inodes.forget(ino, count)
            if node is not None and node.kind in (Kind.FILE, Kind.GROUP, Kind.FOLDER) and ino not in self._writers:
                node.item = node.folder = None
                node.extra.clear()
                self.caches.stale(ino)

    async def getattr(self, ino: int) -> Attrs:
        node = self._node(ino)
        if not self.caches.is_fresh(ino):
            await self._refresh(node)
        return await self._attrs(node)

    async def _refresh(self, node: Node) -> None:
        try:
            if node.kind in (Kind.FOLDER, Kind.ROOT) and isinstance(node.key, UUID):
                node.folder = await self.storage.get_folder(node.key)
            elif node.kind in (Kind.FILE, Kind.GROUP) and isinstance(node.key, UUID):
                item = await self.storage.get_item(node.key)
                old = node.item
                if old is None or item.last_edited_at != old.last_edited_at or item.file_size != old.file_size:
                    node.extra.pop("size", None)
                    node.extra["changed"] = old is not None
                node.item = item
        except (Forbidden, NotFound) as exc:
            # Encord answers 403 for entries that no longer exist: treat it as gone from its folder.
            self.caches.forget_listing(node.parent)
            raise FsError(errno.ENOENT, f"{node.title!r} is gone: {exc}") from exc
        self.caches.mark_fresh(node.ino)

    async def setattr(self, ino: int, size: int | None, fh: int | None) -> Attrs:
        """Only the size can change (truncating a file being written); modes, owners and times are
        accepted and ignored: Encord keeps none of them."""
        node = self._node(ino)
        if size is not None:
            writer = self._writers.get(ino)
            if writer is None:
                if size == await self._size(node):
                    return await self._attrs(node)
                self._writable(node)
                raise FsError(errno.EPERM, "truncate only works on a file open for writing")
            await self.uploader.ensure_writable(writer)
            writer.staged.truncate(size)
            writer.dirty = True
        return await self.getattr(ino)

    async def statfs(self) -> FsStats:
        root = self.inodes[ROOT_INO]
        used, files = 0, 0
        if root.uuid is not None:
            summary = await self.storage.folder_summary(root.uuid)
            used, files = int(summary.total_size), summary.files + summary.folders
        free = 1 << 32
        block = 4096
        return FsStats(block, used // block + free, free, files + (1 << 24), 1 << 24)

    # --- extended attributes -----------------------------------------------------------------

    async def _xattrs(self, node: Node) -> dict[str, bytes]:
        if node.kind in (Kind.ROOT, Kind.FOLDER) and node.folder is not None:
            return xattrs.folder_xattrs(node.folder)
        if node.item is not None:
            return xattrs.item_xattrs(node.item)
        return {}

    async def listxattr(self, ino: int) -> list[str]:
        node = await self._loaded(self._node(ino))
        keys = list(await self._xattrs(node))
        if node.kind in (Kind.FILE, Kind.GROUP):
            keys.append(xattrs.DATASET_LINKS)
        return keys

    async def getxattr(self, ino: int, name: str) -> bytes:
        node = self._node(ino)
        if not name.startswith(xattrs.PREFIX):
            raise FsError(errno.ENODATA)  # e.g. security.capability, asked before every write
        if name == xattrs.DATASET_LINKS and node.kind in (Kind.FILE, Kind.GROUP) and node.item is not None:
            return str(await self.storage.dataset_link_count(node.item)).encode()
        if not self.caches.is_fresh(ino) and node.kind is not Kind.PENDING:
            await self._refresh(node)
        value = (await self._xattrs(node)).get(name)
        if value is None:
            raise FsError(errno.ENODATA)
        return value

    async def setxattr(self, ino: int, name: str, value: bytes) -> None:
        node = self._node(ino)
        if name != xattrs.CLIENT_METADATA:
            raise FsError(errno.ENOTSUP, f"only {xattrs.CLIENT_METADATA} can be set", quiet=not name.startswith(xattrs.PREFIX))
        self._writable(node)
        await self._loaded(node)
        try:
            metadata = xattrs.parse_client_metadata(value)
        except ValueError as exc:
            raise FsError(errno.EINVAL, f"client_metadata must be a JSON object: {exc}") from exc
        if node.item is not None and node.kind is Kind.FILE:
            node.item = await self.storage.update_item(node.item, client_metadata=metadata)
        elif node.folder is not None and node.kind in (Kind.FOLDER, Kind.ROOT):
            node.folder = await self.storage.update_folder(node.folder.uuid, client_metadata=metadata)
        else:
            raise FsError(errno.ENOTSUP, "no metadata here")
        self.caches.mark_fresh(ino)

    # --- directories -------------------------------------------------------------------------

    async def opendir(self, ino: int) -> int:
        node = self._dir(ino)
        listing = self.caches.listing(ino)
        if listing is not None:
            entries = [Entry(n, i) for n, i in listing.items() if self.inodes.get(i) is not None]
            return self._add_handle(Listing.complete(self._with_pending(ino, entries)))
        if node.kind is Kind.GROUP:
            return self._add_handle(Listing(self._group_entries(node)))
        return self._add_handle(Listing(self._folder_entries(node), on_complete=lambda e: self._store_listing(ino, e)))

    def _with_pending(self, ino: int, entries: list[Entry]) -> list[Entry]:
        seen = {e.name for e in entries}
        extra = [Entry(n, node.ino) for n, node in self._pending.get(ino, {}).items() if n not in seen]
        return sorted(entries + extra, key=lambda e: e.name)

    def _store_listing(self, ino: int, entries: list[Entry]) -> None:
        pending = self._pending.get(ino, {})
        self.caches.store_listing(ino, {e.name: e.ino for e in entries if e.name not in pending})

    async def _folder_entries(self, dir_node: Node) -> AsyncIterator[Entry]:
        """Folders first (all of them: their names never depend on items), then items streamed page
        by page, each title group named once all its members (adjacent, by name) have arrived."""
        parent = dir_node.uuid
        folders = [f async for f in self.storage.iter_folders(parent, page_size=PAGE_SIZE)]
        by_title: dict[str, list[StorageFolder]] = {}
        for folder in folders:
            by_title.setdefault(folder.name, []).append(folder)
        for name, candidate in names.assign_names(_candidate(f) for f in folders):
            folder = next(f for f in by_title[candidate.title] if f.uuid == candidate.uuid)
            node = self.inodes.for_folder(folder, dir_node.ino)
            self.caches.mark_fresh(node.ino)
            yield Entry(name, node.ino)
        if parent is not None:
            group: list[StorageItem] = []
            async for item in self.storage.iter_items(parent, page_size=PAGE_SIZE):
                if group and item.name != group[0].name:
                    for entry in self._item_group(dir_node, group, by_title):
                        yield entry
                    group = []
                group.append(item)
            for entry in self._item_group(dir_node, group, by_title):
                yield entry
        for name, node in sorted(self._pending.get(dir_node.ino, {}).items()):
            yield Entry(name, node.ino)

    def _item_group(self, dir_node: Node, group: list[StorageItem], folders: dict[str, list[StorageFolder]]) -> list[Entry]:
        if not group:
            return []
        same_title = [_candidate(f) for f in folders.get(group[0].name, [])] + [_candidate(i) for i in group]
        items = {i.uuid: i for i in group}
        entries = []
        for name, candidate in names.name_group(same_title):
            if candidate.uuid in items and name not in self._pending.get(dir_node.ino, {}):
                node = self.inodes.for_item(items[candidate.uuid], dir_node.ino)
                self.caches.mark_fresh(node.ino)
                entries.append(Entry(name, node.ino))
        return entries

    async def _group_listing(self, group_node: Node) -> dict[str, int]:
        listing = self.caches.listing(group_node.ino)
        if listing is None:
            entries = [e async for e in self._group_entries(group_node)]
            listing = {e.name: e.ino for e in entries}
            self.caches.store_listing(group_node.ino, listing)
        return listing

    async def _group_entries(self, group_node: Node) -> AsyncIterator[Entry]:
        assert group_node.item is not None
        children = await self.storage.child_items(group_node.item)
        by_uuid = {c.uuid: c for c in children}
        for name, candidate in names.assign_names(_candidate(c) for c in children):
            node = self.inodes.for_frame(group_node.item.uuid, by_uuid[candidate.uuid], group_node.ino)
            self.caches.mark_fresh(node.ino)
            yield Entry(name, node.ino)

    async def readdir(self, fh: int, index: int) -> tuple[Entry, Attrs] | None:
        """The entry at ``index`` of an open directory (fetching pages as needed), or None at the end."""
        listing = self._handles[fh]
        assert isinstance(listing, Listing)
        while True:
            entry = await listing.get(index)
            if entry is None:
                return None
            node = self.inodes.get(entry.ino)
            if node is not None:
                return entry, await self._attrs(node)
            index += 1

    async def releasedir(self, fh: int) -> None:
        listing = self._handles.pop(fh, None)
        if isinstance(listing, Listing):
            await listing.aclose()

    async def mkdir(self, parent: int, name: str) -> Attrs:
        dir_node = self._dir(parent)
        self._writable(dir_node)
        title = self._new_title(name)
        if await self._resolve(dir_node, name) is not None:
            raise FsError(errno.EEXIST)
        folder = await self.storage.create_folder(title, self._folder_uuid(dir_node))
        node = self.inodes.for_folder(folder, parent)
        self._added(parent, name, node)
        self.caches.store_listing(node.ino, {})
        node.lookups += 1
        return await self._attrs(node)

    async def rmdir(self, parent: int, name: str) -> None:
        node = await self._lookup_node(parent, name)
        if not node.kind.is_dir:
            raise FsError(errno.ENOTDIR)
        self._writable(node)
        if await self._has_children(node):
            raise FsError(errno.ENOTEMPTY)
        await self.storage.delete_folder(node.folder.uuid)  # type: ignore[union-attr]
        self._removed(parent, name, node)

    async def _has_children(self, node: Node) -> bool:
        if self._pending.get(node.ino):
            return True
        async for _ in self.storage.iter_folders(node.uuid, page_size=1):
            return True
        async for _ in self.storage.iter_items(node.uuid, page_size=1):  # type: ignore[arg-type]
            return True
        return False

    def _new_title(self, name: str) -> str:
        try:
            return names.title_for_new_name(name)
        except names.InvalidName as exc:
            code = errno.ENAMETOOLONG if len(name.encode()) > names.NAME_MAX else errno.EINVAL
            raise FsError(code, f"{name!r} cannot be an Encord title here") from exc

    def _added(self, parent: int, name: str, node: Node) -> None:
        self.caches.note_added(parent, name, node.ino)
        self.caches.mark_fresh(node.ino)
        self.caches.stale(parent)
        self.notifier.entry_changed(parent, name)

    def _removed(self, parent: int, name: str, node: Node | None) -> None:
        self.caches.note_removed(parent, name)
        self.caches.note_missing(parent, name)
        self.caches.stale(parent)
        self.notifier.entry_changed(parent, name)

    # --- deleting and renaming ---------------------------------------------------------------

    async def _may_drop(self, node: Node, doing: str) -> None:
        """Deleting or replacing an item loses nothing unless datasets use it."""
        if node.kind is Kind.PENDING or self.options.allow_delete_linked:
            return
        await self._loaded(node)
        assert node.item is not None
        links = await self.storage.dataset_link_count(node.item)
        if links:
            log.warning("refusing to %s %r: it is linked to %d dataset(s) (mount with allow_delete_linked to allow)",
                        doing, node.title, links)
            raise FsError(errno.EPERM, f"{node.title!r} is linked to {links} dataset(s)")

    async def _delete_item(self, node: Node) -> None:
        assert node.item is not None
        await self.storage.delete_items(node.item.parent, [node.item.uuid])

    async def unlink(self, parent: int, name: str) -> None:
        node = await self._lookup_node(parent, name)
        if node.kind.is_dir:
            raise FsError(errno.EISDIR)
        self._writable(node)
        if node.kind is Kind.PENDING:
            self._pending.get(parent, {}).pop(name, None)
            writer = self._writers.get(node.ino)
            if writer is not None:
                writer.dirty = False
        else:
            await self._may_drop(node, "delete")
            await self._delete_item(node)
        self._removed(parent, name, node)

    async def rename(self, old_parent: int, old_name: str, new_parent: int, new_name: str, *, noreplace: bool, exchange: bool) -> None:
        if exchange:
            raise FsError(errno.EINVAL, "RENAME_EXCHANGE is not supported")
        node = await self._lookup_node(old_parent, old_name)
        source_dir, target_dir = self._dir(old_parent), self._dir(new_parent)
        self._writable(node)
        self._writable(target_dir)
        self._writable(source_dir)
        title = self._new_title(new_name)
        if not node.kind.is_dir:
            refuse_unstorable_name(new_name)
        target = await self._resolve(target_dir, new_name)
        if target is not None:
            await self._loaded(target)
        if target is node:
            return
        if target is not None:
            if noreplace:
                raise FsError(errno.EEXIST)
            await self._check_replace(node, target)
        await self._move(node, source_dir, target_dir, title)
        self._pending.get(old_parent, {}).pop(old_name, None)
        if target is not None:
            await self._drop_replaced(new_parent, new_name, target)
        if node.kind is Kind.PENDING:
            self._pending.setdefault(new_parent, {})[new_name] = node
        self._removed(old_parent, old_name, node)
        self.caches.negative.pop((new_parent, new_name), None)
        node.parent = new_parent
        self._added(new_parent, new_name, node)
        self.notifier.inode_changed(node.ino)

    async def _check_replace(self, node: Node, target: Node) -> None:
        if target.kind.is_dir != node.kind.is_dir:
            raise FsError(errno.EISDIR if target.kind.is_dir else errno.ENOTDIR)
        if target.kind.is_dir:
            if await self._has_children(target):
                raise FsError(errno.ENOTEMPTY)
        elif target.kind is not Kind.PENDING:
            await self._may_drop(target, "replace")

    async def _drop_replaced(self, parent: int, name: str, target: Node) -> None:
        if target.kind.is_dir:
            await self.storage.delete_folder(target.folder.uuid)  # type: ignore[union-attr]
        elif target.kind is Kind.PENDING:
            self._pending.get(parent, {}).pop(name, None)
        else:
            await self._delete_item(target)
        self.caches.note_removed(parent, name)
        self.notifier.inode_changed(target.ino)

    async def _move(self, node: Node, source_dir: Node, target_dir: Node, title: str) -> None:
        """Server-side rename and/or move (never copy + delete)."""
        target_folder = self._folder_uuid(target_dir)
        if node.kind is Kind.PENDING:
            if target_folder is None:
                raise FsError(errno.EPERM, "files must live in a folder")
            node.extra["target"] = (target_folder, title)
            writer = self._writers.get(node.ino)
            if writer is not None:
                writer.title, writer.folder_uuid = title, target_folder
            return
        if node.folder is not None:
            if source_dir.ino != target_dir.ino:
                await self.storage.move_folders([node.folder.uuid], target_folder)
            if title != node.folder.name:
                await self.storage.update_folder(node.folder.uuid, name=title)
            node.folder = await self.storage.get_folder(node.folder.uuid)
            return
        assert node.item is not None
        if target_folder is None:
            raise FsError(errno.EPERM, "files must live in a folder")
        item = node.item
        if source_dir.ino != target_dir.ino:
            await self.storage.move_items(item.parent, [item.uuid], target_folder)
            item = await self.storage.get_item(item.uuid)
        if title != item.name:
            item = await self.storage.update_item(item, name=title)
        node.item = item

    # --- files -----------------------------------------------------------------------------

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
        handle = self.uploader.new_handle(node, node.item.parent, node.item.name, replaces=node.item)
        if not truncate:
            size = await self._size(node)
            offset = 0
            while offset < size:
                data = await self.storage.read_range(node.item, offset, min(8 << 20, size - offset))
                if not data:
                    break
                handle.staged.pwrite(data, offset)
                offset += len(data)
            handle.dirty = False
        self._writers[node.ino] = handle
        return handle

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
            handle = await self._open_for_write(existing, truncate=True)
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
        node = handle.node
        dir_ino, name = node.parent, self._pending_name(node)
        try:
            item = await self.uploader.upload(handle)
        except FsError:
            self._forget_pending(dir_ino, name, handle)
            raise
        if item is None:
            return
        replaced = handle.replaces
        self.inodes.bind_uploaded(node, item)
        if name is not None:
            self._pending.get(dir_ino, {}).pop(name, None)
        if replaced is not None and replaced.uuid != item.uuid:
            await self.storage.delete_items(replaced.parent, [replaced.uuid])
            handle.replaces = None
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
