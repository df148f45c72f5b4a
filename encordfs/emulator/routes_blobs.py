"""The data plane: ``GET``/``HEAD``/``PUT /blobs/{uuid}`` authorised by signed URLs, not by API keys.

GET and HEAD honour a single ``Range`` (206 with Content-Range, 416 when unsatisfiable); a
multi-range or malformed header is ignored (200, whole body), as RFC 9110 allows. Bodies stream in
large chunks, and no database lock is held while bytes move.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid as uuidlib
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .api_errors import BadRequest, Forbidden, NotFound
from .context import Emulator
from .params import parse_uuid
from .signed_urls import BlobOp, SignedUrlError

CHUNK = 1024 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range a ``Range`` header asks for, ``None`` for the whole body."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return start, end


def _authorise(request: Request, op: BlobOp) -> tuple[Emulator, str]:
    emulator: Emulator = request.app.state.emulator
    key = parse_uuid("blob key", request.path_params["key"])
    q = request.query_params
    try:
        emulator.signer.verify(key, op, q.get("op"), q.get("expires"), q.get("sig"))
    except SignedUrlError as exc:
        raise Forbidden(f"signed URL refused: {exc}") from None
    return emulator, key


def _locate(emulator: Emulator, key: str) -> tuple[Path, str]:
    item = emulator.store.item(key)
    if item is not None:
        path = emulator.store.blob_file(item)
        mime = json.loads(item["media"]).get("mime_type") or "application/octet-stream"
    else:
        path, mime = emulator.store.blob_dir / key, "application/octet-stream"
    if path is None or not path.is_file():
        raise NotFound("no bytes stored under this key")
    return path, mime


class FileSlice(Response):
    """Streams ``[start, end]`` of a file with ``os.pread`` in 1 MiB chunks."""

    def __init__(self, path: Path, start: int, end: int, status: int, headers: dict[str, str], head: bool) -> None:
        super().__init__(status_code=status, headers=headers)
        self.path, self.start, self.end, self.head = path, start, end, head

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if self.head or self.end < self.start:
            await send({"type": "http.response.body", "body": b""})
            return
        gone = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, gone))
        fd = os.open(self.path, os.O_RDONLY)
        try:
            offset = self.start
            while offset <= self.end and not gone.is_set():
                chunk = os.pread(fd, min(CHUNK, self.end + 1 - offset), offset)
                if not chunk:
                    break
                offset += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": offset <= self.end})
            if offset <= self.end and not gone.is_set():
                await send({"type": "http.response.body", "body": b""})
        finally:
            os.close(fd)
            watcher.cancel()


async def _watch_disconnect(receive: Any, gone: asyncio.Event) -> None:
    """Stop streaming once the client has gone (uvicorn silently drops sends after that)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


async def get_blob(request: Request) -> Response:
    emulator, key = _authorise(request, BlobOp.GET)
    path, mime = _locate(emulator, key)
    size = path.stat().st_size
    headers = {"accept-ranges": "bytes", "content-type": mime}
    try:
        wanted = parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        return Response(status_code=416, headers={**headers, "content-range": f"bytes */{size}"})
    head = request.method == "HEAD"
    if wanted is None:
        return FileSlice(path, 0, size - 1, 200, {**headers, "content-length": str(size)}, head)
    start, end = wanted
    headers.update({"content-length": str(end - start + 1), "content-range": f"bytes {start}-{end}/{size}"})
    return FileSlice(path, start, end, 206, headers, head)


async def _receive_into(request: Request, handle: Any) -> None:
    """Copy the request body to ``handle``: socket reads are gathered into ~1 MiB writes that run in
    a worker thread while the next megabyte arrives (at most one write in flight)."""
    loop = asyncio.get_running_loop()
    in_flight: asyncio.Future[Any] | None = None
    pending: list[bytes] = []
    buffered = 0
    more = True
    try:
        while more:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                raise BadRequest("the client went away mid-upload")
            body = message.get("body", b"")
            if body:
                pending.append(body)
                buffered += len(body)
            more = message.get("more_body", False)
            if pending and (buffered >= CHUNK or not more):
                if in_flight is not None:
                    await in_flight
                in_flight = loop.run_in_executor(None, handle.write, b"".join(pending))
                pending, buffered = [], 0
    finally:
        if in_flight is not None:
            await in_flight


async def put_blob(request: Request) -> Response:
    emulator, key = _authorise(request, BlobOp.PUT)
    if emulator.store.one("SELECT uuid FROM slots WHERE uuid=?", (key,)) is None:
        raise Forbidden("this upload slot has already been registered or never existed")
    final = emulator.store.blob_dir / key
    partial = final.with_name(f"{key}.{uuidlib.uuid4().hex}.part")
    try:
        with open(partial, "wb", buffering=0) as handle:  # noqa: ASYNC230 (opening is instant; the writes run in a thread)
            await _receive_into(request, handle)
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    expected = request.headers.get("content-length")
    if expected is not None and expected.isdigit() and int(expected) != final.stat().st_size:
        final.unlink(missing_ok=True)
        raise BadRequest("the body is shorter than its Content-Length")
    return Response(status_code=200, headers={"etag": f'"{key}"'})


routes = [
    Route("/blobs/{key}", get_blob, methods=["GET", "HEAD"]),
    Route("/blobs/{key}", put_blob, methods=["PUT"]),
]
