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
from typing import Iterable, Protocol
from uuid import UUID

import trio

from encordfs.fs import names, xattrs
from encordfs.fs.attrs import Attrs, Ownership, attrs_for
from encordfs.fs.cache import Caches
from encordfs.fs.errors import FsError
from encordfs.fs.directories import DirectoryOps, candidate_of
from encordfs.fs.files import FileOps, Handle
from encordfs.fs.hotfolders import HotFolders
from encordfs.fs.prefetch import FolderPrefetch
from encordfs.fs.inodes import ROOT_INO, InodeTable, Kind, Node
from encordfs.fs.namespace import NamespaceOps
from encordfs.fs.options import MountOptions
from encordfs.fs.staging import Staging
from encordfs.fs.usage import UsageCache
from encordfs.fs.walkahead import WalkAhead
from encordfs.fs.writer import Uploader, WriteHandle
from encordfs.storage.errors import Forbidden, NotFound
from encordfs.storage.interface import Storage
from encordfs.wire.models import ItemRecord, StorageFolder, StorageItem

log = logging.getLogger(__name__)

STATFS_BLOCK = 4096
CAPACITY_BYTES = 1 << 50  # 1 PiB shown as the size of the drive
FREE_INODES = 1 << 32
USER_NAMESPACE = "user."
LISTING_WAIT = 0.2  # seconds a lookup waits for a listing on its way before searching itself


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


class Filesystem(FileOps, NamespaceOps, DirectoryOps):
    """All operations of one mount: metadata, lookups and xattrs here; directories, namespace
    changes and open files in the mixins. ``start(nursery)`` before use (read-ahead runs in it)."""

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
        self._handles: dict[int, Handle] = {}
        self._next_fh = 1
        self._nursery: trio.Nursery | None = None
        self._pending: dict[int, dict[str, Node]] = {}  # dir ino -> new files not uploaded yet
        self._writers: dict[int, WriteHandle] = {}  # ino -> its open write handle
        self._uploading: set[WriteHandle] = set()  # handles whose background upload runs (files.py)
        self._usage = UsageCache(storage, root_folder.uuid if root_folder else None, options.dir_ttl)
        self._walk = WalkAhead(self._list_ahead)
        self._hot = HotFolders()
        self._prefetch = FolderPrefetch(self._require_nursery)

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

    def _add_handle(self, handle: Handle) -> int:
        fh = self._next_fh
        self._next_fh += 1
        self._handles[fh] = handle
        return fh

    def _known_size(self, node: Node) -> int | None:
        """The size without asking the server; None when only a HEAD can tell."""
        if node.kind is Kind.PENDING or node.ino in self._writers:
            writer = self._writers.get(node.ino)
            return writer.size() if writer else 0
        record = node.record
        if node.kind.is_dir or record is None:
            return 0
        if record.file_size is not None:
            return record.file_size
        return None if node._extra is None else node._extra.get("size")

    async def _size(self, node: Node) -> int:
        size = self._known_size(node)
        if size is None:
            size = node.extra["size"] = await self.storage.content_length(node.item)
        return size

    def _attrs_now(self, node: Node) -> Attrs | None:
        """``_attrs`` if nothing has to be fetched for them (the usual case: a listed entry), else
        None. Built from the record's ints each time (cheap enough not to be kept)."""
        if node.needs_model:
            return None
        size = self._known_size(node)
        return None if size is None else attrs_for(node, size, self._own, self._mount_ns)

    async def _attrs(self, node: Node) -> Attrs:
        attrs = self._attrs_now(node)
        if attrs is not None:
            return attrs
        if node.needs_model:
            await self._refresh(node)
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
        folders: list[_Found] = []
        items: list[_Found] = []

        async def search_folders() -> None:
            folders.extend([_Found(candidate_of(f), folder=f) async for f in self.storage.iter_folders(parent, search=text)])

        async def search_items(folder: UUID) -> None:
            items.extend([_Found(candidate_of(i), item=i) async for i in self.storage.iter_items(folder, search=text)])

        async with trio.open_nursery() as nursery:  # one round trip, not two
            nursery.start_soon(search_folders)
            if parent is not None:
                nursery.start_soon(search_items, parent)
        return folders + items

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
        if await self._listing_arrived(dir_node.ino):
            return await self._resolve(dir_node, name)
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
        if self._hot.note_miss(dir_node.ino):
            self._walk.list_ahead(self._require_nursery(), [dir_node.ino], hot=True)
        found = await self._search(dir_node, text)
        if suffixed is None:
            found = [f for f in found if f.candidate.title == text]
        by_candidate = {f.candidate: f for f in found}
        for entry_name, candidate in names.assign_names(by_candidate):
            if entry_name == name:
                return self._node_for(by_candidate[candidate], dir_node.ino)
        self.caches.note_missing(dir_node.ino, name)
        return None

    async def _listing_arrived(self, dir_ino: int) -> bool:
        """If the folder is being listed in the background (hot, or a walk's read-ahead), wait for
        that listing a little (``LISTING_WAIT``): True once it is in the cache. The kernel sends a
        directory's lookups one at a time, so a search now would delay every lookup queued behind it."""
        with trio.move_on_after(LISTING_WAIT):
            await self._walk.wait_for(dir_ino)
        return self.caches.listing(dir_ino) is not None

    async def _lookup_node(self, parent: int, name: str) -> Node:
        dir_node = self._dir(parent)
        node = await self._resolve(dir_node, name)
        if node is None:
            raise FsError(errno.ENOENT)
        return await self._loaded(node)

    async def resolve_path(self, path: str) -> Node:
        """The node at a mount-relative path (``"a/b"``, ``""`` for the root), found with the
        lookups the kernel would make, so names are exactly what ``ls`` shows. For the control
        channel: the mount process must never stat its own mount through the kernel."""
        node = self._node(ROOT_INO)
        for part in path.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                node = self._node(node.parent)
                continue
            try:
                node = await self._lookup_node(node.ino, part)
            except FsError as exc:
                raise FsError(exc.errno, f"{path}: {part!r}: {os.strerror(exc.errno)}") from exc
        return await self._loaded(node)

    async def title_group(self, dir_node: Node, title: str) -> dict[UUID, str]:
        """The names of a directory's entries titled exactly ``title``, by UUID (one search, as a
        lookup of that name makes; the entries' nodes are made too). For naming search results."""
        found = [f for f in await self._search(dir_node, title or None) if f.candidate.title == title]
        by_candidate = {f.candidate: f for f in found}
        named: dict[UUID, str] = {}
        for name, candidate in names.assign_names(by_candidate):
            self._node_for(by_candidate[candidate], dir_node.ino)
            named[candidate.uuid] = name
        return named

    async def folder_listing(self, dir_node: Node) -> dict[str, int]:
        """A folder's complete listing (name -> inode), from the cache or fetched now (as ``ls``
        would, and cached the same way). For naming many search results of one folder at once."""
        listing = self.caches.listing(dir_node.ino)
        if listing is None:
            await self._walk.wait_for(dir_node.ino)
            listing = self.caches.listing(dir_node.ino)
        if listing is None:
            version = self.caches.version(dir_node.ino)
            entries = [entry async for entry in self._folder_entries(dir_node)]
            self._store_listing(dir_node.ino, entries, version)
            listing = {e.name: e.ino for e in entries}
        return listing

    # --- metadata ------------------------------------------------------------------------------

    async def lookup(self, parent: int, name: str) -> Attrs:
        """Look up a name; the caller (the kernel) now holds one more reference to the inode."""
        node = await self._lookup_node(parent, name)
        attrs = await self.getattr(node.ino)
        node.lookups += 1
        return attrs

    def remember(self, ino: int) -> None:
        """The kernel took a reference without a lookup (an entry of readdirplus)."""
        node = self.inodes.get(ino)
        if node is not None:
            node.lookups += 1

    def forget(self, inodes: Iterable[tuple[int, int]]) -> None:
        """Inodes the kernel no longer references keep their number but drop their model, so a
        walk over millions of files does not keep millions of models in memory."""
        for ino, count in inodes:
            node = self.inodes.forget(ino, count)
            if node is not None and node.kind in (Kind.FILE, Kind.GROUP, Kind.FOLDER) and ino not in self._writers:
                node.drop_model()
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
                record = ItemRecord.of(await self.storage.get_item(node.key))
                old = node.record
                if old is None or record.edited_ns != old.edited_ns or record.file_size != old.file_size:
                    node.extra.pop("size", None)
                    node.extra["changed"] = old is not None
                node.record = record
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
            async with writer.lock:
                await self.uploader.ensure_writable(writer)
                writer.staged.truncate(size)
                writer.dirty = True
        return await self.getattr(ino)

    def forget_usage(self) -> None:
        """``df`` asks the server again next time (a refresh of the root)."""
        self._usage.forget()

    async def statfs(self) -> FsStats:
        """Used = the bytes stored under the root (folder summaries); Encord has no quota to report,
        so the size is a fixed ``CAPACITY_BYTES`` (grown past what is used if ever needed)."""
        usage = await self._usage.usage()
        used = -(-usage.bytes // STATFS_BLOCK)
        total = max(CAPACITY_BYTES // STATFS_BLOCK, 2 * used)
        return FsStats(STATFS_BLOCK, total, total - used, usage.entries + FREE_INODES, FREE_INODES)

    # --- extended attributes -----------------------------------------------------------------

    async def _xattrs(self, node: Node) -> dict[str, bytes]:
        if node.kind in (Kind.ROOT, Kind.FOLDER) and node.folder is not None:
            return xattrs.folder_xattrs(node.folder)
        if node.item is not None:
            return xattrs.item_xattrs(node.item)
        return {}

    async def listxattr(self, ino: int) -> list[str]:
        await self._upload_landed(self._node(ino))
        node = await self._loaded(self._node(ino))
        keys = list(await self._xattrs(node))
        if node.kind in (Kind.FILE, Kind.GROUP):
            keys.append(xattrs.DATASET_LINKS)
        return keys

    async def getxattr(self, ino: int, name: str) -> bytes:
        node = self._node(ino)
        if not name.startswith(USER_NAMESPACE):
            # security.*, system.posix_acl_*: not supported here (ENODATA would say "supported, not
            # set"). ls -l asks for two of them per file and stops asking once told ENOTSUP.
            raise FsError(errno.ENOTSUP, quiet=True)
        if not name.startswith(xattrs.PREFIX):
            raise FsError(errno.ENODATA)
        await self._upload_landed(node)
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

    def _new_title(self, name: str) -> str:
        try:
            return names.title_for_new_name(name)
        except names.InvalidName as exc:
            code = errno.ENAMETOOLONG if len(name.encode()) > names.NAME_MAX else errno.EINVAL
            raise FsError(code, f"{name!r} cannot be an Encord title here") from exc

    def _added(self, parent: int, name: str, node: Node) -> None:
        """A new entry: the listing learns it at once. The directory's own attributes stay cached
        (the kernel asks for them after every create: refetching them cost a round trip a file)."""
        self.caches.note_added(parent, name, node.ino)
        self.caches.mark_fresh(node.ino)
        self.notifier.entry_changed(parent, name)

    def _removed(self, parent: int, name: str, node: Node | None) -> None:
        self.caches.note_removed(parent, name)
        self.caches.note_missing(parent, name)
        self.caches.stale(parent)
        self.notifier.entry_changed(parent, name)
