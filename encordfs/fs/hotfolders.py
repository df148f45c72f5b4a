"""Folders whose names are being looked up one after another without a listing.

A training loop, ``cat dir/*`` or a file list read from disk opens a folder's files by name; each
lookup the caches cannot answer is a search (one round trip), and the kernel sends a directory's
lookups one at a time, so eight readers wait on each other's searches. Once ``HOT_MISSES`` lookups
in one folder have missed within ``HOT_WINDOW`` seconds, the folder is worth listing: one listing
(with signed URLs) answers the lookups that follow from the cache and lets each file be read with a
single GET, as rclone does after its directory listing. Lookups that come while that listing is on
its way wait for it briefly (``core.LISTING_WAIT``). A lone ``stat`` still costs one search, never
a listing of a big folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

HOT_MISSES = 2
HOT_WINDOW = 2.0
_MAX_TRACKED = 1024


@dataclass(slots=True)
class _Misses:
    since: float
    count: int = 0


class HotFolders:
    def __init__(self, misses: int = HOT_MISSES, window: float = HOT_WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        self._threshold = misses
        self._window = window
        self._clock = clock
        self._misses: dict[int, _Misses] = {}

    def note_miss(self, dir_ino: int) -> bool:
        """A lookup in ``dir_ino`` had to ask the server: True, once per window, when the folder
        has just become worth listing."""
        now = self._clock()
        misses = self._misses.get(dir_ino)
        if misses is None or now - misses.since > self._window:
            if len(self._misses) >= _MAX_TRACKED:
                self._drop_expired(now)
            misses = self._misses[dir_ino] = _Misses(now)
        misses.count += 1
        return misses.count == self._threshold

    def _drop_expired(self, now: float) -> None:
        for ino in [i for i, m in self._misses.items() if now - m.since > self._window] or list(self._misses):
            del self._misses[ino]
