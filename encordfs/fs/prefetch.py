"""Read-ahead across files: the next small files of a folder being read in listing order.

``cp -r`` out of the mount, ``tar``, ``rsync``, a sorted glob and many data loaders open a
folder's files one after another in name order. Each small file is then one GET, and one reader
waits for each GET's round trip in turn (20 ms each to a cloud store). Once two files of a listed
folder have been read near each other in its order, the next files' contents are fetched in the
background, a window that doubles up to ``MAX_FILES_AHEAD`` while the readers keep near the order
(parallel readers open a little out of it); opening a file far from the stream, or the same one
again, starts over. Only files of at most ``SMALL_FILE`` bytes (one GET) are fetched, from the
read-ahead budget all open files share, and what nobody read within ``KEEP_SECONDS`` is
dropped. Fetched bytes are keyed by the item's UUID, size and last edit, so a file changed since
is fetched anew.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

import trio

from encordfs.fs.reader import CHUNK_SIZE, READ_AHEAD_BUDGET, ReadAheadBudget

log = logging.getLogger(__name__)

SMALL_FILE = CHUNK_SIZE
MAX_FILES_AHEAD = 16
KEEP_SECONDS = 30.0
URLS_AHEAD = 100  # download URLs asked for with a file's own: the next files of its folder
_MAX_FOLDERS = 64  # streams tracked
_MAX_ORDERS = 8  # listings indexed (each holds its listing alive)
_NEAR = MAX_FILES_AHEAD  # an open this far from the last one still continues the stream


@dataclass(frozen=True, slots=True)
class Sibling:
    """A file of the folder, in listing order, as the prefetch needs it."""

    key: Hashable  # the content's identity: (uuid, size, last edit)
    size: int
    fetch: Callable[[], Awaitable[bytes]]


@dataclass
class _Fetched:
    ready: trio.Event = field(default_factory=trio.Event)
    data: bytes = b""
    failed: bool = False
    budgeted: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Stream:
    last: int  # position of the last file read
    ahead: int = 1
    scheduled_to: int = 0  # positions below this were considered already


@dataclass
class _Order:
    """A listing's inodes in order and each one's position, kept while the listing is the same."""

    listing: dict[str, int]
    size: int
    inos: list[int]
    positions: dict[int, int]

    @classmethod
    def of(cls, listing: dict[str, int]) -> _Order:
        inos = list(listing.values())
        return cls(listing, len(listing), inos, {ino: i for i, ino in enumerate(inos)})


class FolderPrefetch:
    def __init__(self, nursery_of: Callable[[], trio.Nursery], budget: ReadAheadBudget = READ_AHEAD_BUDGET) -> None:
        self._nursery_of = nursery_of
        self._budget = budget
        self._streams: OrderedDict[int, _Stream] = OrderedDict()
        self._orders: dict[int, _Order] = {}
        self._fetched: OrderedDict[Hashable, _Fetched] = OrderedDict()

    def read_started(self, folder: int, listing: dict[str, int], ino: int, sibling: Callable[[int], Sibling | None]) -> None:
        """File ``ino`` of folder ``folder`` (whose cached listing is ``listing``) is being read
        from its start; ``sibling(ino)`` describes another file of the listing (None: not a file)."""
        self._expire()
        order = self._order(folder, listing)
        position = order.positions.get(ino)
        if position is None:
            return
        stream = self._streams.pop(folder, None)
        if stream is None or not stream.last - _NEAR <= position <= stream.last + _NEAR or position == stream.last:
            self._streams[folder] = _Stream(position, scheduled_to=position + 1)
            self._trim()
            return
        stream.last = max(stream.last, position)  # parallel readers open a little out of order
        stream.ahead = min(MAX_FILES_AHEAD, stream.ahead * 2)
        self._streams[folder] = stream
        start = max(stream.scheduled_to, stream.last + 1)
        stop = stream.last + 1 + stream.ahead
        if start < stop:
            stream.scheduled_to = stop
            for next_ino in order.inos[start:stop]:
                found = sibling(next_ino)
                if found is not None:
                    self._start(found)

    def following(self, folder: int, listing: dict[str, int], ino: int, count: int) -> list[int]:
        """The ``count`` inodes after ``ino`` in the listing's order."""
        order = self._order(folder, listing)
        position = order.positions.get(ino)
        return [] if position is None else order.inos[position + 1 : position + 1 + count]

    def _order(self, folder: int, listing: dict[str, int]) -> _Order:
        order = self._orders.get(folder)
        if order is None or order.listing is not listing or order.size != len(listing):
            order = self._orders[folder] = _Order.of(listing)
            while len(self._orders) > _MAX_ORDERS:
                del self._orders[next(iter(self._orders))]
        return order

    async def take(self, key: Hashable) -> bytes | None:
        """The content fetched ahead for ``key`` (once), or None: fetch it yourself."""
        fetched = self._fetched.pop(key, None)
        if fetched is None:
            return None
        await fetched.ready.wait()
        self._budget.give(fetched.budgeted)
        fetched.budgeted = 0
        return None if fetched.failed else fetched.data

    def _start(self, sibling: Sibling) -> None:
        if sibling.size > SMALL_FILE or sibling.key in self._fetched or not self._budget.take(sibling.size):
            return
        fetched = self._fetched[sibling.key] = _Fetched(budgeted=sibling.size)
        self._nursery_of().start_soon(self._fetch, sibling, fetched)

    async def _fetch(self, sibling: Sibling, fetched: _Fetched) -> None:
        try:
            fetched.data = await sibling.fetch()
        except Exception as exc:  # the reader's own GET will meet (and report) the problem
            log.debug("fetching a file ahead failed: %s", exc)
            fetched.failed = True
        finally:
            fetched.ready.set()

    def _expire(self) -> None:
        """Drop what nobody read in time (oldest first: the dict is in fetch order)."""
        old = time.monotonic() - KEEP_SECONDS
        while self._fetched:
            key, fetched = next(iter(self._fetched.items()))
            if fetched.at >= old or not fetched.ready.is_set():
                return
            self._budget.give(self._fetched.pop(key).budgeted)

    def _trim(self) -> None:
        while len(self._streams) > _MAX_FOLDERS:
            self._streams.popitem(last=False)
