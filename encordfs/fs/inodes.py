"""The inode table: stable inode numbers for storage entries, with what each one is.

A number, once given to a storage entry (a folder, an item, or a frame of a multi-file item), stays
with it for the life of the mount, across renames and moves (the key is the UUID, not the path).
Files being written get a number at create and keep it when their upload gives them a UUID.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any
from uuid import UUID

from encordfs.wire.models import ItemRecord, StorageFolder, StorageItem

ROOT_INO = 1


class Kind(Enum):
    ROOT = "root"
    FOLDER = "folder"
    FILE = "file"
    GROUP = "group"  # an image group / sequence / DICOM series: a read-only directory of frames
    FRAME = "frame"  # one frame/file of a group
    PENDING = "pending"  # a new file being written, not yet uploaded

    # Plain attributes of each member, set below: asked per listed entry, and a property reading
    # ``Kind.ROOT`` and friends cost more than the rest of a warm readdir's attributes.
    is_dir: bool
    read_only: bool
    holds_item: bool  # its node's model is an item (a folder's is a folder)


for _kind in Kind:
    _kind.is_dir = _kind in (Kind.ROOT, Kind.FOLDER, Kind.GROUP)
    _kind.read_only = _kind in (Kind.GROUP, Kind.FRAME)
    _kind.holds_item = _kind in (Kind.FILE, Kind.GROUP)
_FOLDER = Kind.FOLDER


# Inodes are keyed by what they stand for: a folder or item UUID, a (group, frame) pair, or a
# local serial for a file that has no UUID yet.
Key = UUID | tuple[UUID, UUID] | int | None


@dataclass(slots=True)
class Node:
    """One inode. An item is kept as an ``ItemRecord`` (compact: a mount keeps one per listed
    entry); ``item`` rebuilds the full ``StorageItem`` for the few operations that read more than
    attributes and names (open, xattrs, renames)."""

    ino: int
    kind: Kind
    key: Key
    parent: int
    folder: StorageFolder | None = None
    record: ItemRecord | None = None
    lookups: int = 0
    _extra: dict[str, Any] | None = None

    @property
    def item(self) -> StorageItem | None:
        return None if self.record is None else self.record.item()

    @item.setter
    def item(self, item: StorageItem | None) -> None:
        self.record = None if item is None else ItemRecord.of(item)

    @property
    def extra(self) -> dict[str, Any]:
        """Per-node notes (a size from a HEAD, "changed"); made on first use, since most nodes of
        a big listing never need one."""
        if self._extra is None:
            self._extra = {}
        return self._extra

    def drop_model(self) -> None:
        """Forget the folder/item model and what was derived from it (refetched on next use)."""
        self.record = self.folder = self._extra = None

    @property
    def uuid(self) -> UUID | None:
        """The folder or item this node stands for (None: the storage root, a file not uploaded)."""
        if isinstance(self.key, UUID):
            return self.key
        return self.record.uuid if self.record is not None else None

    @property
    def needs_model(self) -> bool:
        """Its model was dropped to save memory (see ``InodeTable.forget``) and must be refetched."""
        if self.kind.holds_item:
            return self.record is None
        return self.kind is _FOLDER and self.folder is None

    @property
    def title(self) -> str:
        if self.record is not None:
            return self.record.name
        if self.folder is not None:
            return self.folder.name
        return ""


class InodeTable:
    """ino -> Node (a list: inode numbers are handed out in order, so a number is its index; a
    gone node leaves None), and key -> ino so the same entry always gets the same number."""

    def __init__(self, root_folder: StorageFolder | None) -> None:
        self._by_key: dict[Key, int] = {}
        self._serials = itertools.count(1)
        root = Node(ROOT_INO, Kind.ROOT, root_folder.uuid if root_folder else None, ROOT_INO, folder=root_folder)
        self._nodes: list[Node | None] = [None] * ROOT_INO + [root]
        if root_folder is not None:
            self._by_key[root_folder.uuid] = ROOT_INO

    def __getitem__(self, ino: int) -> Node:
        node = self.get(ino)
        if node is None:
            raise KeyError(ino)
        return node

    def get(self, ino: int) -> Node | None:
        return self._nodes[ino] if 0 <= ino < len(self._nodes) else None

    def nodes(self) -> Iterator[Node]:
        """Every live node, in inode order."""
        return (node for node in self._nodes if node is not None)

    def by_key(self, key: Key) -> Node | None:
        ino = self._by_key.get(key)
        return None if ino is None else self.get(ino)

    def for_folder(self, folder: StorageFolder, parent: int) -> Node:
        node = self._ensure(folder.uuid, Kind.FOLDER, parent)
        node.folder, node.parent = folder, parent
        return node

    def for_item(self, item: StorageItem, parent: int) -> Node:
        kind = Kind.GROUP if item.item_type.is_composite else Kind.FILE
        node = self._ensure(item.uuid, kind, parent)
        node.record, node.parent, node.kind = ItemRecord.of(item), parent, kind
        return node

    def for_frame(self, group: UUID, frame: StorageItem, parent: int) -> Node:
        node = self._ensure((group, frame.uuid), Kind.FRAME, parent)
        node.record, node.parent = ItemRecord.of(frame), parent
        return node

    def for_uuid(self, uuid: UUID, kind: Kind, parent: int = 0) -> Node:
        """The node of an entry known only by its UUID so far (its model is fetched on first use)."""
        return self._ensure(uuid, kind, parent)

    def new_pending(self, parent: int) -> Node:
        return self._ensure(next(self._serials), Kind.PENDING, parent)

    def bind_uploaded(self, node: Node, item: StorageItem) -> None:
        """A pending file's upload produced ``item``: the inode now stands for its UUID."""
        self._by_key.pop(node.key, None)
        old = self._by_key.get(item.uuid)
        if old is not None and old != node.ino:
            self._nodes[old] = None
        node.key, node.kind, node.record = item.uuid, Kind.FILE, ItemRecord.of(item)
        self._by_key[item.uuid] = node.ino

    def _ensure(self, key: Key, kind: Kind, parent: int) -> Node:
        ino = self._by_key.get(key)
        if ino is not None:
            node = self._nodes[ino]
            if node is not None:
                return node
        node = Node(len(self._nodes), kind, key, parent)
        self._nodes.append(node)
        self._by_key[key] = node.ino
        return node

    def forget(self, ino: int, count: int) -> Node | None:
        """The kernel dropped ``count`` references; the node if none are left. The number stays
        reserved for the entry's key whatever happens."""
        node = self.get(ino)
        if node is None:
            return None
        node.lookups = max(0, node.lookups - count)
        return node if node.lookups == 0 else None
