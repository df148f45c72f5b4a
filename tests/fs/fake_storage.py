"""An in-memory ``Storage`` for filesystem core tests: folders, items, content, dataset links.

It behaves like Encord where the filesystem cares: unknown UUIDs are Forbidden, listings are by
name, ``search`` is a case-insensitive substring filter, uploads of a refused type fail.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from encordfs.storage.errors import Forbidden, ServerError
from encordfs.wire.enums import StorageItemType, StorageLocationName, StorageUserRole
from encordfs.wire.models import FolderSummary, StorageFolder, StorageItem

_clock = itertools.count()


def _now() -> datetime:
    """Strictly increasing times, so 'oldest' is well defined in tests."""
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=next(_clock))


class FakeStorage:
    def __init__(self) -> None:
        self.folders: dict[UUID, StorageFolder] = {}
        self.items: dict[UUID, StorageItem] = {}
        self.content: dict[UUID, bytes] = {}
        self.children: dict[UUID, list[UUID]] = {}
        self.links: dict[UUID, int] = {}
        self.calls: list[str] = []
        self.fail_uploads = False
        self.upload_error: Exception = ServerError("upload refused by the test", status=500)
        self.content_types: dict[str, str | None] = {}  # title -> the content_type= an upload was given

    # --- helpers for tests -----------------------------------------------------------------

    def add_folder(self, name: str, parent: UUID | None = None) -> StorageFolder:
        now = _now()
        folder = StorageFolder(uuid4(), parent, name, "", None, "me", now, now, StorageUserRole.ADMIN, None, ())
        self.folders[folder.uuid] = folder
        return folder

    def add_item(self, folder: UUID, name: str, data: bytes = b"", item_type: StorageItemType = StorageItemType.PLAIN_TEXT,
                 uuid: UUID | None = None, **media: Any) -> StorageItem:
        now = _now()
        item = StorageItem(uuid or uuid4(), folder, item_type, name, "{}", "me", now, now, 1, StorageLocationName.ENCORD,
                           file_size=media.pop("file_size", len(data)), **media)
        self.items[item.uuid] = item
        self.content[item.uuid] = data
        return item

    def add_group(self, folder: UUID, name: str, frames: dict[str, bytes]) -> StorageItem:
        group = self.add_item(folder, name, item_type=StorageItemType.IMAGE_GROUP, file_size=None)
        kids = []
        for title, data in frames.items():
            now = _now()
            frame = StorageItem(uuid4(), folder, StorageItemType.IMAGE, title, "{}", "me", now, now, 0,
                                StorageLocationName.ENCORD, file_size=len(data))
            self.content[frame.uuid] = data
            kids.append(frame)
        self.children[group.uuid] = [k.uuid for k in kids]
        for kid in kids:
            self.items.setdefault(kid.uuid, kid)
        self._hidden = getattr(self, "_hidden", set()) | {k.uuid for k in kids}
        return group

    def titles(self, folder: UUID) -> list[str]:
        return sorted(i.name for i in self._items_in(folder))

    def _items_in(self, folder: UUID) -> list[StorageItem]:
        hidden = getattr(self, "_hidden", set())
        return sorted((i for i in self.items.values() if i.parent == folder and i.uuid not in hidden), key=lambda i: i.name)

    # --- folders -----------------------------------------------------------------------------

    async def get_folder(self, folder: UUID) -> StorageFolder:
        self.calls.append("get_folder")
        if folder not in self.folders:
            raise Forbidden("no such folder", status=403)
        return self.folders[folder]

    async def iter_folders(self, parent: UUID | None, *, search: str | None = None, page_size: int = 1000) -> AsyncIterator[StorageFolder]:
        self.calls.append(f"iter_folders:{search}")
        for folder in sorted(self.folders.values(), key=lambda f: f.name):
            if folder.parent == parent and (not search or search.lower() in folder.name.lower()):
                yield folder

    async def create_folder(self, name: str, parent: UUID | None, *, description: str | None = None, client_metadata: Any = None) -> StorageFolder:
        return self.add_folder(name, parent)

    async def update_folder(self, folder: UUID, *, name: str | None = None, description: str | None = None, client_metadata: Any = None) -> StorageFolder:
        old = await self.get_folder(folder)
        self.calls.append("update_folder")
        new = replace(old, name=name if name is not None else old.name,
                      description=description if description is not None else old.description,
                      client_metadata=json.dumps(client_metadata) if client_metadata is not None else old.client_metadata,
                      last_edited_at=_now())
        self.folders[folder] = new
        return new

    async def move_folders(self, folders: list[UUID], new_parent: UUID | None) -> None:
        self.calls.append("move_folders")
        for uuid in folders:
            self.folders[uuid] = replace(self.folders[uuid], parent=new_parent)

    async def delete_folder(self, folder: UUID) -> None:
        self.calls.append("delete_folder")
        del self.folders[folder]

    async def folder_summary(self, folder: UUID) -> FolderSummary:
        items = self._items_in(folder)
        return FolderSummary(files=len(items), total_size=float(sum(i.file_size or 0 for i in items)))

    # --- items -------------------------------------------------------------------------------

    async def get_item(self, item: UUID, *, sign_url: bool = False) -> StorageItem:
        self.calls.append("get_item")
        if item not in self.items:
            raise Forbidden("no such item", status=403)
        return self.items[item]

    async def iter_items(
        self, folder: UUID, *, search: str | None = None, page_size: int = 1000, sign_urls: bool = False
    ) -> AsyncIterator[StorageItem]:
        self.calls.append(f"iter_items:{search}" + (":signed" if sign_urls else ""))
        for item in self._items_in(folder):
            if not search or search.lower() in item.name.lower():
                yield item

    async def child_items(self, item: StorageItem, *, sign_urls: bool = False) -> list[StorageItem]:
        return [self.items[u] for u in self.children.get(item.uuid, [])]

    async def update_item(self, item: StorageItem, *, name: str | None = None, client_metadata: Any = None) -> StorageItem:
        self.calls.append("update_item")
        old = await self.get_item(item.uuid)
        new = replace(old, name=name if name is not None else old.name,
                      client_metadata=json.dumps(client_metadata) if client_metadata is not None else old.client_metadata,
                      last_edited_at=_now())
        self.items[item.uuid] = new
        return new

    async def move_items(self, source: UUID, items: list[UUID], destination: UUID, *, allow_synced_dataset_move: bool = False) -> None:
        self.calls.append("move_items")
        for uuid in items:
            self.items[uuid] = replace(self.items[uuid], parent=destination)

    async def delete_items(self, folder: UUID, items: list[UUID], *, remove_unused_frames: bool = True) -> None:
        self.calls.append("delete_items")
        for uuid in items:
            del self.items[uuid]

    async def dataset_link_count(self, item: StorageItem) -> int:
        return self.links.get(item.uuid, 0)

    # --- data --------------------------------------------------------------------------------

    async def sign_ahead(self, item: UUID, neighbours: Iterable[UUID]) -> None:
        self.calls.append("sign_ahead")

    async def read_range(self, item: StorageItem, offset: int, length: int) -> bytes:
        self.calls.append("read_range")
        if item.uuid not in self.content:
            raise Forbidden("gone", status=403)
        return self.content[item.uuid][offset : offset + length]

    async def content_length(self, item: StorageItem) -> int:
        self.calls.append("content_length")
        return len(self.content[item.uuid])

    async def prepare_upload(self, folder: UUID, item_type: StorageItemType) -> None:
        self.calls.append("prepare_upload")

    async def upload_file(self, folder: UUID, path: Path, title: str, item_type: StorageItemType, *, client_metadata: Any = None,
                          content_type: str | None = None, on_slot: Any = None) -> StorageItem:
        self.calls.append("upload_file")
        self.content_types[title] = content_type
        slot = uuid4()
        if on_slot is not None:
            await on_slot(slot)
        if self.fail_uploads:
            raise self.upload_error
        return self.add_item(folder, title, Path(path).read_bytes(), item_type, uuid=slot)  # noqa: ASYNC240 (a test double)

    async def find_upload(self, slot_item: UUID) -> StorageItem | None:
        self.calls.append("find_upload")
        return self.items.get(slot_item)
