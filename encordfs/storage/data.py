"""The data plane: ranged reads, sizes and uploads through signed URLs (a mixin of ``StorageClient``).

Download URLs are cached per item with their expiry (``SignedUrlCache``) and refreshed once,
transparently, when the storage answers 403 (expired) or they are about to expire.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TypeVar
from uuid import UUID

import httpx
import trio

from encordfs.storage.errors import Forbidden, ServerError, StorageError
from encordfs.storage.signed_urls import SignedUrlCache
from encordfs.storage.transport import Transport
from encordfs.wire.models import Json, StorageItem

T = TypeVar("T")

UPLOAD_CHUNK = 1 << 20
log = logging.getLogger(__name__)
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


def _parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    match = _CONTENT_RANGE.fullmatch((value or "").strip())
    if match is None:
        return None
    total = None if match.group(3) == "*" else int(match.group(3))
    return int(match.group(1)), int(match.group(2)), total


async def file_chunks(path: Path, chunk_size: int = UPLOAD_CHUNK) -> AsyncIterator[bytes]:
    """The file's bytes, a chunk at a time, read in a worker thread (never all in memory)."""
    async with await trio.open_file(path, "rb") as handle:
        while chunk := await handle.read(chunk_size):
            yield chunk


async def _drain(response: httpx.Response) -> None:
    await response.aread()


async def _fill(response: httpx.Response, buffer: memoryview, *, skip: int, to_the_end: bool) -> int:
    """Copy the body into ``buffer`` after skipping ``skip`` bytes; the byte count.

    ``to_the_end`` reads the body to its end even once the buffer is full: a body left unread
    closes its connection, and a new connection for every chunk costs more than the read."""
    length, filled = len(buffer), 0
    async for chunk in response.aiter_bytes():
        view = memoryview(chunk)
        if skip:
            dropped = min(skip, len(view))
            view, skip = view[dropped:], skip - dropped
        count = min(len(view), length - filled)
        buffer[filled : filled + count] = view[:count]
        filled += count
        if filled == length and not to_the_end:
            break
    return filled


class DataPlane:
    _transport: Transport
    _signed_urls: SignedUrlCache
    _url_locks: dict[UUID, trio.Lock]
    _signing: dict[UUID, trio.Event]  # items whose URL a sign_ahead request is fetching

    get_item: Callable[..., Awaitable[StorageItem]]  # provided by ItemApi
    get_items: Callable[..., Awaitable[list[StorageItem]]]  # provided by ItemApi

    # --- signed download URLs ------------------------------------------------------------
    async def signed_url(self, item: StorageItem) -> str:
        """A valid signed download URL for the item, from the cache or freshly fetched."""
        url = self._signed_urls.get(item.uuid)
        if url is not None:
            return url
        lock = self._url_locks.setdefault(item.uuid, trio.Lock())
        try:
            async with lock:  # one fetch per item however many readers wait for it
                url = self._signed_urls.get(item.uuid)
                if url is None:
                    fresh = await self.get_item(item.uuid, sign_url=True)
                    if not fresh.signed_url:
                        raise ServerError(f"get item {item.uuid}: the server sent no signed URL", operation="get item")
                    self._signed_urls.put(item.uuid, fresh.signed_url)
                    url = fresh.signed_url
        finally:
            if not lock.statistics().tasks_waiting:
                self._url_locks.pop(item.uuid, None)
        return url

    async def sign_ahead(self, item: UUID, neighbours: Iterable[UUID]) -> None:
        """Make sure ``item``'s download URL is at hand; when it is not, fetch it together with
        those of ``neighbours`` (files likely read next: the next ones of its folder) not cached
        either, in one ``get-bulk`` (``neighbours`` is read only then). A file of a folder listed
        without URLs would otherwise cost an item call before its GET. Concurrent callers share a
        request; a failure is left to the reader's own ``signed_url`` to meet and report."""
        pending = self._signing.get(item)
        if pending is not None:
            await pending.wait()
            return
        if self._signed_urls.get(item) is not None:
            return
        wanted = [item] + [u for u in neighbours if u != item and u not in self._signing and self._signed_urls.get(u) is None]
        done = trio.Event()
        self._signing.update((u, done) for u in wanted)
        try:
            for fresh in await self.get_items(wanted, sign_urls=True):
                self.remember_signed_url(fresh)
        except StorageError as exc:
            log.debug("fetching %d download URLs ahead failed: %s", len(wanted), exc)
        finally:
            for u in wanted:
                del self._signing[u]
            done.set()

    def remember_signed_url(self, item: StorageItem) -> StorageItem:
        """Keep the download URL an answer carried (the first read then needs no call of its own);
        the item comes back without it, so models held for a long time do not hold expired URLs."""
        if not item.signed_url:
            return item
        self._signed_urls.put(item.uuid, item.signed_url)
        return replace(item, signed_url=None)

    def item_from_wire(self, data: Json) -> StorageItem:
        """``StorageItem.from_wire``, remembering the signed URL the answer may carry."""
        return self.remember_signed_url(StorageItem.from_wire(data))

    async def _with_signed_url(self, item: StorageItem, action: Callable[[str], Awaitable[T]]) -> T:
        url = await self.signed_url(item)
        try:
            return await action(url)
        except Forbidden:  # expired (or revoked): one fresh URL, then the answer stands
            self._signed_urls.invalidate(item.uuid, url)
            return await action(await self.signed_url(item))

    # --- reads ---------------------------------------------------------------------------
    async def read_into(self, item: StorageItem, offset: int, buffer: memoryview) -> int:
        """Fill ``buffer`` with the content from ``offset``; returns the byte count (short at EOF)."""
        if len(buffer) == 0:
            return 0
        return await self._with_signed_url(item, lambda url: self._ranged_get(url, offset, buffer))

    async def read_range(self, item: StorageItem, offset: int, length: int) -> bytes:
        """Bytes [offset, offset+length) of the item's content (fewer at EOF).

        The body's pieces are joined once at the end: one pass over the bytes, where filling a
        buffer and copying it out took three (memory bandwidth bounds fast sequential reads)."""
        if length <= 0:
            return b""
        return await self._with_signed_url(item, lambda url: self._ranged_get_bytes(url, offset, length))

    async def _ranged_get_bytes(self, url: str, offset: int, length: int) -> bytes:
        async def consume(response: httpx.Response) -> bytes:
            if response.status_code == 416:  # the range starts at or after the end
                return b""
            if response.status_code != 206:  # the whole content: copy out the range only
                buffer = bytearray(length)
                filled = await _fill(response, memoryview(buffer), skip=offset, to_the_end=False)
                return bytes(buffer[:filled])
            expected = self._expected_length(response, offset, length)
            parts, total = [], 0
            async for chunk in response.aiter_bytes():  # to the end (see _fill), keeping what was asked
                if total < length:
                    parts.append(chunk)
                    total += len(chunk)
            data = b"".join(parts)
            if len(data) < expected:
                raise httpx.ReadError("the body ended early", request=response.request)
            return data[:length]

        return await self._get_range(url, offset, length, consume)

    async def _ranged_get(self, url: str, offset: int, buffer: memoryview) -> int:
        length = len(buffer)

        async def consume(response: httpx.Response) -> int:
            if response.status_code == 416:  # the range starts at or after the end
                return 0
            if response.status_code != 206:  # the whole content: skip to the range, stop after it
                return await _fill(response, buffer, skip=offset, to_the_end=False)
            expected = self._expected_length(response, offset, length)
            filled = await _fill(response, buffer, skip=0, to_the_end=True)
            if filled < expected:
                raise httpx.ReadError("the body ended early", request=response.request)
            return filled

        return await self._get_range(url, offset, length, consume)

    @staticmethod
    def _expected_length(response: httpx.Response, offset: int, length: int) -> int:
        """How many of the wanted bytes a 206 answer promises (its Content-Range must start at offset)."""
        content_range = _parse_content_range(response.headers.get("content-range"))
        if content_range is None or content_range[0] != offset:
            raise ServerError(f"read {response.request.url.path}: wrong Content-Range", operation="read")
        return min(length, content_range[1] - content_range[0] + 1)

    async def _get_range(self, url: str, offset: int, length: int, consume: Callable[[httpx.Response], Awaitable[T]]) -> T:
        return await self._transport.data_request(
            "GET",
            url,
            operation="read",
            consume=consume,
            headers={"Range": f"bytes={offset}-{offset + length - 1}", "Accept-Encoding": "identity"},
            accept=lambda status: status in (200, 206, 416),
        )

    async def content_length(self, item: StorageItem) -> int:
        """The content's size from a HEAD (or, where HEAD is not signed for, a 1-byte range GET)."""
        try:
            return await self._with_signed_url(item, self._head_size)
        except Forbidden:
            pass
        except ServerError as exc:
            if exc.status not in (405, 501):
                raise
        return await self._with_signed_url(item, self._probe_size)

    async def _head_size(self, url: str) -> int:
        async def consume(response: httpx.Response) -> int:
            size = response.headers.get("content-length")
            if size is None:
                raise ServerError(f"size of {response.request.url.path}: no Content-Length", operation="size")
            return int(size)

        return await self._transport.data_request("HEAD", url, operation="size", consume=consume)

    async def _probe_size(self, url: str) -> int:
        async def consume(response: httpx.Response) -> int:
            if response.status_code == 416:
                content_range = response.headers.get("content-range", "")
                return int(content_range.rsplit("/", 1)[-1]) if "/" in content_range else 0
            if response.status_code == 200:
                return int(response.headers.get("content-length", "0"))
            parsed = _parse_content_range(response.headers.get("content-range"))
            if parsed is None or parsed[2] is None:
                raise ServerError(f"size of {response.request.url.path}: no total in Content-Range", operation="size")
            return parsed[2]

        return await self._transport.data_request(
            "GET", url, operation="size", consume=consume, headers={"Range": "bytes=0-0", "Accept-Encoding": "identity"},
            accept=lambda status: status in (200, 206, 416),
        )

    # --- uploads -------------------------------------------------------------------------
    async def put_file(self, url: str, path: Path, headers: Mapping[str, str]) -> None:
        """PUT the file to a signed upload URL, streamed from disk; retried (a PUT replaces)."""
        size = (await trio.Path(path).stat()).st_size
        all_headers = {**headers, "Content-Length": str(size)}
        await self._transport.data_request(
            "PUT", url, operation=f"upload {path.name}", consume=_drain, headers=all_headers,
            content=lambda: file_chunks(path),
        )
