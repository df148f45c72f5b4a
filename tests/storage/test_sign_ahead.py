"""Download URLs fetched ahead for the files likely read next (``sign_ahead``), against the emulator."""

from __future__ import annotations

from uuid import uuid4

import trio
import trio.testing

from encordfs.emulator import mediagen
from encordfs.storage.auth import load_credentials
from encordfs.storage.client import StorageClient
from encordfs.wire.enums import StorageItemType


async def test_concurrent_readers_share_one_request_and_then_read_without_item_calls(client, storage_emulator, tmp_path) -> None:
    folder = await client.create_folder(f"t-{uuid4().hex[:8]}", None)
    paths = [mediagen.text(tmp_path / f"n{i}.txt", (f"note {i}",)) for i in range(6)]
    items = [await client.upload_file(folder.uuid, p, p.name, StorageItemType.PLAIN_TEXT) for p in paths]
    credentials = load_credentials(ssh_key_file=storage_emulator.key_path)
    async with StorageClient(credentials, storage_emulator.url) as reader:  # no URL cached yet
        await _share_one_request(reader, items, paths)


async def _share_one_request(client, items, paths) -> None:
    calls: list[str] = []
    real_get_items, real_get_item = client.get_items, client.get_item

    async def get_items(uuids, **kwargs):
        calls.append(f"get_items:{len(list(uuids))}")
        return await real_get_items(uuids, **kwargs)

    async def get_item(uuid, **kwargs):
        calls.append("get_item")
        return await real_get_item(uuid, **kwargs)

    client.get_items, client.get_item = get_items, get_item
    uuids = [item.uuid for item in items]
    async with trio.open_nursery() as nursery:  # the first reader's request is in flight...
        nursery.start_soon(client.sign_ahead, uuids[0], uuids[1:])
        await trio.testing.wait_all_tasks_blocked()
        for k in (1, 2):  # ...when two more readers of the next files arrive
            nursery.start_soon(client.sign_ahead, uuids[k], uuids[k + 1 :])
    assert calls == ["get_items:6"]
    read = [await client.read_range(item, 0, 100) for item in items]
    assert read == [p.read_bytes() for p in paths] and calls == ["get_items:6"], "no item call before a GET"
    await client.sign_ahead(uuids[0], uuids[1:])
    assert calls == ["get_items:6"], "nothing fetched while every URL is cached"
