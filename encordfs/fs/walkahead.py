"""Directory read-ahead for recursive walks (find, du, ls -R, rsync, cp -r out of the mount).

A walk opens the subfolders of a folder one after the other, and each costs a round trip. When a
subfolder of a listed folder is opened, its siblings are likely next, so their listings are fetched
in the background (at most ``WALK_AHEAD`` per folder, ``WALK_CONCURRENCY`` at a time) into the
listing cache, where the walk finds them. Opening a folder whose listing is on its way waits for
it instead of fetching it twice. A failure here costs nothing: the walk lists the folder itself.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

import trio

from encordfs.fs.errors import FsError
from encordfs.storage.errors import StorageError

log = logging.getLogger(__name__)

WALK_AHEAD = 32
WALK_CONCURRENCY = 8


class WalkAhead:
    def __init__(self, list_folder: Callable[[int], Awaitable[None]]) -> None:
        """``list_folder(ino)`` fetches a folder's listing into the listing cache."""
        self._list_folder = list_folder
        self._limiter = trio.CapacityLimiter(WALK_CONCURRENCY)
        self._queued: set[int] = set()
        self._running: dict[int, trio.Event] = {}

    def sibling_opened(self, nursery: trio.Nursery, siblings: list[int]) -> None:
        """A folder not listed yet was opened: list the next of its ``siblings`` (folders not
        listed yet, in listing order) ahead."""
        for ino in siblings[:WALK_AHEAD]:
            if ino not in self._queued:
                self._queued.add(ino)
                nursery.start_soon(self._fetch, ino)

    async def wait_for(self, ino: int) -> None:
        """Return once a listing of ``ino`` already being fetched ahead has arrived."""
        event = self._running.get(ino)
        if event is not None:
            await event.wait()

    async def _fetch(self, ino: int) -> None:
        try:
            async with self._limiter:
                self._running[ino] = done = trio.Event()
                try:
                    await self._list_folder(ino)
                finally:
                    del self._running[ino]
                    done.set()
        except (StorageError, FsError) as exc:
            log.debug("listing folder %s ahead: %s", ino, exc)
        finally:
            self._queued.discard(ino)
