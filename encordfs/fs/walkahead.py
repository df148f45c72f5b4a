"""Directory read-ahead for recursive walks (find, du, ls -R, rsync, cp -r out of the mount).

A walk opens the subfolders of a folder one after the other, and each costs a round trip. Once a
second subfolder of a listed folder is opened (one is an ``ls``, two are a walk), its next siblings
are likely next, and so are the subfolders of a folder the walk has entered; their listings are fetched in the background (at most
``WALK_AHEAD`` per folder, ``WALK_CONCURRENCY`` at a time) into the listing cache, where the walk
finds them. Only one level below where the walk is: an ``ls`` of one folder never starts a listing
of a whole tree. Opening a folder whose listing is on its way waits for it instead of fetching it
twice. A failure here costs nothing: the walk lists the folder itself.

The same machinery lists a *hot* folder (see ``hotfolders``): one whose names are being looked up
one by one. Such a listing asks for signed URLs and is not a walk's: opening the folder later does
not list its subfolders ahead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from encordfs.fs.errors import FsError
from encordfs.storage.errors import StorageError

log = logging.getLogger(__name__)

WALK_AHEAD = 32
WALK_CONCURRENCY = 8
_MAX_PARENTS = 4096  # folders whose first opened subfolder is remembered


class WalkAhead:
    def __init__(self, list_folder: Callable[[int, bool], Awaitable[bool]]) -> None:
        """``list_folder(ino, hot)`` fetches a folder's listing into the listing cache (False: it
        had nothing to do); ``hot``: with signed URLs, for the lookups that follow."""
        self._list_folder = list_folder
        self._limiter = trio.CapacityLimiter(WALK_CONCURRENCY)
        self._queued: set[int] = set()
        self._running: dict[int, trio.Event] = {}
        self._listed: set[int] = set()  # listed ahead, not reached by the walk yet
        self._first_opened: dict[int, int] = {}  # folder -> the first of its subfolders opened

    def list_ahead(self, nursery: trio.Nursery, folders: list[int], *, hot: bool = False) -> None:
        """List the first ``WALK_AHEAD`` of ``folders`` (not listed yet, in walk order) ahead."""
        for ino in folders[:WALK_AHEAD]:
            if ino not in self._queued:
                self._queued.add(ino)
                nursery.start_soon(self._fetch, ino, hot)

    def is_walk(self, parent: int, child: int) -> bool:
        """Subfolder ``child`` of ``parent`` is being opened: True from the second distinct one on.
        Listing ahead after a single ``ls parent/child`` would list up to ``WALK_AHEAD`` folders of
        any size that nobody asked for."""
        first = self._first_opened.setdefault(parent, child)
        if len(self._first_opened) > _MAX_PARENTS:
            del self._first_opened[next(iter(self._first_opened))]
        return first != child

    def entered(self, ino: int) -> bool:
        """The walk opened ``ino``: True (once) if its listing came from here."""
        if ino in self._listed:
            self._listed.discard(ino)
            return True
        return False

    async def wait_for(self, ino: int) -> None:
        """Return once a listing of ``ino`` already being fetched ahead has arrived."""
        event = self._running.get(ino)
        if event is not None:
            await event.wait()

    async def _fetch(self, ino: int, hot: bool) -> None:
        try:
            async with self._limiter:
                self._running[ino] = done = trio.Event()
                try:
                    if await self._list_folder(ino, hot) and not hot:
                        self._listed.add(ino)
                finally:
                    del self._running[ino]
                    done.set()
        except (StorageError, FsError) as exc:
            log.debug("listing folder %s ahead: %s", ino, exc)
        finally:
            self._queued.discard(ino)
