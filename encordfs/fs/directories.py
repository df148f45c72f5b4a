"""Directory operations of ``core.Filesystem`` (a mixin: the state and helpers live there).

Listings stream: folders first (their names never depend on items), then items page by page,
each title group named once all its members (adjacent, by name) have arrived.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from encordfs.fs import names
from encordfs.fs.attrs import Attrs, Ownership, attrs_for
from encordfs.fs.base import FsBase
from encordfs.fs.errors import FsError, unwrap
from encordfs.fs.inodes import Kind, Node
from encordfs.fs.listing import Entry, Listing, Prefetched
from encordfs.fs.walkahead import WalkAhead
from encordfs.storage.errors import StorageError, is_outage
from encordfs.wire.models import StorageFolder, StorageItem

if TYPE_CHECKING:
    pass

PAGE_SIZE = 1000
BATCH = PAGE_SIZE // 4  # divides a page, so each page is handed over as it arrives
AHEAD = 8  # batches fetched ahead of the reader: two pages

log = logging.getLogger(__name__)


def candidate_of(model: StorageFolder | StorageItem) -> names.Candidate:
    return names.Candidate(model.uuid, model.name, isinstance(model, StorageFolder), model.created_at)


class DirectoryOps(FsBase):
    """opendir/readdir/releasedir, mkdir, rmdir."""

    _own: Ownership
    _mount_ns: int
    _walk: WalkAhead

    async def opendir(self, ino: int) -> int:
        node = self._dir(ino)
        await self._walk.wait_for(ino)
        listing = self.caches.listing(ino)
        walking = False
        if node.kind is Kind.FOLDER:
            if listing is None:
                walking = self._walk_siblings(node)
            elif self._walk.entered(ino):  # listed ahead for a walk that has now reached it
                self._walk_children(listing)
        if listing is not None:
            entries = list(map(Entry._make, listing.items()))  # readdir skips inodes that went away
            return self._add_handle(Listing.complete(self._with_local(node, entries), directory=ino))
        if node.kind is Kind.GROUP:
            return self._add_handle(Listing(self._group_entries(node), directory=ino))

        version = self.caches.version(ino)
        source = self._folder_entries(node)
        stale = self.caches.stale_listing(ino)
        fallback = _StaleFallback(self._with_local(node, list(map(Entry._make, stale.items())))) if stale is not None else None
        if fallback is not None:
            source = fallback.entries(source)

        def complete(entries: list[Entry]) -> None:
            if fallback is not None and fallback.served:
                return  # the old listing was served: it must not pass for a fresh one
            self._store_listing(ino, entries, version)
            if walking:
                self._walk_children({e.name: e.ino for e in entries})

        return self._add_handle(Listing(source, on_complete=complete, directory=ino))

    def _walk_siblings(self, node: Node) -> bool:
        """``node``, a folder not listed yet, is being opened: if its parent is listed and another
        of its subfolders was opened before, this is probably a recursive walk, so its next
        sibling folders are listed ahead. True for a walk."""
        parent_listing = self.caches.listing(node.parent)
        if parent_listing is None or not self._walk.is_walk(node.parent, node.ino):
            return False
        inos = list(parent_listing.values())
        start = inos.index(node.ino) + 1 if node.ino in inos else 0
        self._walk.list_ahead(self._require_nursery(), [i for i in inos[start:] if self._unlisted_folder(i)])
        return True

    def _walk_children(self, listing: dict[str, int]) -> None:
        """A walk reached a folder: its subfolders are next, list them ahead (one level below the
        walk, never further: an ``ls`` of one folder does not start listing a whole tree)."""
        self._walk.list_ahead(self._require_nursery(), [i for i in listing.values() if self._unlisted_folder(i)])

    def _unlisted_folder(self, ino: int) -> bool:
        node = self.inodes.get(ino)
        return node is not None and (node.kind is Kind.FOLDER or node.kind is Kind.ROOT) and self.caches.listing(ino) is None

    async def _list_ahead(self, ino: int, hot: bool) -> bool:
        """A folder's listing into the cache (for ``WalkAhead``); False if there was nothing to do.
        ``hot``: its names are being looked up one by one, so its items come with signed URLs."""
        node = self.inodes.get(ino)
        if node is None or not self._unlisted_folder(ino):
            return False
        version = self.caches.version(ino)
        entries = [entry async for entry in self._folder_entries(node, sign_urls=hot)]
        self._store_listing(ino, entries, version)
        return True

    def dot_entries(self, fh: int) -> list[tuple[Entry, Attrs]]:
        """``.`` and ``..`` of an open directory, which ``ls -a`` expects before the listing. Their
        attributes come from the nodes as they are: the kernel takes no reference and no attributes
        from these two entries, so nothing is fetched for them."""
        listing = self._handles[fh]
        assert isinstance(listing, Listing)
        node = self._node(listing.directory)
        parent = self.inodes.get(node.parent) or node
        return [
            (Entry(".", node.ino), attrs_for(node, 0, self._own, self._mount_ns)),
            (Entry("..", parent.ino), attrs_for(parent, 0, self._own, self._mount_ns)),
        ]

    def _with_local(self, dir_node: Node, entries: list[Entry]) -> list[Entry]:
        """A cached listing with the files written here that the server does not have yet."""
        local = {name: file.node.ino for name, file in self._local_entries(dir_node)}
        if not local:  # the usual case: the cached listing as it is, no sort of a big folder
            return entries
        kept = [e for e in entries if e.name not in local and e.ino not in local.values()]
        return sorted(kept + [Entry(n, ino) for n, ino in local.items()], key=lambda e: e.name)

    def _store_listing(self, ino: int, entries: list[Entry], version: int) -> None:
        node = self.inodes.get(ino)
        local = {name for name, _ in self._local_entries(node)} if node is not None else set()
        self.caches.store_listing(ino, {e.name: e.ino for e in entries if e.name not in local}, version)

    async def _folder_entries(self, dir_node: Node, *, sign_urls: bool = False) -> AsyncIterator[Entry]:
        """Folders first (all of them: their names never depend on items), then items page by page,
        each title group named once all its members (adjacent, by name) have arrived. Both listings
        are fetched at once, a page or two ahead of the reader (see ``Prefetched``)."""
        parent = dir_node.uuid
        nursery = self._require_nursery()
        items: AsyncIterator[StorageItem] = (
            _no_items() if parent is None else self.storage.iter_items(parent, page_size=PAGE_SIZE, sign_urls=sign_urls)
        )
        async with (
            Prefetched(nursery, self.storage.iter_folders(parent, page_size=PAGE_SIZE), batch=BATCH, ahead=AHEAD) as folder_pages,
            Prefetched(nursery, items, batch=BATCH, ahead=AHEAD) as item_pages,
        ):
            folders = [f async for batch in folder_pages.batches() for f in batch]
            by_title: dict[str, list[StorageFolder]] = {}
            for folder in folders:
                by_title.setdefault(folder.name, []).append(folder)
            for name, candidate in names.assign_names(candidate_of(f) for f in folders):
                folder = next(f for f in by_title[candidate.title] if f.uuid == candidate.uuid)
                node = self.inodes.for_folder(folder, dir_node.ino)
                self.caches.mark_fresh(node.ino)
                yield Entry(name, node.ino)
            group: list[StorageItem] = []
            async for batch in item_pages.batches():
                for item in batch:
                    if group and item.name != group[0].name:
                        for entry in self._item_group(dir_node, group, by_title):
                            yield entry
                        group = []
                    group.append(item)
            for entry in self._item_group(dir_node, group, by_title):
                yield entry
        for name, file in sorted(self._local_entries(dir_node), key=lambda pair: pair[0]):
            yield Entry(name, file.node.ino)

    def _item_group(self, dir_node: Node, group: list[StorageItem], folders: dict[str, list[StorageFolder]]) -> list[Entry]:
        if self._hidden:
            group = [i for i in group if i.uuid not in self._hidden]
        if not group:
            return []
        if len(group) == 1 and group[0].name not in folders:  # the usual case: a title of its own
            named = [(names.name_alone(group[0].name, group[0].uuid), group[0])]
        else:
            same_title = [candidate_of(f) for f in folders.get(group[0].name, [])] + [candidate_of(i) for i in group]
            items = {i.uuid: i for i in group}
            named = [(name, items[c.uuid]) for name, c in names.name_group(same_title) if c.uuid in items]
        entries = []
        for name, item in named:
            if self._local_entry(dir_node, name) is None:  # a file written here takes its name
                node = self.inodes.for_item(item, dir_node.ino)
                if self._shadowed(node):  # an older version of a file written here, listed as that file
                    continue
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
        children = await self.storage.child_items(group_node.item, sign_urls=True)  # frames are read next
        by_uuid = {c.uuid: c for c in children}
        for name, candidate in names.assign_names(candidate_of(c) for c in children):
            node = self.inodes.for_frame(group_node.item.uuid, by_uuid[candidate.uuid], group_node.ino)
            self.caches.mark_fresh(node.ino)
            yield Entry(name, node.ino)

    async def readdir(self, fh: int, index: int) -> tuple[Entry, Attrs] | None:
        """The entry at ``index`` of an open directory (fetching pages as needed), or None at the end."""
        listing = self._handles[fh]
        assert isinstance(listing, Listing)
        while True:  # an entry already fetched, with attributes that need no call, takes no await
            entry = listing.entries[index] if index < len(listing.entries) else await listing.get(index)
            if entry is None:
                return None
            node = self.inodes.get(entry.ino)
            if node is not None:
                attrs = self._attrs_now(node)
                return entry, attrs if attrs is not None else await self._attrs(node)
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
        """Entries written here count; files deleted here whose upload is still landing do not
        (rmdir waits for them to delete what they made)."""
        if any(True for _ in self._local_entries(node)):
            return True
        if node.uuid is not None:
            await self._wait_for_uploads_into(node.uuid)
        async for _ in self.storage.iter_folders(node.uuid, page_size=1):
            return True
        async for _ in self.storage.iter_items(node.uuid, page_size=1):  # type: ignore[arg-type]
            return True
        return False


@dataclass
class _StaleFallback:
    """A folder's last listing, served in place of a fresh one the server cannot give."""

    stale: list[Entry]
    served: bool = False

    async def entries(self, source: AsyncIterator[Entry]) -> AsyncIterator[Entry]:
        """``source``, or the stale listing if the server cannot be reached before its first entry
        (a listing that broke off half-way fails: half a fresh listing and half an old one would
        be neither)."""
        started = False
        try:
            async for entry in source:
                started = True
                yield entry
        except (StorageError, BaseExceptionGroup) as exc:
            error = unwrap(exc)
            if started or not is_outage(error):
                raise
            log.info("listing served from before the outage (%s)", error)
            self.served = True
            for entry in self.stale:
                yield entry


async def _no_items() -> AsyncIterator[StorageItem]:
    """The storage root holds folders only."""
    return
    yield
