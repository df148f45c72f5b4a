"""The filesystem operations in plain Python (no pyfuse3 here): raise FsError or StorageError.

Inodes come from ``InodeTable``, names from ``names``, freshness from ``Caches``. Our own changes
update the caches at once and tell the kernel through ``Notifier`` (entries and inodes to forget).
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import trio
from cachetools import TTLCache

from encordfs import metrics
from encordfs.fs import filetypes, names, trash, xattrs
from encordfs.fs.attrs import Attrs, Ownership, attrs_for
from encordfs.fs.cache import Caches
from encordfs.fs.content_cache import ContentStore
from encordfs.fs.content_reads import ContentReads
from encordfs.fs.directories import DirectoryOps, candidate_of
from encordfs.fs.errors import FsError, unwrap
from encordfs.fs.files import FileOps, Handle
from encordfs.fs.filetypes import judge_name
from encordfs.fs.forgotten import ForgottenModels
from encordfs.fs.hotfolders import HotFolders
from encordfs.fs.inodes import ROOT_INO, InodeTable, Kind, Node
from encordfs.fs.listing import Listing
from encordfs.fs.namespace import NamespaceOps
from encordfs.fs.options import MountOptions
from encordfs.fs.prefetch import FolderPrefetch
from encordfs.fs.recent_reads import RecentReads
from encordfs.fs.staging import Staging
from encordfs.fs.thumbnails import ThumbnailPolicy, Thumbnails
from encordfs.fs.upload_state import PendingFile, Phase
from encordfs.fs.usage import UsageCache
from encordfs.fs.walkahead import WalkAhead
from encordfs.fs.writer import Uploader
from encordfs.fs.writes import PendingReader, WriteFd
from encordfs.storage.errors import Forbidden, NotFound, StorageError, is_outage
from encordfs.storage.interface import Storage
from encordfs.wire.models import ItemRecord, StorageFolder, StorageItem

log = logging.getLogger(__name__)
_PENDING_PHASES = frozenset({Phase.JOURNALED, Phase.RETRY_WAIT, Phase.UPLOADING})
_NAME_HIT, _NAME_MISS = metrics.CACHE.labels("names", "hit"), metrics.CACHE.labels("names", "miss")

STATFS_BLOCK = 4096
FREE_BYTES = 1 << 40  # 1 TiB shown free: Encord has no quota; file managers check copies against it
FREE_INODES = 1 << 32
USER_NAMESPACE = "user."
MADE_HERE_MAX = 10_000
MAX_PATH_DEPTH = 64  # parts of a path named in a log line (a cut path is still a clue)
RENAMED_AWAY_SECONDS = 30.0
HIDDEN_SECONDS = 3600.0  # longer than any upload's PUT (its item is hidden from its slot on)
HIDDEN_MAX = 100_000
LISTING_WAIT = 0.2  # seconds a lookup waits for a listing on its way before searching itself


# Names desktops look up in every new mount (gvfs's trash monitor, volume info, autorun): they are
# not a reader going through a folder's files, so they never make a folder "hot".
_DESKTOP_PROBES = frozenset({".Trash", ".xdg-volume-info", "autorun.inf", ".hidden", ".directory"})


def _desktop_probe(name: str) -> bool:
    return name in _DESKTOP_PROBES or (name.startswith(".Trash-") and name[7:].isdigit())


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
        content: ContentStore | None = None,
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
        self._files: dict[int, PendingFile] = {}  # ino -> its local content and upload state (writes.py)
        self._local: dict[UUID, dict[str, PendingFile]] = {}  # target folder -> name -> file (listed if its state says so)
        self._draining = False  # shutting down: upload even what files still open hold
        # (folder, title) -> metadata of an item just renamed away from it (vim's `f` -> `f~`, then a
        # new `f`): the new file of that name carries it over
        # items the server has that are no file here: an upload's item before it has landed (the
        # file is listed from local state meanwhile) and an overwritten item, deleted or being deleted
        # (a listing page fetched before its delete may be read after it)
        self._hidden: TTLCache[UUID, bool] = TTLCache(maxsize=HIDDEN_MAX, ttl=HIDDEN_SECONDS)
        self._renamed_away: TTLCache[tuple[UUID, str], str | None] = TTLCache(maxsize=1024, ttl=RENAMED_AWAY_SECONDS)
        self._usage = UsageCache(storage, root_folder.uuid if root_folder else None, options.dir_ttl)
        self._walk = WalkAhead(self._list_ahead)
        self._hot = HotFolders()
        self._prefetch = FolderPrefetch(self._require_nursery)
        self._recent_reads = RecentReads()
        self._forgotten = ForgottenModels(options.dir_ttl)
        self.content = ContentReads(content, self._require_nursery)  # no store: no content cache
        self.thumbnails = Thumbnails(options.thumbnails)
        # folders this mount made: their listing started empty here, no name missing from it needs asking
        self._made_here: TTLCache[int, bool] = TTLCache(MADE_HERE_MAX, max(options.dir_ttl, 1e-9))

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

    def path_of(self, ino: int, name: str | None = None) -> str:
        """The mount-relative path of an inode (and of ``name`` in it), for log lines and
        ``encordfs status``: titles up to the root, ``#ino`` for one this mount no longer knows."""
        parts = [] if name is None else [name]
        node = self.inodes.get(ino)
        while node is not None and node.kind is not Kind.ROOT and len(parts) < MAX_PATH_DEPTH:
            parts.append(node.title or f"#{node.ino}")
            node = self.inodes.get(node.parent)
        if node is None:
            parts.append(f"#{ino}")
        return "/" + "/".join(reversed(parts))

    def path_of_handle(self, fh: int) -> str:
        handle = self._handles.get(fh)
        if isinstance(handle, Listing):
            return self.path_of(handle.directory)
        if isinstance(handle, (WriteFd, PendingReader)):
            return self.path_of(handle.file.node.ino)
        return ""

    def _add_handle(self, handle: Handle) -> int:
        fh = self._next_fh
        self._next_fh += 1
        self._handles[fh] = handle
        return fh

    def _known_size(self, node: Node) -> int | None:
        """The size without asking the server; None when only a HEAD can tell."""
        file = self._files.get(node.ino)
        if file is not None:
            return self.pending_size(file)
        if node.kind is Kind.PENDING:
            return 0
        record = node.record
        if node.kind.is_dir or record is None:
            return 0
        if record.file_size is not None:
            return record.file_size
        return None if node._extra is None else node._extra.get("size")

    async def file_size(self, node: Node) -> int:
        """The size ``stat`` shows (fetched with a HEAD when the listing did not tell)."""
        return await self._size(node)

    async def _size(self, node: Node) -> int:
        size = self._known_size(node)
        if size is None:
            item = node.item
            if item is None:
                raise FsError(errno.ENOENT, f"inode {node.ino} has no item")
            size = node.extra["size"] = await self.storage.content_length(item)
        return size

    def _attrs_now(self, node: Node) -> Attrs | None:
        """``_attrs`` if nothing has to be fetched for them (the usual case: a listed entry), else
        None. Built from the record's ints each time (cheap enough not to be kept)."""
        file = self._files.get(node.ino)
        if node.needs_model and file is None:
            return None
        size = self._known_size(node)
        if size is None:
            return None
        attrs = attrs_for(node, size, self._own, self._mount_ns)
        return attrs if file is None and node._extra is None else self._adjusted(node, file, attrs)

    def _adjusted(self, node: Node, file: PendingFile | None, attrs: Attrs) -> Attrs:
        """No link left once unlinked (open fds still read it); a file written here has the time
        of its last write."""
        if file is not None:
            return self._local_attrs(file, attrs)
        return attrs._replace(nlink=0) if node._extra is not None and node._extra.get("unlinked") else attrs

    def _local_attrs(self, file: PendingFile, attrs: Attrs) -> Attrs:
        """A file written here: modified when last written (not when its item was made), and
        with no link left once unlinked (its open handles still read it)."""
        if file.mtime_ns is not None:
            attrs = attrs._replace(mtime_ns=file.mtime_ns, ctime_ns=file.mtime_ns)
        return attrs._replace(nlink=0) if file.unlinked_here else attrs

    async def _attrs(self, node: Node) -> Attrs:
        attrs = self._attrs_now(node)
        if attrs is not None:
            return attrs
        if node.needs_model:
            await self._refresh(node)
        attrs = attrs_for(node, await self._size(node), self._own, self._mount_ns)
        return self._adjusted(node, self._files.get(node.ino), attrs)

    async def _loaded(self, node: Node) -> Node:
        """The node with its folder/item model (refetched if ``forget`` dropped it)."""
        if node.needs_model:
            await self._refresh(node)
        return node

    # --- names -> entries --------------------------------------------------------------------

    async def _search(self, dir_node: Node, text: str | None, *, folders: bool = True, items: bool = True) -> list[_Found]:
        """Entries of a folder whose titles contain ``text`` (all entries when None): its folders,
        its items, or both at once (one round trip, not two)."""
        parent = dir_node.uuid
        found_folders: list[_Found] = []
        found_items: list[_Found] = []

        async def search_folders() -> None:
            found_folders.extend([_Found(candidate_of(f), folder=f) async for f in self.storage.iter_folders(parent, search=text)])

        async def search_items(folder: UUID) -> None:
            found_items.extend([_Found(candidate_of(i), item=i) async for i in self.storage.iter_items(folder, search=text)])

        try:
            async with trio.open_nursery() as nursery:
                if folders:
                    nursery.start_soon(search_folders)
                if items and parent is not None:
                    nursery.start_soon(search_items, parent)
        except BaseExceptionGroup as group:  # the caller handles a StorageError, not a group of them
            failed = group.subgroup(StorageError)
            if failed is None:
                raise
            raise unwrap(failed) from None
        return found_folders + found_items

    async def _search_name(self, dir_node: Node, name: str, text: str | None, exact: bool, *, listed: bool) -> Node | None:
        """The entry named ``name``, from a search for ``text`` (``exact``: only titles equal to it
        can carry the name). A name without a media extension is most likely a folder (a typed
        path is folders but its last part): its folders are searched alone first, which settles
        it when one has the name (a folder keeps the plain name before any item). Other names
        search folders and items at once; only items when confirming a name missing from a cached
        listing (``listed``): a folder of that title would be listed under it already, so only a
        folder made elsewhere since, and named like a media file, waits for ``dir_ttl`` (a new
        file written into a listed folder costs one request, not two)."""
        media = judge_name(name)[1] is not None
        alone = exact and not media and dir_node.uuid is not None
        if exact and media and listed and dir_node.uuid is not None:
            return self._named(dir_node, name, await self._search(dir_node, text, folders=False), text)
        found = await self._search(dir_node, text, items=not alone)
        node = self._named(dir_node, name, found, text if exact else None)
        if node is None and alone:
            found += await self._search(dir_node, text, folders=False)
            node = self._named(dir_node, name, found, text)
        return node

    def _named(self, dir_node: Node, name: str, found: list[_Found], title: str | None) -> Node | None:
        found = [f for f in found if f.candidate.uuid not in self._hidden]
        if title is not None:
            found = [f for f in found if f.candidate.title == title]
        by_candidate = {f.candidate: f for f in found}
        for entry_name, candidate in names.assign_names(by_candidate):
            if entry_name == name:
                node = self._node_for(by_candidate[candidate], dir_node.ino)
                self.caches.note_found(dir_node.ino, name, node.ino)
                return None if self._shadowed(node) else node
        return None

    def _node_for(self, found: _Found, dir_ino: int) -> Node:
        if found.folder is not None:
            node = self.inodes.for_folder(found.folder, dir_ino)
        else:
            assert found.item is not None
            node = self.inodes.for_item(found.item, dir_ino)
        self.caches.mark_fresh(node.ino)
        return node

    async def _resolve(self, dir_node: Node, name: str) -> Node | None:
        """The node named ``name`` in a directory, asking the server only for that name. A name
        missing from a cached listing is asked about once (then known missing for
        ``negative_ttl``), so what was made elsewhere since the listing opens by its path at once;
        not in an image group (never changes) nor in a folder this mount made within ``dir_ttl``."""
        local = self._local_entry(dir_node, name)
        if local is not None:
            return local.node
        listing = self.caches.listing(dir_node.ino)
        if listing is not None and name in listing:
            _NAME_HIT.inc()
            node = self.inodes.get(listing[name])
            return None if node is None or self._shadowed(node) else node
        found = self.caches.found(dir_node.ino, name)
        if found is not None and (node := self.inodes.get(found)) is not None:
            _NAME_HIT.inc()
            return None if self._shadowed(node) else node
        if self.caches.is_negative(dir_node.ino, name) or (
            listing is not None and (dir_node.kind is Kind.GROUP or dir_node.ino in self._made_here)
        ):
            _NAME_HIT.inc()
            return None
        if listing is None and await self._listing_arrived(dir_node.ino):
            return await self._resolve(dir_node, name)
        if listing is None and dir_node.kind is Kind.GROUP:
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
        if listing is None and not _desktop_probe(name) and self._hot.note_miss(dir_node.ino):
            self._walk.list_ahead(self._require_nursery(), [dir_node.ino], hot=True)
        _NAME_MISS.inc()
        try:
            node = await self._search_name(dir_node, name, text, suffixed is None, listed=listing is not None)
        except StorageError as exc:
            stale = listing if listing is not None else self.caches.stale_listing(dir_node.ino)
            if stale is None or not is_outage(exc):
                raise
            log.debug("lookup of %r answered from the last listing (%s)", name, exc)
            ino = stale.get(name)
            return None if ino is None else self.inodes.get(ino)
        if node is None:
            self.caches.note_missing(dir_node.ino, name)
        return node

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
        walk over millions of files does not keep millions of models in memory; while their
        folder's listing is fresh they keep it a while longer (``forgotten``)."""
        for ino in self._forgotten.due():
            self._drop_model(ino)
        kept = []
        for ino, count in inodes:
            node = self.inodes.forget(ino, count)
            if node is None:
                continue
            if self.caches.listing(node.parent) is not None:
                kept.append(ino)
            else:
                self._drop_model(ino)
        self._forgotten.keep(kept)

    def _drop_model(self, ino: int) -> None:
        """Drop the model of an inode the kernel does not reference (refetched on its next use)."""
        node = self.inodes.get(ino)
        if node is None or node.lookups or node.kind not in (Kind.FILE, Kind.GROUP, Kind.FOLDER) or ino in self._files:
            return
        node.drop_model()
        self.caches.stale(ino)

    async def getattr(self, ino: int) -> Attrs:
        node = self._node(ino)
        if not self.caches.is_fresh(ino):
            try:
                await self._refresh(node)
            except StorageError as exc:
                if not is_outage(exc) or node.needs_model:
                    raise
                log.debug("attributes of inode %d served past their TTL (%s)", ino, exc)
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
        """Only the size can change; modes, owners and times are accepted and ignored: Encord keeps
        none of them. ``truncate(path)`` of a file nobody has open for writing is an open, an
        ``ftruncate`` and a close: a new version is journaled (its refusal is truncate's error)."""
        node = self._node(ino)
        if size is not None:
            unchanged = size == await self._size(node)
            if not unchanged:
                self._may_truncate(node, size)
            file = self._files.get(ino)
            if file is not None and file.writers:
                await self._truncate_file(file, size)
            elif not unchanged:
                await self._truncate_closed(await self._loaded(node), size)
        return await self.getattr(ino)

    def pending_uploads(self) -> int:
        """Files whose newest version waits for its upload or is being uploaded (what a drain
        waits for; systemd's STATUS and the metrics show it)."""
        return sum(1 for f in list(self._files.values()) if f.phase in _PENDING_PHASES)

    def failed_uploads(self) -> int:
        """Files the server refused for good (kept, listed, retried only when asked)."""
        return sum(1 for f in list(self._files.values()) if f.phase is Phase.FAILED)

    def _may_truncate(self, node: Node, size: int) -> None:
        """Refuse at the call a size no item of the file's type can have (an empty image), rather
        than truncating the staged copy and seeing the upload refuse it after close. The type is
        the item's, or for a file not uploaded yet the one its name says."""
        file = self._files.get(node.ino)
        title = file.target.title if file is not None else node.title
        item_type = node.record.item_type if node.record is not None else filetypes.type_of_name(title)
        if not filetypes.may_truncate(item_type, size):
            kind = item_type.value if item_type is not None else "file"
            raise FsError(errno.ENOTSUP, f"{title!r}: an empty {kind} cannot be an Encord item; only text may be empty")

    def forget_usage(self) -> None:
        """``df`` asks the server again next time (a refresh of the root)."""
        self._usage.forget()

    async def statfs(self) -> FsStats:
        """Used = the bytes stored under the root (folder summaries). Encord has no quota to
        report, so the free space is a fixed ``FREE_BYTES`` and the size used + free: a drive of
        believable size ("1 TB free of 1.2 TB", not "1.1 PB") that file managers let a copy into."""
        usage = await self._usage.usage()
        used = -(-usage.bytes // STATFS_BLOCK)
        free = FREE_BYTES // STATFS_BLOCK
        return FsStats(STATFS_BLOCK, used + free, free, usage.entries + FREE_INODES, FREE_INODES)

    # --- opens by thumbnailers (see thumbnails.py) ---------------------------------------------

    async def open(self, ino: int, flags: int, pid: int | None = None) -> tuple[int, bool]:
        """``FileOps.open``, after the thumbnail policy for the opening process ``pid``."""
        if pid and not flags & (os.O_WRONLY | os.O_RDWR) and self.thumbnails.policy is not ThumbnailPolicy.ALL:
            node = await self._loaded(self._node(ino))
            if node.kind in (Kind.FILE, Kind.FRAME) and node.record is not None:
                self.thumbnails.check(pid, node.record.item_type, await self._size(node))
        return await super().open(ino, flags)

    # --- trash folders (see trash.py) --------------------------------------------------------

    def _refuse_in_trash(self, parent: int) -> None:
        if trash.in_trash(self.inodes, parent):
            raise FsError(errno.EPERM, "nothing can be created in a trash folder on Encord storage")

    async def create(self, parent: int, name: str, flags: int) -> tuple[int, Attrs]:
        self._refuse_in_trash(parent)
        return await super().create(parent, name, flags)

    async def mkdir(self, parent: int, name: str) -> Attrs:
        self._refuse_in_trash(parent)
        return await super().mkdir(parent, name)

    async def rename(self, old_parent: int, old_name: str, new_parent: int, new_name: str, *, noreplace: bool, exchange: bool) -> None:
        if new_parent != old_parent:  # a rename within a leftover trash folder moves nothing into it
            self._refuse_in_trash(new_parent)
        await super().rename(old_parent, old_name, new_parent, new_name, noreplace=noreplace, exchange=exchange)

    # --- extended attributes -----------------------------------------------------------------

    @staticmethod
    def _model(node: Node) -> xattrs.Model | None:
        """The folder or item whose attributes a node shows (None: a file not uploaded yet)."""
        if node.kind in (Kind.ROOT, Kind.FOLDER):
            return node.folder
        return node.item

    def _upload_xattrs(self, ino: int) -> dict[str, bytes]:
        """A file written here, until the server has it: its upload state and last error (for
        the user to see why a file is not on Encord yet). Answered at once, never waiting."""
        file = self._files.get(ino)
        if file is None or not file.listed:
            return {}
        values = {xattrs.UPLOAD_STATE: file.phase.value.encode()}
        if file.upload_error:
            values[xattrs.UPLOAD_ERROR] = file.upload_error.encode()
        return values

    async def listxattr(self, ino: int) -> list[str]:
        await self._upload_landed(self._node(ino))  # waits only while an upload is on its way
        upload = list(self._upload_xattrs(ino))
        if upload and self._node(ino).item is None:  # failed, or waiting to retry: nothing on the server yet
            return upload
        node = await self._loaded(self._node(ino))
        model = self._model(node)
        keys = upload + ([] if model is None else xattrs.names(model))
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
        if name in (xattrs.UPLOAD_STATE, xattrs.UPLOAD_ERROR):
            if name == xattrs.UPLOAD_ERROR:  # the outcome of an upload on its way: wait for it
                await self._upload_landed(node)
            value = self._upload_xattrs(ino).get(name)
            if value is None:
                raise FsError(errno.ENODATA)
            return value
        await self._upload_landed(node)
        if name == xattrs.DATASET_LINKS and node.kind in (Kind.FILE, Kind.GROUP) and node.item is not None:
            return str(await self.storage.dataset_link_count(node.item)).encode()
        if not self.caches.is_fresh(ino) and node.kind is not Kind.PENDING:
            await self._refresh(node)
        model = self._model(await self._loaded(node))
        value = None if model is None else xattrs.value(model, name)
        if value is None:
            raise FsError(errno.ENODATA)
        return value

    async def setxattr(self, ino: int, name: str, value: bytes) -> None:
        """One PATCH of the item or folder; a change of one metadata key is made on the newest
        metadata (fetched first), so keys others set meanwhile are kept."""
        if not name.startswith(xattrs.PREFIX):
            raise FsError(errno.ENOTSUP, f"{name} cannot be set", quiet=True)
        node = await self._patchable(ino, fresh=xattrs.is_per_key(name))
        await self._patch(node, xattrs.set_patch(self._patched_model(node), name, value))

    async def removexattr(self, ino: int, name: str) -> None:
        if not name.startswith(xattrs.PREFIX):
            raise FsError(errno.ENOTSUP if not name.startswith(USER_NAMESPACE) else errno.ENODATA, quiet=True)
        node = await self._patchable(ino, fresh=xattrs.is_per_key(name))
        await self._patch(node, xattrs.remove_patch(self._patched_model(node), name))

    async def _patchable(self, ino: int, *, fresh: bool) -> Node:
        node = self._node(ino)
        self._writable(node)
        await self._upload_landed(node)
        if fresh and node.kind is not Kind.PENDING:
            await self._refresh(node)
        return await self._loaded(node)

    def _patched_model(self, node: Node) -> xattrs.Model:
        model = self._model(node)
        if model is None or node.kind not in (Kind.FILE, Kind.FOLDER, Kind.ROOT):
            raise FsError(errno.ENOTSUP, "no metadata here")
        return model

    async def _patch(self, node: Node, patch: xattrs.Patch) -> None:
        if node.kind is Kind.FILE:
            assert node.item is not None
            node.item = await self.storage.update_item(node.item, client_metadata=patch.client_metadata)
        else:
            assert node.folder is not None
            node.folder = await self.storage.update_folder(
                node.folder.uuid, description=patch.description, client_metadata=patch.client_metadata
            )
        self.caches.mark_fresh(node.ino)

    def _new_title(self, name: str) -> str:
        if trash.is_trash_name(name):
            raise FsError(errno.EPERM, f"{name!r}: no trash folders on Encord storage (delete instead)")
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
        if node.kind is Kind.FOLDER:
            self._made_here[node.ino] = True
        self.notifier.entry_changed(parent, name)

    def _removed(self, parent: int, name: str, node: Node | None) -> None:
        self.caches.note_removed(parent, name)
        self.caches.note_missing(parent, name)
        self.caches.stale(parent)
        self.notifier.entry_changed(parent, name)
