"""Bytes fetched for recent opens, kept a few seconds so the next open reads none of them twice.

Desktop tools open one file several times in a row: pcmanfm opens every image twice within tens
of milliseconds, ``file`` then ``cat`` read the same head, a loader retries. Each open has its own
reader, and the kernel's page cache helps only once a read has finished, so without this every
open downloaded the file again. Spans are kept per version of an item (uuid, last edit, size), so
a changed file is never served old bytes; a span being fetched is shared with whoever asks for it
meanwhile. Memory is bounded: all of a file up to ``WHOLE_FILE_LIMIT``, only the first
``HEAD_LIMIT`` bytes of bigger ones (what probes read), ``MAX_BYTES`` in all (least recently used
versions go first), each for ``KEEP_SECONDS`` after it was last used.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

import trio

from encordfs import metrics

KEEP_SECONDS = 5.0
WHOLE_FILE_LIMIT = 16 << 20
HEAD_LIMIT = 1 << 20
MAX_BYTES = 64 << 20

Version = tuple[UUID, datetime | None, int]
Fetch = Callable[[int, int], Awaitable[bytes]]


class _Kept:
    def __init__(self) -> None:
        self.spans: dict[tuple[int, int], bytes] = {}  # (offset, length) -> bytes
        self.fetching: dict[tuple[int, int], trio.Event] = {}
        self.used_at = time.monotonic()

    @property
    def size(self) -> int:
        return sum(len(b) for b in self.spans.values())

    def find(self, offset: int, length: int) -> bytes | None:
        exact = self.spans.get((offset, length))
        if exact is not None:
            return exact
        for (start, _), data in self.spans.items():
            if start <= offset and offset + length <= start + len(data):
                return data[offset - start : offset - start + length]
        return None


class RecentReads:
    def __init__(self, *, keep: float = KEEP_SECONDS, max_bytes: int = MAX_BYTES) -> None:
        self._keep = keep
        self._max_bytes = max_bytes
        self._versions: OrderedDict[Version, _Kept] = OrderedDict()
        self.bytes = 0

    async def read(self, version: Version, offset: int, length: int, fetch: Fetch) -> bytes:
        """``fetch(offset, length)``'s bytes, from what was kept when possible."""
        self._expire()
        size = version[2]
        if not self._keepable(size, offset, length):
            return await fetch(offset, length)
        kept = self._versions.get(version)
        if kept is None:
            kept = self._versions[version] = _Kept()
        self._versions.move_to_end(version)
        kept.used_at = time.monotonic()
        while True:
            data = kept.find(offset, length)
            if data is not None:
                metrics.CACHE.labels("recent_reads", "hit").inc()
                return data
            pending = kept.fetching.get((offset, length))
            if pending is None:
                break
            await pending.wait()  # another open is fetching these bytes: take them from it
            if version not in self._versions:
                return await fetch(offset, length)
        metrics.CACHE.labels("recent_reads", "miss").inc()
        done = kept.fetching[(offset, length)] = trio.Event()
        try:
            data = await fetch(offset, length)
        finally:
            del kept.fetching[(offset, length)]
            done.set()
        if self._versions.get(version) is kept:
            kept.spans[(offset, length)] = data
            self.bytes += len(data)
            self._trim()
        return data

    def _keepable(self, size: int, offset: int, length: int) -> bool:
        limit = size if size <= WHOLE_FILE_LIMIT else HEAD_LIMIT
        return offset + length <= limit and length <= self._max_bytes

    def _expire(self) -> None:
        deadline = time.monotonic() - self._keep
        while self._versions:
            version, kept = next(iter(self._versions.items()))
            if kept.used_at > deadline and self.bytes <= self._max_bytes:
                return
            self._drop(version)

    def _trim(self) -> None:
        while self.bytes > self._max_bytes and len(self._versions) > 1:
            self._drop(next(iter(self._versions)))

    def _drop(self, version: Version) -> None:
        kept = self._versions.pop(version)
        self.bytes -= kept.size
