"""Reads of items' bytes through the content cache (``content_cache.ContentStore``).

``read(version, offset, length, fetch)`` answers a chunk-aligned range from the store when every
chunk of it is there (a thread reads the files: no network), and otherwise fetches the chunks from
the first missing one to the last (the network) and takes those around them from the store, handing the fetched chunks to a background task that writes them (in batches, in a
worker thread), so a first read waits for no disk write. Fetched bytes waiting to be written are bounded by ``MAX_PENDING_BYTES``:
beyond that (a disk slower than the network), chunks are not kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from encordfs import metrics
from encordfs.fs.content_cache import CHUNK_SIZE, ContentStore, Version, entry_key

Fetch = Callable[[int, int], Awaitable[bytes]]

MAX_PENDING_BYTES = 64 << 20
GATHER_SECONDS = 0.02  # a write waits this long for more to batch with
FILL_SPAN = 8 * CHUNK_SIZE  # bytes per GET when warming (as the Reader's spans)


class ContentReads:
    def __init__(self, store: ContentStore | None, nursery: Callable[[], trio.Nursery]) -> None:
        self.store = store  # None: the cache is off (--cache-size 0)
        self._nursery = nursery
        self._pending = 0  # bytes queued for writing
        self._queue: list[tuple[list[str], bytes]] = []  # (keys, bytes) fetched, to be written
        self._writing = False  # a task is writing the queue
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
        missing = [i for i, key in enumerate(keys) if not store.has(key)]
        first, last = (missing[0], missing[-1] + 1) if missing else (len(keys), len(keys))
        around = keys[:first] + keys[last:]  # the chunks before and after the missing ones
        parts = await trio.to_thread.run_sync(lambda: [store.get(k) for k in around]) if around else []
        if any(p is None for p in parts):  # torn: fetch them all
            first, last, parts = 0, len(keys), [b""] * len(around)
        if first == last:
            self.hits += 1
            metrics.CACHE.labels("content", "hit").inc()
            return b"".join(p or b"" for p in parts)
        self.misses += 1
        metrics.CACHE.labels("content", "miss").inc()
        start, end = offset + first * CHUNK_SIZE, min(offset + last * CHUNK_SIZE, offset + length)
        fetched = await fetch(start, end - start)
        if len(fetched) == end - start and self._pending + len(fetched) <= MAX_PENDING_BYTES:
            self._pending += len(fetched)
            self._queue.append((keys[first:last], fetched))
            if len(self._queue) == 1 and not self._writing:
                self._writing = True
                self._nursery().start_soon(self._write_queued, store)
        if not around:
            return fetched
        return b"".join(p or b"" for p in parts[:first]) + fetched + b"".join(p or b"" for p in parts[first:])

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

    async def _write_queued(self, store: ContentStore) -> None:
        """Write what reads queued, all that has queued meanwhile in one worker-thread call: one
        thread hop per batch, not per file, when many small files are read at once."""
        try:
            while self._queue:
                await trio.sleep(GATHER_SECONDS)  # let the reads just behind this one queue theirs
                batch, self._queue = self._queue, []
                try:
                    await trio.to_thread.run_sync(self._write_batch, store, batch)
                finally:
                    self._pending -= sum(len(data) for _, data in batch)
        finally:
            self._writing = False

    @classmethod
    def _write_batch(cls, store: ContentStore, batch: list[tuple[list[str], bytes]]) -> None:
        for keys, data in batch:
            cls._write(store, keys, data)

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
