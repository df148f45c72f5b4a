"""Item calls of the storage client (a mixin of ``StorageClient``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any
from uuid import UUID

from encordfs.storage.models import ItemSummary, ReencodeState
from encordfs.storage.pages import iter_pages, results_of
from encordfs.storage.queries import ItemQuery, wire_bool
from encordfs.storage.transport import Transport
from encordfs.wire.models import Json, StorageItem

BULK_LIMIT = 1000


def _item_patch(name: str | None, client_metadata: Any) -> Json:
    patch: Json = {}
    if name is not None:
        patch["name"] = name
    if client_metadata is not None:
        patch["clientMetadata"] = client_metadata
    return patch


def _uuid_of(value: Any) -> UUID:
    return UUID(str(value))


class ItemApi:
    _transport: Transport
    item_from_wire: Callable[[Json], StorageItem]  # provided by DataPlane

    async def get_item(self, item: UUID, *, sign_url: bool = False) -> StorageItem:
        data = await self._transport.call(
            "GET", f"storage/items/{item}", operation="get item", params=[("signUrl", wire_bool(sign_url))]
        )
        return StorageItem.from_wire(data)

    async def get_items(self, items: Iterable[UUID], *, sign_urls: bool = False) -> list[StorageItem]:
        """Many items at once (``get-bulk``), in request order."""
        uuids = [str(i) for i in items]
        found: list[StorageItem] = []
        for start in range(0, len(uuids), BULK_LIMIT):
            body = {"itemUuids": uuids[start : start + BULK_LIMIT], "signUrls": sign_urls}
            page = await self._transport.call("POST", "storage/items/get-bulk", operation="get items", body=body)
            found.extend(StorageItem.from_wire(i) for i in results_of(page, "get items"))
        return found

    def iter_items(
        self, folder: UUID, *, search: str | None = None, page_size: int = 1000, sign_urls: bool = False
    ) -> AsyncIterator[StorageItem]:
        """Direct items of ``folder``, by name, page by page; stop early by leaving the loop.

        A search (a lookup by name: few results) always asks for signed URLs, other listings when
        ``sign_urls``; they go to the URL cache, so opening and reading what was found costs one
        GET, not an item call first."""
        query = ItemQuery(
            search=search, page_size=page_size, include_client_metadata=True, client_metadata_as_signed_url=False,
            sign_urls=sign_urls or search is not None,
        )
        path = f"storage/folders/{folder}/items"
        return iter_pages(self._transport, path, query, self.item_from_wire, operation="list items")

    def list_items(self, folder: UUID, query: ItemQuery) -> AsyncIterator[StorageItem]:
        """Items of ``folder`` with every SDK filter (``query.is_recursive`` for find_items)."""
        return iter_pages(self._transport, f"storage/folders/{folder}/items", query, StorageItem.from_wire, operation="list items")

    def find_items(self, folder: UUID, query: ItemQuery) -> AsyncIterator[StorageItem]:
        """Recursive search under ``folder`` (the SDK's find_items): needs a search or item types."""
        if not query.search and not query.item_types:
            raise ValueError("find_items needs a search text or item types")
        recursive = ItemQuery(
            search=query.search,
            is_recursive=True,
            is_in_dataset=query.is_in_dataset,
            item_types=query.item_types,
            order=query.order,
            desc=query.desc,
            page_size=query.page_size,
            sign_urls=query.sign_urls,
        )
        return self.list_items(folder, recursive)

    def search_items(self, query: ItemQuery) -> AsyncIterator[StorageItem]:
        """Organisation-wide item search (``storage/search/items``, deprecated in the SDK)."""
        return iter_pages(self._transport, "storage/search/items", query, StorageItem.from_wire, operation="search items")

    async def child_items(self, item: StorageItem, *, sign_urls: bool = False) -> list[StorageItem]:
        """Frames/files of an image group, image sequence or DICOM series ([] for other types)."""
        if not item.item_type.is_composite:
            return []
        page = await self._transport.call(
            "GET",
            f"storage/folders/{item.parent}/items/{item.uuid}/child-items",
            operation="child items",
            params=[("signUrls", wire_bool(sign_urls))],
        )
        return [self.item_from_wire(i) for i in results_of(page, "child items")]

    async def update_item(
        self, item: StorageItem, *, name: str | None = None, client_metadata: Any = None
    ) -> StorageItem:
        """PATCH is retried: the same fields sent twice leave the same state."""
        patch = _item_patch(name, client_metadata)
        if not patch:
            return await self.get_item(item.uuid)
        data = await self._transport.call(
            "PATCH", f"storage/folders/{item.parent}/items/{item.uuid}", operation="update item", body=patch
        )
        return StorageItem.from_wire(data)

    async def update_items(self, patches: dict[UUID, Json]) -> list[StorageItem]:
        """Bulk PATCH (``patch-bulk``, ≤1000 per request); patches use wire keys (name, clientMetadata)."""
        updated: list[StorageItem] = []
        uuids = list(patches)
        for start in range(0, len(uuids), BULK_LIMIT):
            chunk = {str(u): patches[u] for u in uuids[start : start + BULK_LIMIT]}
            page = await self._transport.call(
                "PATCH", "storage/items/patch-bulk", operation="update items", body={"itemPatches": chunk}
            )
            updated.extend(StorageItem.from_wire(i) for i in results_of(page, "update items"))
        return updated

    async def move_items(
        self, source: UUID, items: list[UUID], destination: UUID, *, allow_synced_dataset_move: bool = False
    ) -> None:
        body = {
            "itemUuids": [str(i) for i in items],
            "newParentUuid": str(destination),
            "allowSyncedDatasetMove": allow_synced_dataset_move,
        }
        await self._transport.call("POST", f"storage/folders/{source}/items/move", operation="move items", body=body)

    async def delete_items(self, folder: UUID, items: list[UUID], *, remove_unused_frames: bool = True) -> None:
        body = {"childUuids": [str(i) for i in items], "removeUnusedFrames": remove_unused_frames}
        await self._transport.call("POST", f"storage/folders/{folder}/items/delete", operation="delete items", body=body)

    async def item_summary(self, item: StorageItem) -> ItemSummary:
        data = await self._transport.call(
            "GET",
            f"storage/folders/{item.parent}/items/{item.uuid}/summary",
            operation="item summary",
            params=[("includeGroupLayout", "True")],
        )
        return ItemSummary.from_wire(data)

    async def dataset_link_count(self, item: StorageItem) -> int:
        """How many datasets use the item (its summary's usedInDatasets)."""
        return (await self.item_summary(item)).used_in_datasets

    # --- re-encoding ---------------------------------------------------------------------
    async def reencode_videos(self, items: list[UUID], process_title: str, *, force_full_reencoding: bool = False) -> UUID:
        """Start a re-encode. Not retried after an ambiguous failure: a second process would run."""
        body = {"storageItems": [str(i) for i in items], "processTitle": process_title, "forceFullReencoding": force_full_reencoding}
        data = await self._transport.call("POST", "storage/items/reencode", operation="reencode", body=body, idempotent=False)
        return _uuid_of(data)

    async def reencode_status(self, process: UUID) -> ReencodeState:
        data = await self._transport.call("GET", f"storage/items/reencode/{process}", operation="reencode status")
        return ReencodeState.from_wire(data)

