"""Reading one item's content: ranged fetches in fixed chunks, adaptive read-ahead, bounded memory.

Reads are served from chunks of ``chunk_size`` bytes. A read that continues where the last one
ended doubles the read-ahead window (up to ``max_ahead`` chunks), and the chunks ahead are fetched
in parallel in the background; a read elsewhere resets the window, so random reads fetch only what
they touch. At most ``max_chunks`` chunks are held per open file (least recently used go first).
"""

from __future__ import annotations

import errno
import logging
from collections import OrderedDict
from typing import Awaitable, Callable

import trio

log = logging.getLogger(__name__)

Fetch = Callable[[int, int], Awaitable[bytes]]

CHUNK_SIZE = 1 << 20
MAX_AHEAD = 8
MAX_CHUNKS = 16


class _Chunk:
    def __init__(self) -> None:
        self.ready = trio.Event()
        self.data = b""
        self.error: BaseException | None = None


class Reader:
    def __init__(
        self,
        fetch: Fetch,
        size: int,
        nursery: trio.Nursery,
        *,
        chunk_size: int = CHUNK_SIZE,
        max_ahead: int = MAX_AHEAD,
        max_chunks: int = MAX_CHUNKS,
    ) -> None:
        self._fetch = fetch
        self.size = size
        self._nursery = nursery
        self._chunk_size = chunk_size
        self._max_ahead = max(0, min(max_ahead, max_chunks - 2))
        self._max_chunks = max_chunks
        self._chunks: OrderedDict[int, _Chunk] = OrderedDict()
        self._next_offset = 0
        self._ahead = 1
        self._scopes: set[trio.CancelScope] = set()
        self.fetches = 0

    async def read(self, offset: int, length: int) -> bytes | memoryview:
        """The bytes at [offset, offset+length) (fewer at the end). A read within one chunk is a
        view of it, not a copy: the kernel copies it out before the chunk can be dropped."""
        if offset >= self.size or length <= 0:
            return b""
        end = min(self.size, offset + length)
        self._adapt(offset, end)
        first, last = offset // self._chunk_size, (end - 1) // self._chunk_size
        last_ahead = min(last + self._ahead, (self.size - 1) // self._chunk_size)
        for index in range(first, last_ahead + 1):
            self._start(index)
        self._evict(first, last)
        parts = []
        for index in range(first, last + 1):
            chunk = self._start(index)
            await chunk.ready.wait()
            if chunk.error is not None:
                self._chunks.pop(index, None)
                raise chunk.error
            self._chunks.move_to_end(index)
            base = index * self._chunk_size
            parts.append(memoryview(chunk.data)[max(0, offset - base) : end - base])
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _adapt(self, offset: int, end: int) -> None:
        if offset == self._next_offset:
            self._ahead = min(self._max_ahead, max(1, self._ahead * 2))
        else:
            self._ahead = 0
        self._next_offset = end

    def _start(self, index: int) -> _Chunk:
        chunk = self._chunks.get(index)
        if chunk is not None:
            return chunk
        chunk = self._chunks[index] = _Chunk()
        self._nursery.start_soon(self._load, index, chunk)
        return chunk

    def _evict(self, first: int, last: int) -> None:
        """Over the limit, drop fetched chunks behind the read (least recently used first), then
        the farthest ahead; never the ones this read needs."""
        while len(self._chunks) > self._max_chunks:
            ready = [i for i, c in self._chunks.items() if c.ready.is_set() and not first <= i <= last]
            if not ready:
                return
            behind = [i for i in ready if i < first]
            del self._chunks[behind[0] if behind else max(ready)]

    async def _load(self, index: int, chunk: _Chunk) -> None:
        scope = trio.CancelScope()
        self._scopes.add(scope)
        try:
            with scope:
                self.fetches += 1
                start = index * self._chunk_size
                chunk.data = await self._fetch(start, min(self._chunk_size, self.size - start))
        except Exception as exc:  # handed to the reader waiting on this chunk
            chunk.error = exc
        finally:
            self._scopes.discard(scope)
            if scope.cancelled_caught:
                chunk.error = OSError(errno.EIO, "read cancelled")
            chunk.ready.set()

    def close(self) -> None:
        for scope in list(self._scopes):
            scope.cancel()
        self._chunks.clear()
