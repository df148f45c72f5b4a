"""Concurrent single-file uploads share slot requests and upload jobs; Content-Type from the title."""

from __future__ import annotations

import itertools
from uuid import uuid4

import pytest
import trio

from encordfs.emulator import mediagen
from encordfs.storage.coalesce import Coalescer
from encordfs.storage.errors import InvalidArgument, StorageError, UploadFailed
from encordfs.storage.upload_payloads import content_type_for
from encordfs.storage.uploads import SLOTS_AHEAD
from encordfs.wire.enums import StorageItemType


async def test_concurrent_uploads_share_slot_requests_and_jobs(client, storage_emulator, tmp_path) -> None:
    folder = await client.create_folder(f"batch-{uuid4().hex[:8]}", None)
    paths = [mediagen.jpeg(tmp_path / f"staged{i}", seed=i) for i in range(12)]  # no extension, like staged files
    start = storage_emulator.log_position()
    items: dict[str, object] = {}

    async def upload(index: int) -> None:
        items[f"p{index:02}.jpg"] = await client.upload_file(folder.uuid, paths[index], f"p{index:02}.jpg", StorageItemType.IMAGE)

    async with trio.open_nursery() as nursery:
        for index in range(len(paths)):
            nursery.start_soon(upload, index)
    requests = storage_emulator.log_since(start)
    slot_requests = [r for r in requests if r["path"].endswith("/upload-signed-urls")]
    job_starts = [r for r in requests if r["method"] == "POST" and r["path"].endswith("/data-upload-jobs")]
    assert sum(r["body"]["count"] for r in slot_requests) >= 12 and len(slot_requests) < 12
    assert sum(len(r["body"]["dataItems"]["images"]) for r in job_starts) == 12 and len(job_starts) < 12
    listed = {i.name: i async for i in client.iter_items(folder.uuid)}
    assert sorted(listed) == sorted(items) and len(listed) == 12
    for index, path in enumerate(paths):
        item = listed[f"p{index:02}.jpg"]
        assert item.mime_type == "image/jpeg"
        assert await client.read_range(item, 0, 1 << 20) == path.read_bytes()


async def test_files_that_keep_coming_use_slots_fetched_ahead(client, storage_emulator, tmp_path) -> None:
    folder = await client.create_folder(f"ahead-{uuid4().hex[:8]}", None)
    paths = [mediagen.text(tmp_path / f"t{i}", [str(i)]) for i in range(6)]
    start = storage_emulator.log_position()
    for index, path in enumerate(paths):  # one at a time, as a sequential cp -r
        await client.upload_file(folder.uuid, path, f"t{index}.txt", StorageItemType.PLAIN_TEXT)
    slot_requests = [r for r in storage_emulator.log_since(start) if r["path"].endswith("/upload-signed-urls")]
    assert [r["body"]["count"] for r in slot_requests] == [1, 1 + SLOTS_AHEAD]
    assert sorted([i.name async for i in client.iter_items(folder.uuid)]) == [f"t{i}.txt" for i in range(6)]


async def test_a_prepared_upload_starts_with_its_put(client, storage_emulator, tmp_path) -> None:
    folder = await client.create_folder(f"prep-{uuid4().hex[:8]}", None)
    await client.prepare_upload(folder.uuid, StorageItemType.IMAGE)
    await client.prepare_upload(folder.uuid, StorageItemType.IMAGE)  # one spare is enough
    start = storage_emulator.log_position()
    item = await client.upload_file(folder.uuid, mediagen.jpeg(tmp_path / "p"), "p.jpg", StorageItemType.IMAGE)
    requests = storage_emulator.log_since(start)
    assert not [r for r in requests if r["path"].endswith("/upload-signed-urls")]
    assert item.name == "p.jpg" and requests[0]["method"] == "PUT"


async def test_a_bad_file_in_a_batch_fails_only_itself(client, storage_emulator, tmp_path) -> None:
    folder = await client.create_folder(f"batch-{uuid4().hex[:8]}", None)
    good = [mediagen.jpeg(tmp_path / f"g{i}", seed=i) for i in range(5)]
    bad = tmp_path / "bad"
    bad.write_bytes(b"this is not an image at all" * 10)
    outcomes: dict[str, object] = {}

    async def upload(title: str, path) -> None:
        try:
            outcomes[title] = await client.upload_file(folder.uuid, path, title, StorageItemType.IMAGE)
        except StorageError as exc:
            outcomes[title] = exc

    async with trio.open_nursery() as nursery:
        for index, path in enumerate(good):
            nursery.start_soon(upload, f"g{index}.jpg", path)
        nursery.start_soon(upload, "bad.jpg", bad)
    assert isinstance(outcomes["bad.jpg"], UploadFailed)
    assert sorted([i.name async for i in client.iter_items(folder.uuid)]) == [f"g{i}.jpg" for i in range(5)]


async def test_an_untyped_path_uploads_under_its_title(client, tmp_path) -> None:
    folder = await client.create_folder(f"ct-{uuid4().hex[:8]}", None)
    path = mediagen.text(tmp_path / "staged", ["a", "b"])  # no extension: the title says text
    item = await client.upload_file(folder.uuid, path, "data.json", StorageItemType.PLAIN_TEXT)
    assert (item.name, item.item_type) == ("data.json", StorageItemType.PLAIN_TEXT)
    titled = await client.upload_file(folder.uuid, path, "notes", StorageItemType.PLAIN_TEXT, content_type="text/plain")
    assert titled.name == "notes"


def test_the_content_type_comes_from_the_title() -> None:
    assert content_type_for("data.json", StorageItemType.PLAIN_TEXT) == "application/json"
    assert content_type_for("a.png", StorageItemType.IMAGE) == "image/png"
    assert content_type_for("staged", StorageItemType.IMAGE) == "application/octet-stream"
    with pytest.raises(InvalidArgument):
        content_type_for("notes", StorageItemType.PLAIN_TEXT)


async def test_the_coalescer_batches_while_busy_and_fails_only_whom_it_must() -> None:
    batches: list[list[int]] = []

    async def run(key: str, requests: list[int]) -> list[int | Exception]:
        batches.append(list(requests))
        await trio.sleep(0.01)
        return [ValueError(r) if r == 3 else r * 10 for r in requests]

    coalescer: Coalescer[str, int, int] = Coalescer(run, max_batch=4)
    results: dict[int, object] = {}

    async def submit(request: int) -> None:
        try:
            results[request] = await coalescer.submit("k", request)
        except ValueError as exc:
            results[request] = exc

    async with trio.open_nursery() as nursery:
        for request in range(9):
            nursery.start_soon(submit, request)
    assert sorted(r for batch in batches for r in batch) == list(range(9))
    assert len(batches) < 9 and max(len(b) for b in batches) <= 4
    assert isinstance(results.pop(3), ValueError)
    assert results == {r: r * 10 for r in range(9) if r != 3}


async def test_a_batch_gathers_only_while_company_is_on_its_way(autojump_clock) -> None:
    batches: list[list[int]] = []

    async def run(key: str, requests: list[int]) -> list[int | Exception]:
        batches.append(list(requests))
        return list(requests)

    on_the_way = {"k": 0}
    coalescer: Coalescer[str, int, int] = Coalescer(run, max_batch=10, gather=5.0, company=lambda k: on_the_way[k] > 0)
    start = trio.current_time()
    for request in range(3):  # one at a time, each waiting for its answer (a sync-mode cp)
        assert await coalescer.submit("k", request) == request
    assert trio.current_time() - start < 1.0 and batches == [[0], [1], [2]]

    on_the_way["k"] = 1  # another request has begun: the next batch waits for it
    async with trio.open_nursery() as nursery:
        nursery.start_soon(coalescer.submit, "k", 3)
        await trio.sleep(1.0)
        on_the_way["k"] = 0
        nursery.start_soon(coalescer.submit, "k", 4)
    assert batches[3:] == [[3, 4]]


async def test_a_batch_keeps_gathering_while_requests_keep_joining(autojump_clock) -> None:
    batches: list[list[int]] = []

    async def run(key: str, requests: list[int]) -> list[int | Exception]:
        batches.append(list(requests))
        return list(requests)

    coalescer: Coalescer[str, int, int] = Coalescer(run, max_batch=100, gather=1.0, max_gather=5.0)
    await coalescer.submit("k", -1)  # the key is streaming from here on
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for request in range(8):  # one every 0.5 s: a new one within every gather
            nursery.start_soon(coalescer.submit, "k", request)
            await trio.sleep(0.5)
        # the batch gathers while requests keep joining (one per 0.5 s, 8 in 4 s); the stream's
        # end costs one gather without a newcomer; the nursery ends with the batch
    assert batches[1:] == [list(range(8))]
    assert trio.current_time() - start == pytest.approx(5.0)

    batches.clear()
    async with trio.open_nursery() as nursery:  # a longer stream: max_gather cuts it into batches
        for request in range(24):
            nursery.start_soon(coalescer.submit, "k", request)
            await trio.sleep(0.5)
    assert len(batches) >= 3 and sorted(itertools.chain.from_iterable(batches)) == list(range(24))
