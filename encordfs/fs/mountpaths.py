"""Mount paths of storage entries found some other way (a server-side search): the path ``ls``
would show, so ``encordfs search ... | xargs cat`` opens exactly the items found.

A name depends on the entries sharing its title in its folder (``names``), so each entry is named
from the folder's cached listing when there is one, else from one search for its title
(``Filesystem.title_group``, the request a lookup of that name makes). A folder with more than
``SEARCHES_PER_FOLDER`` entries to name is listed instead, once (a search per entry of a 100,000-item
folder would cost 100,000 requests); that listing is kept for the life of the ``MountPaths`` (one
command), like the folder paths, which come from ``pathToRoot``.

``title_paths`` needs no request per entry at all: it is given every item of one title in the
folders concerned (a search that filters by name only, in name order, returns same-titled items
together and all of them, since they match alike), so only the folders' subfolders (a folder
keeps its plain name before any item) are asked for, once per folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

import trio

from encordfs.fs import names as naming
from encordfs.fs.directories import candidate_of
from encordfs.fs.inodes import ROOT_INO, Node
from encordfs.wire.models import StorageFolder, StorageItem

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem

SEARCHES_PER_FOLDER = 50


class MountPaths:
    def __init__(self, fs: Filesystem) -> None:
        self.fs = fs
        root = fs.inodes[ROOT_INO]
        self._folders: dict[UUID | None, tuple[Node, str] | None] = {root.uuid: (root, "")}
        self._reversed: dict[int, dict[int, str]] = {}  # dir ino -> (ino -> name) of its listing
        self._searched: dict[int, int] = {}  # dir ino -> entries named by a title search
        self._listing: dict[int, trio.Lock] = {}  # one listing of a folder at a time
        self._subfolders: dict[int, dict[str, list[StorageFolder]]] = {}  # dir ino -> its subfolders by title

    def know(self, node: Node, path: str) -> None:
        """A directory whose mount path the caller already has (where a search starts)."""
        if node.uuid is not None or node.ino == ROOT_INO:
            self._folders[node.uuid] = (node, path)

    async def item_path(self, item: StorageItem) -> str | None:
        """The item's mount-relative path; None when it is outside the mount (or gone meanwhile)."""
        parent = await self.folder(item.parent)
        if parent is None:
            return None
        node, path = parent
        name = await self._name_in(node, item.uuid, item.name)
        return None if name is None else _join(path, name)

    async def title_paths(self, items: list[StorageItem]) -> list[str | None]:
        """Mount paths of ``items``, which share one title and are all the items of that title in
        their folders (see the module doc); None for those outside the mount."""
        by_parent: dict[UUID, list[StorageItem]] = {}
        for item in items:
            by_parent.setdefault(item.parent, []).append(item)
        paths: dict[UUID, str] = {}
        for parent, group in by_parent.items():
            found = await self.folder(parent)
            if found is None:
                continue
            dir_node, dir_path = found
            listed = await self._names_of(dir_node)
            if listed is None:
                folders = (await self._folders_of(dir_node)).get(group[0].name, [])
                for name, item in _named_group(group, folders):
                    paths[item.uuid] = _join(dir_path, name)
                continue
            for item in group:
                name = await self._name_in(dir_node, item.uuid, item.name)
                if name is not None:
                    paths[item.uuid] = _join(dir_path, name)
        return [paths.get(item.uuid) for item in items]

    async def _folders_of(self, dir_node: Node) -> dict[str, list[StorageFolder]]:
        folders = self._subfolders.get(dir_node.ino)
        if folders is None:
            folders = {}
            async for folder in self.fs.storage.iter_folders(dir_node.uuid):
                folders.setdefault(folder.name, []).append(folder)
            self._subfolders[dir_node.ino] = folders
        return folders

    async def folder(self, uuid: UUID) -> tuple[Node, str] | None:
        """The folder's node and mount-relative path; None when it is not under the mount's root."""
        if uuid in self._folders:
            return self._folders[uuid]
        folder = await self.fs.storage.get_folder(uuid)
        chain = [(p.uuid, p.name) for p in folder.path_to_root if p.uuid != uuid] + [(uuid, folder.name)]
        root_uuid = self.fs.inodes[ROOT_INO].uuid
        uuids = [u for u, _ in chain]
        if root_uuid is not None:
            if root_uuid not in uuids:
                self._folders[uuid] = None
                return None
            chain = chain[uuids.index(root_uuid) + 1 :]
        node, path = self._folders[root_uuid]  # type: ignore[misc]
        for step, title in chain:
            known = self._folders.get(step)
            if known is None:
                name = await self._name_in(node, step, title)
                child = self.fs.inodes.by_key(step)
                if name is None or child is None:
                    self._folders[uuid] = None
                    return None
                known = (child, _join(path, name))
                self._folders[step] = known
            node, path = known
        return node, path

    async def _name_in(self, dir_node: Node, uuid: UUID, title: str) -> str | None:
        names = await self._names_of(dir_node)
        if names is not None:
            node = self.fs.inodes.by_key(uuid)
            name = None if node is None else names.get(node.ino)
            if name is not None:
                return name
        self._searched[dir_node.ino] = self._searched.get(dir_node.ino, 0) + 1
        return (await self.fs.title_group(dir_node, title)).get(uuid)

    async def _names_of(self, dir_node: Node) -> dict[int, str] | None:
        """ino -> name from the folder's listing: the one we have, the cached one, or (once the
        folder has had ``SEARCHES_PER_FOLDER`` title searches) a new one."""
        names = self._reversed.get(dir_node.ino)
        if names is not None:
            return names
        listing = self.fs.caches.listing(dir_node.ino)
        if listing is None and self._searched.get(dir_node.ino, 0) >= SEARCHES_PER_FOLDER:
            async with self._listing.setdefault(dir_node.ino, trio.Lock()):
                if dir_node.ino in self._reversed:
                    return self._reversed[dir_node.ino]
                listing = await self.fs.folder_listing(dir_node)
        if listing is None:
            return None
        names = self._reversed[dir_node.ino] = {ino: name for name, ino in listing.items()}
        return names


def _named_group(items: list[StorageItem], folders: list[StorageFolder]) -> list[tuple[str, StorageItem]]:
    """The names a listing gives items of one title next to ``folders`` of that title (as
    ``DirectoryOps._item_group`` names them)."""
    if len(items) == 1 and not folders:
        return [(naming.name_alone(items[0].name, items[0].uuid), items[0])]
    by_uuid = {i.uuid: i for i in items}
    candidates = [candidate_of(f) for f in folders] + [candidate_of(i) for i in items]
    return [(name, by_uuid[c.uuid]) for name, c in naming.name_group(candidates) if c.uuid in by_uuid]


def _join(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name
