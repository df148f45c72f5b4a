"""Streamed directory listings with offsets that stay valid.

An open directory handle owns one ``Listing``: a snapshot that fills as the storage pages arrive,
so ``readdir`` answers with the first entries while the rest are still being fetched. An entry's
offset is its index in the snapshot plus one; the snapshot only ever grows, so an offset handed to
the kernel keeps pointing at the same place whatever changes on the server meanwhile (a changed
directory shows up on the next ``opendir``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Callable

import trio


@dataclass(frozen=True)
class Entry:
    name: str
    ino: int


class Listing:
    def __init__(
        self, source: AsyncIterator[Entry], on_complete: Callable[[list[Entry]], None] | None = None, *, directory: int = 0
    ) -> None:
        self.directory = directory  # the inode listed (for "." and "..")
        self.entries: list[Entry] = []
        self.done = False
        self._source = source
        self._on_complete = on_complete
        self._filling: trio.Event | None = None  # set while one task pulls from the source

    @classmethod
    def complete(cls, entries: list[Entry], *, directory: int = 0) -> "Listing":
        listing = cls(_empty(), directory=directory)
        listing.entries = list(entries)
        listing.done = True
        return listing

    async def get(self, index: int) -> Entry | None:
        """The entry at ``index``, fetching pages until it exists; None past the end."""
        while index >= len(self.entries) and not self.done:
            if self._filling is not None:  # another request is fetching: wait for it, then look again
                await self._filling.wait()
                continue
            self._filling = filling = trio.Event()
            try:
                self.entries.append(await self._source.__anext__())
            except StopAsyncIteration:
                self.done = True
                if self._on_complete is not None:
                    self._on_complete(self.entries)
            finally:
                self._filling = None
                filling.set()
        return self.entries[index] if index < len(self.entries) else None

    async def aclose(self) -> None:
        if not self.done:
            aclose = getattr(self._source, "aclose", None)
            if aclose is not None:
                await aclose()


async def _empty() -> AsyncIterator[Entry]:
    return
    yield  # an async generator that yields nothing
