"""``warm``: fetch a folder's (or a tree's) files into the content cache with many GETs at once,
so later reads (a training run's first epoch) touch no network; and ``content-cache``: its figures."""

from __future__ import annotations

import errno
import time
from typing import TYPE_CHECKING

import trio

from encordfs.control.protocol import ControlError, Json
from encordfs.control.registry import Emit, operation
from encordfs.fs.inodes import Kind, Node

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem

PARALLEL = 16  # files fetched at once
PROGRESS_EVERY = 0.25  # seconds between progress lines


@operation("warm")
async def warm(fs: Filesystem, args: Json, emit: Emit) -> Json:
    """Files under ``args["path"]`` (below its subfolders too with ``args["recursive"]``) in listing
    order, each while it fits with those before it within the cache's bound: more would only evict
    what was warmed. The rest are counted as skipped."""
    store = fs.content.store
    if store is None:
        raise ControlError("the content cache is off (--cache-size 0)", errno.EINVAL)
    files = await _files_under(fs, await fs.resolve_path(str(args.get("path", ""))), bool(args.get("recursive")))
    chosen: list[tuple[Node, int]] = []
    skipped: list[int] = []
    total = 0
    for node in files:
        size = await fs.file_size(node)
        if total + size > store.limit:
            skipped.append(size)
            continue
        chosen.append((node, size))
        total += size
    done = {"done_files": 0, "total_files": len(chosen), "done_bytes": 0, "total_bytes": total, "fetched_bytes": 0}
    last_line = 0.0
    limiter = trio.CapacityLimiter(PARALLEL)

    async def one(node: Node, size: int) -> None:
        nonlocal last_line
        async with limiter:
            fetched, _ = await fs.warm(node)
        done["done_files"] += 1
        done["done_bytes"] += size
        done["fetched_bytes"] += fetched
        if time.monotonic() - last_line >= PROGRESS_EVERY:
            last_line = time.monotonic()
            await emit(dict(done))

    async with trio.open_nursery() as nursery:
        for node, size in chosen:
            nursery.start_soon(one, node, size)
    await emit(dict(done))
    return {
        "path": str(args.get("path", "")),
        "files": len(chosen),
        "bytes": total,
        "fetched_bytes": done["fetched_bytes"],
        "skipped_files": len(skipped),
        "skipped_bytes": sum(skipped),
        "cache_bytes": store.bytes,
        "cache_limit": store.limit,
    }


async def _files_under(fs: Filesystem, node: Node, recursive: bool) -> list[Node]:
    """The files of a folder in listing order (depth first with ``recursive``); the node itself
    if it is a file. Multi-file items (image groups, DICOM series) are left out."""
    if not node.kind.is_dir:
        return [node]
    if node.kind is Kind.GROUP:
        return []
    found: list[Node] = []
    listing = await fs.folder_listing(node)
    for name in sorted(listing):
        child = fs.inodes.get(listing[name])
        if child is None:
            continue
        if child.kind is Kind.FILE:
            found.append(child)
        elif recursive and child.kind is Kind.FOLDER:
            found += await _files_under(fs, child, recursive)
    return found


@operation("content-cache")
async def content_cache(fs: Filesystem, args: Json, emit: Emit) -> Json | None:
    """The content cache's size, bound and hit counts (``encordfs status``); None when it is off."""
    store = fs.content.store
    if store is None:
        return None
    return {
        "bytes": store.bytes,
        "limit": store.limit,
        "entries": store.entries,
        "ttl": store.ttl,
        "hits": fs.content.hits,
        "misses": fs.content.misses,
        "directory": str(store.root),
    }
