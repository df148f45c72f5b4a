"""What ``df`` shows: the bytes and entries stored under the mount's root, from folder summaries.

A ``--root`` mount uses that folder's summary (one call). The storage root has no summary of its
own, so it is the sum of the top-level folders' summaries, fetched concurrently (at most
``SUMMARY_CONCURRENCY`` at a time). Either is cached for ``ttl`` seconds, so a ``df`` loop costs
nothing, and concurrent ``statfs`` calls share one fetch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

import trio

from encordfs.storage.errors import Forbidden, NotFound
from encordfs.storage.interface import Storage

log = logging.getLogger(__name__)

SUMMARY_CONCURRENCY = 8


@dataclass(frozen=True)
class Usage:
    bytes: int
    entries: int  # files and folders


class UsageCache:
    def __init__(self, storage: Storage, root: UUID | None, ttl: float) -> None:
        self._storage = storage
        self._root = root
        self._ttl = ttl
        self._cached: tuple[float, Usage] | None = None
        self._lock = trio.Lock()

    def forget(self) -> None:
        """The next ``usage`` fetches again (a refresh of the mount's root)."""
        self._cached = None

    async def usage(self) -> Usage:
        async with self._lock:  # concurrent callers wait for one fetch instead of starting theirs
            now = trio.current_time()
            if self._cached is None or now - self._cached[0] >= self._ttl:
                self._cached = (now, await self._fetch())
            return self._cached[1]

    async def _fetch(self) -> Usage:
        if self._root is not None:
            return await self._summary(self._root)
        folders = [f.uuid async for f in self._storage.iter_folders(None)]
        found: list[Usage] = []
        limiter = trio.CapacityLimiter(SUMMARY_CONCURRENCY)

        async def one(folder: UUID) -> None:
            async with limiter:
                found.append(await self._summary(folder, counting_itself=True))

        async with trio.open_nursery() as nursery:
            for folder in folders:
                nursery.start_soon(one, folder)
        return Usage(sum(u.bytes for u in found), sum(u.entries for u in found))

    async def _summary(self, folder: UUID, *, counting_itself: bool = False) -> Usage:
        try:
            summary = await self._storage.folder_summary(folder)
        except (Forbidden, NotFound) as exc:  # deleted or unreadable since it was listed: holds nothing we see
            log.debug("no summary for folder %s: %s", folder, exc)
            return Usage(0, 0)
        return Usage(int(summary.total_size), summary.files + summary.folders + int(counting_itself))
