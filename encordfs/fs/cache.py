"""The metadata caches (cachetools TTL caches), one place to invalidate them.

* ``fresh``: inodes whose attributes were fetched or listed within ``attr_ttl`` (deadlines in a dict).
* ``listings``: complete directory listings (name -> inode) younger than ``dir_ttl``.
* ``negative``: (directory inode, name) known not to exist, for ``negative_ttl``.
* ``found_names``: (directory inode, name) -> inode found by a search, for ``dir_ttl`` (a folder
  not listed: its names looked up one by one are not searched again each time).
* the last listing of each directory, past its TTL (``stale_listing``): what the filesystem
  answers from while the server cannot be reached.

Our own changes call the ``note_*`` methods, so the next lookup or ``ls`` sees them at once; changes
made elsewhere appear when the entries expire.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from cachetools import TTLCache

_MAX_LISTINGS = 4096
_MAX_NEGATIVE = 100_000
_MAX_FOUND = 100_000
_DEADLINE_SHARED = 0.001  # seconds one computed deadline is reused for


class Caches:
    def __init__(self, *, attr_ttl: float, dir_ttl: float, negative_ttl: float) -> None:
        # ino -> when its attributes go stale: a plain dict, a third of a TTLCache's bytes per entry
        # (one per inode ever listed); an expired entry is dropped when it is next asked about.
        self._fresh_until: dict[int, float] = {}
        self._attr_ttl = attr_ttl
        self._deadline_at, self._shared_deadline = float("-inf"), 0.0
        self._versions: dict[int, int] = {}  # dir ino -> how many of our own changes it has seen
        self.listings: TTLCache[int, dict[str, int]] = TTLCache(_MAX_LISTINGS, max(dir_ttl, 1e-9))
        self.negative: TTLCache[tuple[int, str], bool] = TTLCache(_MAX_NEGATIVE, max(negative_ttl, 1e-9))
        self.found_names: TTLCache[tuple[int, str], int] = TTLCache(_MAX_FOUND, max(dir_ttl, 1e-9))
        # dir ino -> its last listing, oldest first (the same dict objects as in ``listings``)
        self._last: OrderedDict[int, dict[str, int]] = OrderedDict()

    def is_fresh(self, ino: int) -> bool:
        until = self._fresh_until.get(ino)
        if until is None:
            return False
        if until > time.monotonic():
            return True
        del self._fresh_until[ino]
        return False

    def mark_fresh(self, ino: int) -> None:
        if self._attr_ttl > 0:
            self._fresh_until[ino] = self._deadline()

    def _deadline(self) -> float:
        """Now + attr_ttl; a listing marks thousands of entries within a millisecond, and they
        share one deadline object (a float is 24 bytes; the deadline moves by under 1 ms)."""
        now = time.monotonic()
        if now - self._deadline_at > _DEADLINE_SHARED:
            self._deadline_at, self._shared_deadline = now, now + self._attr_ttl
        return self._shared_deadline

    def stale(self, ino: int) -> None:
        self._fresh_until.pop(ino, None)

    def listing(self, dir_ino: int) -> dict[str, int] | None:
        return self.listings.get(dir_ino)

    def version(self, dir_ino: int) -> int:
        """Counts our own changes to a directory: take it before listing, pass it to
        ``store_listing``."""
        return self._versions.get(dir_ino, 0)

    def store_listing(self, dir_ino: int, names: dict[str, int], version: int | None = None) -> None:
        """Cache a complete listing, unless we changed the directory since ``version`` was taken:
        a listing fetched meanwhile may lack (or still show) what we just did, so it is not kept."""
        if version is not None and version != self.version(dir_ino):
            return
        self.listings[dir_ino] = names
        self._last[dir_ino] = names
        self._last.move_to_end(dir_ino)
        if len(self._last) > _MAX_LISTINGS:
            self._last.popitem(last=False)
        for key in [k for k in self.negative if k[0] == dir_ino]:
            self.negative.pop(key, None)

    def stale_listing(self, dir_ino: int) -> dict[str, int] | None:
        """The directory's last complete listing, however old (None if it was never listed or a
        change made it wrong). Only for when the server cannot be asked."""
        return self._last.get(dir_ino)

    def _copies(self, dir_ino: int) -> list[dict[str, int]]:
        fresh, last = self.listings.get(dir_ino), self._last.get(dir_ino)
        return [listing for listing in (fresh, last if last is not fresh else None) if listing is not None]

    def is_negative(self, dir_ino: int, name: str) -> bool:
        return (dir_ino, name) in self.negative

    def note_missing(self, dir_ino: int, name: str) -> None:
        self.negative[(dir_ino, name)] = True
        self.found_names.pop((dir_ino, name), None)

    def found(self, dir_ino: int, name: str) -> int | None:
        return self.found_names.get((dir_ino, name))

    def note_found(self, dir_ino: int, name: str, ino: int) -> None:
        self.found_names[(dir_ino, name)] = ino

    def _changed(self, dir_ino: int) -> None:
        self._versions[dir_ino] = self._versions.get(dir_ino, 0) + 1

    def note_added(self, dir_ino: int, name: str, ino: int) -> None:
        self._changed(dir_ino)
        self.negative.pop((dir_ino, name), None)
        for listing in self._copies(dir_ino):
            listing[name] = ino
        self.found_names[(dir_ino, name)] = ino  # for when no listing is cached

    def note_removed(self, dir_ino: int, name: str) -> None:
        self._changed(dir_ino)
        self.found_names.pop((dir_ino, name), None)
        for listing in self._copies(dir_ino):
            listing.pop(name, None)

    def forget_listing(self, dir_ino: int) -> None:
        self._changed(dir_ino)
        self.listings.pop(dir_ino, None)
        for key in [k for k in self.found_names if k[0] == dir_ino]:
            self.found_names.pop(key, None)
        self._last.pop(dir_ino, None)

    def forget_dir(self, dir_ino: int) -> list[str]:
        """Drop the directory's listing and its known-missing names (a refresh); the names that were
        cached, so the kernel can be told to drop its entries for them too."""
        listed = list(self.listings.get(dir_ino) or ())
        missing = [name for d, name in list(self.negative) if d == dir_ino]
        for name in missing:
            self.negative.pop((dir_ino, name), None)
        self.forget_listing(dir_ino)
        return listed + missing
