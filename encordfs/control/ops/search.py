"""``search``: a server-side item search under a folder, streamed as mount paths.

Results are asked for page by page (``list_items`` with the SDK's filters; ``isRecursive`` is
``find_items``) and sent in chunks of about ``CHUNK`` paths, each as one progress line as soon as
it is named, so the first paths of a huge folder arrive within a page's round trip.

Naming (``fs/mountpaths.py``): a search filtered by name only, in name order, brings every item of
a title together, so each title group is named on the spot (``MountPaths.title_paths``: no request
per item). Other searches (by type, dataset link, creation order) name each result by a search
for its title, or from the folder's listing once a folder has many results. The server orders by
name or creation time; ``size`` order is ours, so it gathers every result first.
"""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import trio

from encordfs.control.ops.common import folder_at, shown, storage_of
from encordfs.control.protocol import ControlError, Json
from encordfs.control.registry import Emit, operation
from encordfs.fs.mountpaths import MountPaths
from encordfs.storage.queries import ItemQuery
from encordfs.wire.enums import SortBy, StorageItemType
from encordfs.wire.models import StorageItem

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem

CHUNK = 50  # results sent per progress line (and named concurrently, when one by one)
FIRST_CHUNK = 8  # the first line comes sooner: fewer title searches before it
NAMING_CONCURRENCY = 16  # title searches in flight while naming a chunk
PAGE_SIZE = 1000
ORDERS = {"name": SortBy.NAME, "created": SortBy.CREATED_AT, "size": SortBy.NAME}


def _query(args: Json) -> ItemQuery:
    try:
        types = tuple(StorageItemType(t) for t in args.get("types") or ())
    except ValueError as exc:
        raise ControlError(f"unknown item type: {exc}", errno.EINVAL) from exc
    order = str(args.get("order") or "name")
    if order not in ORDERS:
        raise ControlError(f"unknown order {order!r} (name, created or size)", errno.EINVAL)
    in_dataset = args.get("in_dataset")
    return ItemQuery(
        search=args.get("name") or None,
        is_recursive=bool(args.get("recursive")),
        is_in_dataset=None if in_dataset is None else bool(in_dataset),
        item_types=types,
        order=ORDERS[order],
        desc=bool(args.get("desc")) and order != "size",
        page_size=int(args.get("page_size") or PAGE_SIZE),
    )


async def _found(fs: Filesystem, folders: list, query: ItemQuery) -> AsyncIterator[StorageItem]:
    for folder in folders:
        async for item in storage_of(fs).list_items(folder, query):
            yield item


async def _each_path(paths: MountPaths, chunk: list[StorageItem]) -> list[str | None]:
    """Mount paths of a chunk of results, named concurrently (a title search each, at most)."""
    named: list[str | None] = [None] * len(chunk)
    limiter = trio.CapacityLimiter(NAMING_CONCURRENCY)

    async def one(index: int) -> None:
        async with limiter:
            named[index] = await paths.item_path(chunk[index])

    async with trio.open_nursery() as nursery:
        for index in range(len(chunk)):
            nursery.start_soon(one, index)
    return named


@operation("search")
async def search(fs: Filesystem, args: Json, emit: Emit) -> Json:
    """Progress lines ``{"items": [{"path", "uuid", "type", "size", "created_at"}, ...]}``;
    the result ``{"count": N}``."""
    path = str(args.get("path", "")).strip("/")
    node = await folder_at(fs, path)
    query = _query(args)
    if node.uuid is not None:
        folders = [node.uuid]
    elif query.is_recursive:  # the storage root holds folders only: search each top-level folder
        folders = [f.uuid async for f in fs.storage.iter_folders(None)]
    else:
        raise ControlError(f"{shown(path)}: the storage root holds only folders (add --recursive)", errno.EINVAL)
    paths = MountPaths(fs)
    paths.know(node, path)
    found = _found(fs, folders, query)
    by_size = args.get("order") == "size"
    if by_size:
        everything = [item async for item in found]
        everything.sort(key=lambda i: (i.file_size or 0, i.name, i.uuid.hex), reverse=bool(args.get("desc")))
        found = _replay(everything)
    by_title = query.order is SortBy.NAME and not by_size and not query.item_types and query.is_in_dataset is None
    count = 0
    rows: list[Json] = []
    async for group in (_title_groups(found) if by_title else _chunks(found)):
        named = await (paths.title_paths(group) if by_title else _each_path(paths, group))
        rows.extend(_row(path, item) for path, item in zip(named, group) if path is not None)
        if len(rows) >= CHUNK or (rows and count == 0):
            await emit({"items": rows})
            count, rows = count + len(rows), []
    if rows:
        await emit({"items": rows})
    return {"count": count + len(rows)}


def _row(path: str, item: StorageItem) -> Json:
    return {"path": path, "uuid": str(item.uuid), "type": item.item_type.value, "size": item.file_size,
            "created_at": item.created_at.isoformat()}


async def _title_groups(found: AsyncIterator[StorageItem]) -> AsyncIterator[list[StorageItem]]:
    """Runs of results with the same title (name order puts them together)."""
    group: list[StorageItem] = []
    async for item in found:
        if group and item.name != group[0].name:
            yield group
            group = []
        group.append(item)
    if group:
        yield group


async def _chunks(found: AsyncIterator[StorageItem]) -> AsyncIterator[list[StorageItem]]:
    chunk: list[StorageItem] = []
    size = FIRST_CHUNK
    async for item in found:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk, size = [], CHUNK
    if chunk:
        yield chunk


async def _replay(items: list[StorageItem]) -> AsyncIterator[StorageItem]:
    for item in items:
        yield item
