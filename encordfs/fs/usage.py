"""What ``df`` shows: the bytes and entries stored under the mount's root, from folder summaries.

Whether a summary counts a folder's direct contents or everything below it is not documented
(the emulator does either: ``--recursive-summaries``), so this module works it out and is right
either way. For a folder F with summary S and direct subfolders C (with summaries):

* no C holds anything: the two readings agree, F's usage is S;
* some C has subfolders: recursive counts give ``S.folders > len(C)``, direct ones ``== len(C)``;
* else some C holds files: recursive counts give ``S.files == direct items + sum(C.files)``,
  direct ones ``S.files == direct items`` (F's items are counted, one listing, only here).

The answer is a property of the server, so it is found once and kept. With recursive counts F's
usage is S; with direct ones it is the sum of the summaries of F and every folder below it
(``SUMMARY_CONCURRENCY`` fetched at a time). A ``--root`` mount uses that folder; the storage root
has no summary of its own, so it is the sum over the top-level folders. Either is cached for
``ttl`` seconds, so a ``df`` loop costs nothing, and concurrent ``statfs`` calls share one fetch.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from uuid import UUID

import trio

from encordfs.storage.errors import Forbidden, NotFound
from encordfs.storage.interface import Storage
from encordfs.wire.models import FolderSummary

log = logging.getLogger(__name__)

SUMMARY_CONCURRENCY = 8


class Counting(Enum):
    """What the server's folder summaries count."""

    UNKNOWN = "unknown"
    DIRECT = "direct"
    RECURSIVE = "recursive"


@dataclass(frozen=True)
class Usage:
    bytes: int
    entries: int  # files and folders

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.bytes + other.bytes, self.entries + other.entries)


def _usage(summary: FolderSummary, itself: int = 0) -> Usage:
    return Usage(int(summary.total_size), summary.files + summary.folders + itself)


class UsageCache:
    def __init__(self, storage: Storage, root: UUID | None, ttl: float) -> None:
        self._storage = storage
        self._root = root
        self._ttl = ttl
        self._cached: tuple[float, Usage] | None = None
        self._lock = trio.Lock()
        self._limiter = trio.CapacityLimiter(SUMMARY_CONCURRENCY)
        self.counting = Counting.UNKNOWN

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
            return await self._tree(self._root)
        folders = [f.uuid async for f in self._storage.iter_folders(None)]
        found = await self._each(folders, lambda folder: self._tree(folder, itself=1))
        return sum(found, Usage(0, 0))

    async def _each(self, folders: list[UUID], fetch: Callable[[UUID], Awaitable[Usage]]) -> list[Usage]:
        found: list[Usage] = []

        async def one(folder: UUID) -> None:
            found.append(await fetch(folder))

        async with trio.open_nursery() as nursery:
            for folder in folders:
                nursery.start_soon(one, folder)
        return found

    async def _summary(self, folder: UUID) -> FolderSummary | None:
        try:
            async with self._limiter:
                return await self._storage.folder_summary(folder)
        except (Forbidden, NotFound) as exc:  # deleted or unreadable since it was listed: holds nothing we see
            log.debug("no summary for folder %s: %s", folder, exc)
            return None

    async def _tree(self, folder: UUID, itself: int = 0) -> Usage:
        """The usage of ``folder`` and everything below it (``itself``: count the folder too)."""
        summary = await self._summary(folder)
        if summary is None:
            return Usage(0, 0)
        if self.counting is Counting.RECURSIVE or (summary.folders == 0 and self.counting is Counting.DIRECT):
            return _usage(summary, itself)
        children = [f.uuid async for f in self._storage.iter_folders(folder)]
        if not children:
            return _usage(summary, itself)
        if self.counting is Counting.UNKNOWN:
            subs = [s for s in await self._summaries(children) if s is not None]
            self.counting = await self._counting(folder, summary, len(children), subs)
            if self.counting is Counting.UNKNOWN:  # nothing below holds anything: both readings agree
                return _usage(summary, itself)
            log.info("folder summaries count %s contents", self.counting.value)
            if self.counting is Counting.RECURSIVE:
                return _usage(summary, itself)
        below = await self._each(children, self._tree)
        return sum(below, _usage(summary, itself))

    async def _summaries(self, folders: list[UUID]) -> list[FolderSummary | None]:
        found: list[FolderSummary | None] = []

        async def one(folder: UUID) -> None:
            found.append(await self._summary(folder))

        async with trio.open_nursery() as nursery:
            for folder in folders:
                nursery.start_soon(one, folder)
        return found

    async def _counting(self, folder: UUID, summary: FolderSummary, children: int, subs: list[FolderSummary]) -> Counting:
        if any(s.folders for s in subs):
            return Counting.RECURSIVE if summary.folders > children else Counting.DIRECT
        below = sum(s.files for s in subs)
        if not below:
            return Counting.UNKNOWN
        direct_items = 0
        async for _ in self._storage.iter_items(folder):
            direct_items += 1
        return Counting.RECURSIVE if summary.files == direct_items + below else Counting.DIRECT
