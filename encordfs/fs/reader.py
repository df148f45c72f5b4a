"""Reading one item's content: ranged fetches in fixed chunks, adaptive read-ahead, bounded memory.

Reads are served from chunks of ``chunk_size`` bytes. A read that continues where the last one
ended doubles the read-ahead window (up to ``max_ahead`` chunks); a read elsewhere resets it, so
random reads fetch only the chunks they touch, one GET each. The window is refilled in batches:
once ``span`` of its chunks are missing, they are fetched together, up to ``span`` adjacent
chunks in one GET, several GETs in parallel, in the background. Big GETs matter: each one costs a
round trip to its first byte and a fixed amount of CPU, so a stream of 1 MiB GETs was bound by
either well below the link's rate.

Memory: at most ``max_chunks`` chunks are kept per open file (least recently used go first); the
chunks of one GET share its buffer, so an open file holds at most ``max_chunks * span`` chunks'
worth of bytes, and in practice (chunks behind a sequential read are dropped first) about
``max_chunks``. Chunks fetched ahead also take their size from a ``ReadAheadBudget`` shared by all
open files (``READ_AHEAD_BUDGET`` unless given): once it is spent, reads fetch only what they need
until other files drop or close their chunks, so many streams at once cannot add up without limit.
"""

from __future__ import annotations

import errno
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import trio

log = logging.getLogger(__name__)

Fetch = Callable[[int, int], Awaitable[bytes]]

CHUNK_SIZE = 1 << 20
SPAN = 8
MAX_AHEAD = 24
MAX_CHUNKS = 28


class ReadAheadBudget:
    """Bytes that chunks fetched ahead may hold, together, across the open files sharing it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def give(self, size: int) -> None:
        self.used -= size


READ_AHEAD_BUDGET = ReadAheadBudget(256 << 20)  # one mount per process: shared by all its open files


class _Chunk:
    def __init__(self, budgeted: int) -> None:
        self.ready = trio.Event()
        self.data: bytes | memoryview = b""
        self.error: BaseException | None = None
        self.budgeted = budgeted  # bytes taken from the read-ahead budget, given back when dropped


class Reader:
    def __init__(
        self,
        fetch: Fetch,
        size: int,
        nursery: trio.Nursery,
        *,
        chunk_size: int = CHUNK_SIZE,
        span: int = SPAN,
        max_ahead: int = MAX_AHEAD,
        max_chunks: int = MAX_CHUNKS,
        budget: ReadAheadBudget = READ_AHEAD_BUDGET,
    ) -> None:
        self._fetch = fetch
        self._budget = budget
        self.size = size
        self._nursery = nursery
        self._chunk_size = chunk_size
        self._span = max(1, span)
        self._max_ahead = max(0, min(max_ahead, max_chunks - 2))
        self._max_chunks = max_chunks
        self._chunks: OrderedDict[int, _Chunk] = OrderedDict()
        self._next_offset = 0
        self._ahead = max(1, self._span // 2)  # a first read at 0 starts a stream: one span ahead at once
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
        self._start_missing(first, last)
        self._evict(first, last)
        parts = []
        for index in range(first, last + 1):
            chunk = self._chunks.get(index) or self._start_run([index])[0]  # another read may have dropped it
            await chunk.ready.wait()
            if chunk.error is not None:
                self._drop(index, chunk)
                raise chunk.error
            self._chunks.move_to_end(index)
            base = index * self._chunk_size
            parts.append(memoryview(chunk.data)[max(0, offset - base) : end - base])
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _start_missing(self, first: int, last: int) -> None:
        """Fetch the chunks this read needs; and the window ahead in whole spans once a span of it
        is missing (all of it once it reaches the end of the file), each a GET of its own so the
        chunks this read waits for do not wait for the ones ahead."""
        last_chunk = (self.size - 1) // self._chunk_size
        last_ahead = min(last + self._ahead, last_chunk)
        self._start_runs([i for i in range(first, last + 1) if i not in self._chunks])
        ahead = [i for i in range(last + 1, last_ahead + 1) if i not in self._chunks]
        if last_ahead < last_chunk:
            ahead = ahead[: len(ahead) - len(ahead) % self._span]
        self._start_runs(ahead, ahead=True)

    def _start_runs(self, indices: list[int], *, ahead: bool = False) -> None:
        """One GET per run of up to ``span`` adjacent chunks; runs ahead only while the budget lasts."""
        runs: list[list[int]] = []
        for index in indices:
            if not runs or index != runs[-1][-1] + 1 or len(runs[-1]) == self._span:
                runs.append([])
            runs[-1].append(index)
        for run in runs:
            if ahead and not self._budget.take(len(run) * self._chunk_size):
                return
            self._start_run(run, budgeted=self._chunk_size if ahead else 0)

    def _start_run(self, indices: list[int], *, budgeted: int = 0) -> list[_Chunk]:
        chunks = [_Chunk(budgeted) for _ in indices]
        self._chunks.update(zip(indices, chunks))
        self._nursery.start_soon(self._load, indices[0], chunks)
        return chunks

    def _drop(self, index: int, chunk: _Chunk) -> None:
        """Forget the chunk (if it is still the one held for ``index``) and give back its budget."""
        if self._chunks.get(index) is chunk:
            del self._chunks[index]
            self._budget.give(chunk.budgeted)

    def _adapt(self, offset: int, end: int) -> None:
        """Grow the window while reads stay within a chunk of where the stream is: the kernel
        sends a stream's reads concurrently, and they may arrive a little out of order."""
        if abs(offset - self._next_offset) <= self._chunk_size:
            self._ahead = min(self._max_ahead, max(1, self._ahead * 2))
            self._next_offset = max(end, self._next_offset)
        else:
            self._ahead = 0
            self._next_offset = end

    def _evict(self, first: int, last: int) -> None:
        """Over the limit, drop fetched chunks behind the read (least recently used first), then
        the farthest ahead; never the ones this read needs."""
        while len(self._chunks) > self._max_chunks:
            ready = [i for i, c in self._chunks.items() if c.ready.is_set() and not first <= i <= last]
            if not ready:
                return
            behind = [i for i in ready if i < first]
            index = behind[0] if behind else max(ready)
            self._drop(index, self._chunks[index])

    async def _load(self, first: int, chunks: list[_Chunk]) -> None:
        """One GET for adjacent chunks; each gets a view of its part of the answer."""
        scope = trio.CancelScope()
        self._scopes.add(scope)
        error: BaseException | None = None
        try:
            with scope:
                self.fetches += 1
                start = first * self._chunk_size
                data = memoryview(await self._fetch(start, min(len(chunks) * self._chunk_size, self.size - start)))
                for k, chunk in enumerate(chunks):
                    chunk.data = data[k * self._chunk_size : (k + 1) * self._chunk_size]
        except Exception as exc:  # handed to the readers waiting on these chunks
            error = exc
        finally:
            self._scopes.discard(scope)
            if scope.cancelled_caught:
                error = OSError(errno.EIO, "read cancelled")
            for index, chunk in enumerate(chunks, start=first):
                if error is not None:
                    self._drop(index, chunk)  # the next read of it tries again
                chunk.error = error
                chunk.ready.set()

    def close(self) -> None:
        for scope in list(self._scopes):
            scope.cancel()
        for index, chunk in list(self._chunks.items()):
            self._drop(index, chunk)
