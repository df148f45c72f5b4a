"""Data plane and upload flow against the scripted fake API: ranges, signed-URL refresh, streamed
PUTs, and upload jobs that are never started twice."""

from __future__ import annotations

import json
import logging
import time
from uuid import uuid4

import httpx
import pytest
import trio

from encordfs.storage import errors
from encordfs.storage.auth import Credentials
from encordfs.storage.client import StorageClient
from encordfs.storage.signed_urls import SignedUrlCache, url_expiry
from encordfs.wire.enums import StorageItemType
from encordfs.wire.models import StorageItem

from .fakes import FAST_RETRY, KEY, FakeApi, item_wire, reply

CONTENT = bytes(range(256)) * 40  # 10240 bytes


def blob(request: httpx.Request) -> httpx.Response:
    """A download endpoint honouring single ranges like S3."""
    header = request.headers.get("range")
    if header is None:
        return httpx.Response(200, content=CONTENT)
    start, end = (int(x) for x in header.removeprefix("bytes=").split("-"))
    if start >= len(CONTENT):
        return httpx.Response(416, headers={"Content-Range": f"bytes */{len(CONTENT)}"})
    end = min(end, len(CONTENT) - 1)
    return httpx.Response(206, content=CONTENT[start : end + 1], headers={"Content-Range": f"bytes {start}-{end}/{len(CONTENT)}"})


def signed(url_path: str, expires: float | None = None) -> str:
    return f"http://blobs.test{url_path}?sig=SECRET&expires={int(expires or time.time() + 3600)}"


def item_with_url(api: FakeApi, url_paths: list[str]) -> StorageItem:
    wire = item_wire()
    item = StorageItem.from_wire(wire)
    api.route("GET", f"storage/items/{item.uuid}", *[reply(body={**wire, "signedUrl": signed(p)}) for p in url_paths])
    return item


async def test_read_into_fills_the_buffer_and_stops_at_eof():
    api = FakeApi()
    item = item_with_url(api, ["/b/1"])
    api.route("GET", "/b/1", blob)
    async with api.client() as client:
        buffer = bytearray(1000)
        assert await client.read_into(item, 5000, memoryview(buffer)) == 1000
        assert buffer == CONTENT[5000:6000]
        assert await client.read_range(item, 10000, 1000) == CONTENT[10000:]
        assert await client.read_range(item, 20000, 10) == b""
    assert len(api.calls("GET", f"storage/items/{item.uuid}")) == 1  # the signed URL was cached


async def test_server_ignoring_range_still_gives_the_right_bytes():
    api = FakeApi()
    item = item_with_url(api, ["/b/1"])
    api.route("GET", "/b/1", lambda request: httpx.Response(200, content=CONTENT))
    async with api.client() as client:
        assert await client.read_range(item, 300, 50) == CONTENT[300:350]


async def test_expired_url_403_is_refreshed_once_transparently():
    api = FakeApi()
    item = item_with_url(api, ["/old", "/new"])
    api.route("GET", "/old", reply(403, {"message": "expired"}))
    api.route("GET", "/new", blob)
    async with api.client() as client:
        assert await client.read_range(item, 0, 10) == CONTENT[:10]
    assert len(api.calls("GET", f"storage/items/{item.uuid}")) == 2


async def test_persistent_403_raises_forbidden_without_the_query_string():
    api = FakeApi()
    item = item_with_url(api, ["/x"])
    api.route("GET", "/x", reply(403, {"message": "denied"}))
    async with api.client() as client:
        with pytest.raises(errors.Forbidden) as raised:
            await client.read_range(item, 0, 10)
    assert "SECRET" not in str(raised.value) and "sig=" not in str(raised.value)
    assert "/x" in str(raised.value) and "403" in str(raised.value)


async def test_broken_body_is_retried():
    api = FakeApi()
    item = item_with_url(api, ["/b/1"])

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(206, content=CONTENT[:5], headers={"Content-Range": "bytes 0-99/10240"})

    api.route("GET", "/b/1", broken, blob)
    async with api.client() as client:
        assert await client.read_range(item, 0, 100) == CONTENT[:100]
    assert len(api.calls("GET", "/b/1")) == 2


async def test_near_expiry_url_is_refetched_before_use():
    api = FakeApi()
    wire = item_wire()
    item = StorageItem.from_wire(wire)
    api.route(
        "GET", f"storage/items/{item.uuid}",
        reply(body={**wire, "signedUrl": signed("/b/1", expires=time.time() + 5)}),
        reply(body={**wire, "signedUrl": signed("/b/1")}),
    )
    api.route("GET", "/b/1", blob)
    async with api.client(signed_urls=SignedUrlCache(margin=60)) as client:
        await client.read_range(item, 0, 1)
        await client.read_range(item, 0, 1)
        await client.read_range(item, 0, 1)
    assert len(api.calls("GET", f"storage/items/{item.uuid}")) == 2


def test_url_expiry_understands_common_signers():
    assert url_expiry("http://h/k?X-Amz-Date=20250101T000000Z&X-Amz-Expires=60", 0, 600) == 1735689660
    assert url_expiry("http://h/k?Expires=1700000000&Signature=x", 0, 600) == 1700000000
    assert url_expiry("http://h/k?se=2025-01-01T00:01:00Z&sig=x", 0, 600) == 1735689660
    assert url_expiry("http://h/k?sig=x", 100, 600) == 700


async def test_content_length_from_head_or_a_range_probe():
    api = FakeApi()
    item = item_with_url(api, ["/b/1"])
    api.route("HEAD", "/b/1", lambda r: httpx.Response(200, headers={"Content-Length": "10240"}))
    other = item_with_url(api, ["/b/2"])
    api.route("HEAD", "/b/2", reply(403))
    api.route("GET", "/b/2", blob)
    async with api.client() as client:
        assert await client.content_length(item) == 10240
        assert await client.content_length(other) == 10240


def upload_routes(api: FakeApi, folder, item_type=StorageItemType.IMAGE, job_start=None):
    placeholder = uuid4()
    slot = {"itemUuid": str(placeholder), "objectKey": "k/0", "signedUrl": "http://blobs.test/up/0?sig=SECRET", "uploadHeaders": {"x-extra": "1"}}
    job = uuid4()
    api.route("POST", f"storage/folders/{folder}/upload-signed-urls", reply(body={"results": [slot], "nextPageToken": None}))
    api.route("PUT", "/up/0", reply(200))
    api.route("POST", f"storage/folders/{folder}/data-upload-jobs", *(job_start or [reply(body=str(job))]))
    done = {"status": "DONE", "itemsWithNames": [{"itemUuid": str(placeholder), "name": "a.png"}], "errors": [],
            "unitsPendingCount": 0, "unitsDoneCount": 1, "unitsErrorCount": 0, "unitsCancelledCount": 0, "unitErrors": []}
    pending = {**done, "status": "PENDING", "itemsWithNames": []}
    api.route("GET", f"storage/folders/{folder}/data-upload-jobs/{job}", reply(body=pending), reply(body=done))
    api.route("GET", f"storage/items/{placeholder}", reply(body=item_wire(uuid=placeholder, parent=folder, item_type=item_type)))
    return placeholder, job


async def test_upload_file_streams_the_file_and_registers_the_item(tmp_path):
    api = FakeApi()
    folder = uuid4()
    placeholder, job = upload_routes(api, folder)
    path = tmp_path / "a.png"
    path.write_bytes(CONTENT)
    async with api.client() as client:
        item = await client.upload_file(folder, path, "a.png", StorageItemType.IMAGE, client_metadata={"m": 1})
    assert item.uuid == placeholder
    (put,) = api.calls("PUT", "/up/0")
    assert put.content == CONTENT
    assert put.headers["content-type"] == "image/png" and put.headers["content-length"] == str(len(CONTENT))
    assert put.headers["x-extra"] == "1" and put.headers["cache-control"] == "max-age=86400"
    assert "signature" not in put.headers  # signed URLs carry their own authorisation
    body = json.loads(api.calls("POST", f"storage/folders/{folder}/data-upload-jobs")[0].content)
    assert body["ignoreErrors"] is False and body["dataItems"]["images"] == [
        {"objectUrl": "k/0", "title": "a.png", "clientMetadata": {"m": 1}, "externalFileType": "IMAGE", "placeholderItemUuid": str(placeholder)}
    ]
    assert len(api.calls("GET", f"storage/folders/{folder}/data-upload-jobs/{job}")) == 2


async def test_ambiguous_job_start_is_not_repeated_when_the_item_appeared(tmp_path):
    api = FakeApi()
    folder = uuid4()
    placeholder, _ = upload_routes(api, folder, job_start=[reply(503)])
    api.route("POST", "storage/items/get-bulk", reply(body={"results": [item_wire(uuid=placeholder, parent=folder)], "nextPageToken": None}))
    path = tmp_path / "a.png"
    path.write_bytes(b"png")
    async with api.client() as client:
        item = await client.upload_file(folder, path, "a.png", StorageItemType.IMAGE)
    assert item.uuid == placeholder
    assert len(api.calls("POST", f"storage/folders/{folder}/data-upload-jobs")) == 1


async def test_ambiguous_job_start_is_resubmitted_with_the_same_placeholders(tmp_path):
    api = FakeApi()
    folder = uuid4()
    _placeholder, job = upload_routes(api, folder)
    api.route("POST", f"storage/folders/{folder}/data-upload-jobs", reply(502), reply(body=str(job)))
    api.route("POST", "storage/items/get-bulk", reply(403, {"message": "no such item"}))
    path = tmp_path / "a.png"
    path.write_bytes(b"png")
    async with api.client() as client:
        await client.upload_file(folder, path, "a.png", StorageItemType.IMAGE)
    first, second = api.calls("POST", f"storage/folders/{folder}/data-upload-jobs")
    assert first.content == second.content


async def test_text_that_is_not_text_is_refused_before_any_request(tmp_path):
    api = FakeApi()
    path = tmp_path / "a.bin"
    path.write_bytes(b"\0")
    async with api.client() as client:
        with pytest.raises(errors.InvalidArgument):
            await client.upload_file(uuid4(), path, "a.bin", StorageItemType.PLAIN_TEXT)
    assert api.requests == []


async def test_failed_upload_job_raises_upload_failed(tmp_path):
    api = FakeApi()
    folder = uuid4()
    _, job = upload_routes(api, folder)
    api.route("GET", f"storage/folders/{folder}/data-upload-jobs/{job}", reply(body={
        "status": "ERROR", "itemsWithNames": [], "errors": ["bad image"], "unitsPendingCount": 0, "unitsDoneCount": 0,
        "unitsErrorCount": 1, "unitsCancelledCount": 0, "unitErrors": []}))
    path = tmp_path / "a.png"
    path.write_bytes(b"png")
    async with api.client() as client:
        with pytest.raises(errors.UploadFailed) as raised:
            await client.upload_file(folder, path, "a.png", StorageItemType.IMAGE)
    assert raised.value.errors == ("bad image",)


async def test_logs_never_carry_signed_url_queries(caplog):
    api = FakeApi()
    item = item_with_url(api, ["/b/1"])
    api.route("GET", "/b/1", reply(503), blob)
    with caplog.at_level(logging.DEBUG):
        async with api.client() as client:
            assert await client.read_range(item, 0, 10) == CONTENT[:10]
    assert "/b/1" in caplog.text  # the requests were logged...
    assert "SECRET" not in caplog.text and "sig=" not in caplog.text  # ...without their credentials


async def test_concurrent_readers_share_one_signed_url_fetch():
    api = FakeApi()
    item = item_with_url(api, ["/b/1"])
    api.route("GET", "/b/1", blob)
    results: list[bytes] = []

    async def read(offset: int) -> None:
        results.append(await client.read_range(item, offset, 10))

    async with api.client() as client, trio.open_nursery() as nursery:
        for offset in range(0, 200, 10):
            nursery.start_soon(read, offset)
    assert sorted(results) == sorted(CONTENT[o : o + 10] for o in range(0, 200, 10))
    assert len(api.calls("GET", f"storage/items/{item.uuid}")) == 1


async def test_expired_upload_url_gets_a_fresh_slot(tmp_path):
    api = FakeApi()
    folder = uuid4()
    placeholder, _job = upload_routes(api, folder)
    fresh = uuid4()
    expired_slot = {"itemUuid": str(uuid4()), "objectKey": "k/old", "signedUrl": "http://blobs.test/up/old?sig=S", "uploadHeaders": {}}
    fresh_slot = {"itemUuid": str(fresh), "objectKey": "k/0", "signedUrl": "http://blobs.test/up/0?sig=S", "uploadHeaders": {}}
    api.route("POST", f"storage/folders/{folder}/upload-signed-urls",
              reply(body={"results": [expired_slot], "nextPageToken": None}), reply(body={"results": [fresh_slot], "nextPageToken": None}))
    api.route("PUT", "/up/old", reply(403, {"message": "expired"}))
    api.route("GET", f"storage/items/{placeholder}", reply(body=item_wire(uuid=placeholder, parent=folder)))
    path = tmp_path / "a.png"
    path.write_bytes(b"png")
    async with api.client() as client:
        await client.upload_file(folder, path, "a.png", StorageItemType.IMAGE)
    assert api.calls("PUT", "/up/0")[0].content == b"png"
    body = json.loads(api.calls("POST", f"storage/folders/{folder}/data-upload-jobs")[0].content)
    assert body["dataItems"]["images"][0]["placeholderItemUuid"] == str(fresh)


class ChunkRecorder(httpx.AsyncBaseTransport):
    """Records the chunk sizes of PUT bodies as they stream, then hands on a copy of the bytes."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.put_chunks: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            body = bytearray()
            async for chunk in request.stream:
                self.put_chunks.append(len(chunk))
                body += chunk
            request = httpx.Request("PUT", request.url, headers=request.headers, content=bytes(body))
        return await self.inner.handle_async_request(request)


async def test_upload_streams_the_file_in_bounded_chunks(tmp_path):
    api = FakeApi()
    folder = uuid4()
    upload_routes(api, folder)
    path = tmp_path / "big.png"
    path.write_bytes(CONTENT * 300)  # 3 MiB
    recorder = ChunkRecorder(httpx.MockTransport(api))
    async with StorageClient(Credentials(private_key=KEY), "http://api.test", retry=FAST_RETRY, transport=recorder) as client:
        await client.upload_file(folder, path, "big.png", StorageItemType.IMAGE)
    assert sum(recorder.put_chunks) == path.stat().st_size
    assert len(recorder.put_chunks) >= 3 and max(recorder.put_chunks) <= 1 << 20
    assert api.calls("PUT", "/up/0")[0].content == path.read_bytes()
