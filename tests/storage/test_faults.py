"""The client under the emulator's fault injection (5xx, 429, dropped connections, latency):
results must be exactly right: nothing lost, nothing duplicated."""

from __future__ import annotations

from collections import Counter
from uuid import uuid4

import pytest
import trio

from encordfs.emulator import mediagen
from encordfs.storage.auth import load_credentials
from encordfs.storage.client import StorageClient
from encordfs.storage.errors import RateLimited, StorageTimeout
from encordfs.storage.retry import RetryPolicy
from encordfs.wire.enums import StorageItemType

FAULTS = dict(error_rate=0.15, rate_429=0.1, drop_rate=0.1, latency_ms=2, blob_latency_ms=2, retry_after=0)


async def test_creates_and_uploads_are_never_duplicated_under_faults(client, storage_emulator, tmp_path):
    root = await client.create_folder(f"faulty-{uuid4().hex[:6]}", None)
    storage_emulator.set_faults(**{**FAULTS, "drop_rate": 0.25, "error_rate": 0.2}, seed=11)
    names = [f"d{i}" for i in range(10)]
    created = [await client.create_folder(name, root.uuid) for name in names]
    files = [mediagen.text(tmp_path / f"n{i}.txt", [f"note {i}"]) for i in range(5)]
    uploaded = [await client.upload_file(root.uuid, p, p.name, StorageItemType.PLAIN_TEXT) for p in files]
    storage_emulator.clear_faults()

    listed = [f async for f in client.iter_folders(root.uuid)]
    assert Counter(f.name for f in listed) == Counter(names)
    assert {f.uuid for f in listed} == {f.uuid for f in created}
    items = [i async for i in client.iter_items(root.uuid)]
    assert sorted(i.name for i in items) == sorted(p.name for p in files)
    assert {i.uuid for i in items} == {i.uuid for i in uploaded}


async def test_full_workflow_is_exact_under_faults(client, storage_emulator, tmp_path):
    storage_emulator.set_faults(**FAULTS, seed=5)
    root = await client.create_folder(f"wf-{uuid4().hex[:6]}", None)
    target = await client.create_folder("target", root.uuid)
    sources = {
        StorageItemType.IMAGE: mediagen.png(tmp_path / "p.png", seed=2),
        StorageItemType.PDF: mediagen.pdf(tmp_path / "d.pdf"),
        StorageItemType.AUDIO: mediagen.wav(tmp_path / "a.wav"),
    }
    items = {t: await client.upload_file(root.uuid, p, p.name, t) for t, p in sources.items()}
    frames = [mediagen.png(tmp_path / f"g{i}.png", seed=10 + i) for i in range(3)]
    group = await client.upload_image_group(root.uuid, frames, "grp")
    assert len(await client.child_items(group)) == 3

    reads: dict[tuple[StorageItemType, int], bytes] = {}

    async def read(item_type: StorageItemType, offset: int) -> None:
        reads[(item_type, offset)] = await client.read_range(items[item_type], offset, 100)

    async with trio.open_nursery() as nursery:  # many reads at once over the one pool
        for item_type in sources:
            for offset in range(0, 1000, 100):
                nursery.start_soon(read, item_type, offset)
    for (item_type, offset), data in reads.items():
        assert data == sources[item_type].read_bytes()[offset : offset + 100]
    for item_type, path in sources.items():
        assert await client.content_length(items[item_type]) == path.stat().st_size

    await client.update_item(items[StorageItemType.PDF], name="renamed.pdf")
    await client.move_items(root.uuid, [items[StorageItemType.IMAGE].uuid], target.uuid)
    await client.delete_items(root.uuid, [items[StorageItemType.AUDIO].uuid])
    await client.update_folder(target.uuid, description="moved here")
    storage_emulator.clear_faults()

    assert sorted([i.name async for i in client.iter_items(root.uuid)]) == ["grp", "renamed.pdf"]
    assert [i.name async for i in client.iter_items(target.uuid)] == ["p.png"]
    assert (await client.get_folder(target.uuid)).description == "moved here"
    summary = await client.folder_summary(root.uuid)
    assert summary.folders == 1


async def test_slow_or_throttling_server_gives_specific_errors(storage_emulator):
    credentials = load_credentials(ssh_key_file=storage_emulator.key_path)
    folder = uuid4()
    policy = RetryPolicy(max_attempts=2, base_delay=0.01, max_retry_after=0.5)
    try:
        storage_emulator.set_faults(latency_ms=500)
        async with StorageClient(credentials, storage_emulator.url, timeout=0.1, retry=policy) as impatient:
            with trio.fail_after(5), pytest.raises(StorageTimeout) as timed_out:
                await impatient.get_folder(folder)
        assert "get folder" in str(timed_out.value) and f"/storage/folders/{folder}" in str(timed_out.value)

        storage_emulator.set_faults(rate_429=1.0, retry_after=2)  # longer than max_retry_after: fail fast
        async with StorageClient(credentials, storage_emulator.url, retry=policy) as throttled:
            with trio.fail_after(5), pytest.raises(RateLimited) as limited:
                await throttled.get_folder(folder)
        assert limited.value.retry_after == 2 and limited.value.status == 429 and "rate limited" in str(limited.value)
    finally:
        storage_emulator.clear_faults()
