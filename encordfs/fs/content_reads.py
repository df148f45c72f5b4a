"""Reads of items' bytes through the content cache (``content_cache.ContentStore``).

``read(version, offset, length, fetch)`` answers a chunk-aligned range from the store when every
chunk of it is there (a thread reads the files: no network), and otherwise from ``fetch`` (the
network), handing the fetched chunks to the store afterwards in the background, so a first read
waits for no disk write. Fetched bytes waiting to be written are bounded by ``MAX_PENDING_BYTES``:
beyond that (a disk slower than the network), chunks are not kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from encordfs import metrics
from encordfs.fs.content_cache import CHUNK_SIZE, ContentStore, Version, entry_key

Fetch = Callable[[int, int], Awaitable[bytes]]

MAX_PENDING_BYTES = 64 << 20
FILL_SPAN = 8 * CHUNK_SIZE  # bytes per GET when warming (as the Reader's spans)


class ContentReads:
    def __init__(self, store: ContentStore | None, nursery: Callable[[], trio.Nursery]) -> None:
        self.store = store  # None: the cache is off (--cache-size 0)
        self._nursery = nursery
        self._pending = 0
        self.hits = 0  # ranges answered from the cache
        self.misses = 0  # ranges fetched

    def cached(self, version: Version, offset: int, length: int) -> bool:
        """Whether the range is all in the cache (no IO)."""
        keys = self._keys(version, offset, length)
        return self.store is not None and keys is not None and all(map(self.store.has, keys))

    async def read(self, version: Version, offset: int, length: int, fetch: Fetch) -> bytes:
        store, keys = self.store, self._keys(version, offset, length)
        if store is None or keys is None:
            return await fetch(offset, length)
        if all(map(store.has, keys)):
            parts = await trio.to_thread.run_sync(lambda: [store.get(k) for k in keys])
            if all(p is not None for p in parts):
                self.hits += 1
                metrics.CACHE.labels("content", "hit").inc()
                return b"".join(p for p in parts if p is not None)
        self.misses += 1
        metrics.CACHE.labels("content", "miss").inc()
        data = await fetch(offset, length)
        if len(data) == length and self._pending + length <= MAX_PENDING_BYTES:
            self._pending += length
            self._nursery().start_soon(self._keep, store, keys, data)
        return data

    async def fill(self, version: Version, fetch: Fetch) -> tuple[int, int]:
        """Put the whole item in the cache now (``encordfs warm``), one GET per ``FILL_SPAN`` that
        is not all there yet, each written before the next is fetched: (bytes fetched, bytes that
        were cached already). Nothing when the cache is off."""
        store, size = self.store, version[2]
        fetched = cached = 0
        if store is None:
            return fetched, cached
        for offset in range(0, size, FILL_SPAN):
            length = min(FILL_SPAN, size - offset)
            keys = self._keys(version, offset, length) or []
            if all(map(store.has, keys)):
                cached += length
                continue
            data = await fetch(offset, length)
            await trio.to_thread.run_sync(self._write, store, keys, data)
            fetched += length
        return fetched, cached

    async def _keep(self, store: ContentStore, keys: list[str], data: bytes) -> None:
        try:
            await trio.to_thread.run_sync(self._write, store, keys, data)
        finally:
            self._pending -= len(data)

    @staticmethod
    def _write(store: ContentStore, keys: list[str], data: bytes) -> None:
        view = memoryview(data)
        for index, key in enumerate(keys):
            if not store.has(key):
                store.put(key, view[index * CHUNK_SIZE : (index + 1) * CHUNK_SIZE])

    @staticmethod
    def _keys(version: Version, offset: int, length: int) -> list[str] | None:
        """The entries of a range made of whole chunks (the last may end at the end of the item);
        None for any other range (not cached)."""
        size = version[2]
        end = offset + length
        if length <= 0 or offset % CHUNK_SIZE or end > size or (end % CHUNK_SIZE and end != size):
            return None
        return [entry_key(version, index) for index in range(offset // CHUNK_SIZE, (end + CHUNK_SIZE - 1) // CHUNK_SIZE)]
