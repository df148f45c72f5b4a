"""Streamed directory listings with offsets that stay valid.

An open directory handle owns one ``Listing``: a snapshot that fills as the storage pages arrive,
so ``readdir`` answers with the first entries while the rest are still being fetched. An entry's
offset is its index in the snapshot plus one; the snapshot only ever grows, so an offset handed to
the kernel keeps pointing at the same place whatever changes on the server meanwhile (a changed
directory shows up on the next ``opendir``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Generic, NamedTuple, TypeVar

import trio


class Entry(NamedTuple):
    """One name of a listing (a tuple: an open handle of a big folder holds one per entry)."""

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
    def complete(cls, entries: list[Entry], *, directory: int = 0) -> Listing:
        """A listing of ``entries``, which it takes over (a cached folder's copy, made per opendir)."""
        listing = cls(_empty(), directory=directory)
        listing.entries = entries
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


T = TypeVar("T")


class Prefetched(Generic[T]):
    """Pulls an async iterator (a paged listing) in a task of ``nursery``, up to ``ahead`` batches of
    ``batch`` entries before the consumer, so the next page is on its way while this one is named
    and returned. Make ``batch`` divide the page size: a page is then handed over as soon as it
    arrives. A failure of the source is raised to the consumer, never into the nursery; ``cancel``
    (or leaving the ``async with``) stops the task."""

    def __init__(self, nursery: trio.Nursery, source: AsyncIterator[T], *, batch: int, ahead: int) -> None:
        self._send, self._receive = trio.open_memory_channel[list[T] | BaseException](ahead)
        self._scope = trio.CancelScope()
        self._source, self._batch = source, batch
        nursery.start_soon(self._pull)

    async def _pull(self) -> None:
        with self._scope:
            async with self._send:
                try:
                    await self._send.send(await self._forward())
                except trio.BrokenResourceError:
                    return  # the consumer is gone: nobody to tell
                finally:
                    aclose = getattr(self._source, "aclose", None)
                    if aclose is not None:
                        with trio.CancelScope(shield=True):
                            await aclose()

    async def _forward(self) -> list[T] | Exception:
        """Send full batches; return the last (partial) batch, or the source's failure, which the
        consumer raises in its own request."""
        chunk: list[T] = []
        try:
            async for entry in self._source:
                chunk.append(entry)
                if len(chunk) == self._batch:
                    await self._send.send(chunk)
                    chunk = []
        except trio.BrokenResourceError:
            raise
        except Exception as exc:
            return exc
        return chunk

    async def batches(self) -> AsyncIterator[list[T]]:
        async with self._receive:
            async for chunk in self._receive:
                if isinstance(chunk, BaseException):
                    raise chunk
                if chunk:
                    yield chunk

    def cancel(self) -> None:
        self._scope.cancel()

    async def __aenter__(self) -> Prefetched[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cancel()
