"""The hardest case for non-idempotent calls: the server did the work but its answer was lost.

A transport wrapper forwards to the real emulator and then throws the answer away for the chosen
calls, so the client sees a dropped connection after the folder or upload job really exists. The
client must find what it made and never make it twice.
"""

from __future__ import annotations

from collections import Counter
from uuid import uuid4

import httpx

from encordfs.emulator import mediagen
from encordfs.storage.auth import load_credentials
from encordfs.storage.client import StorageClient
from encordfs.wire.enums import StorageItemType

from .conftest import TEST_RETRY


class LosingTransport(httpx.AsyncHTTPTransport):
    """Drops the answer of the first ``times`` requests whose method and path end match."""

    def __init__(self, method: str, path_end: str, times: int = 1) -> None:
        super().__init__()
        self.method, self.path_end, self.remaining = method, path_end, times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if self.remaining and request.method == self.method and request.url.path.endswith(self.path_end):
            self.remaining -= 1
            await response.aread()
            await response.aclose()
            raise httpx.RemoteProtocolError("answer lost (injected)", request=request)
        return response


def losing_client(emulator, transport: LosingTransport) -> StorageClient:
    credentials = load_credentials(ssh_key_file=emulator.key_path)
    return StorageClient(credentials, emulator.url, retry=TEST_RETRY, timeout=10.0, transport=transport)


async def test_create_folder_whose_answer_was_lost_is_adopted_not_repeated(client, storage_emulator):
    parent = await client.create_folder(f"lost-{uuid4().hex[:6]}", None)
    losing = LosingTransport("POST", "/storage/folders")
    async with losing_client(storage_emulator, losing) as lossy:
        made = await lossy.create_folder("only-once", parent.uuid, description="d")
        assert losing.remaining == 0  # an answer really was lost
    listed = [f async for f in client.iter_folders(parent.uuid)]
    assert [(f.uuid, f.name, f.description) for f in listed] == [(made.uuid, "only-once", "d")]


async def test_upload_whose_job_answer_was_lost_is_not_registered_twice(client, storage_emulator, tmp_path):
    folder = await client.create_folder(f"lost-up-{uuid4().hex[:6]}", None)
    path = mediagen.text(tmp_path / "once.txt", ["exactly once"])
    losing = LosingTransport("POST", "/data-upload-jobs")
    async with losing_client(storage_emulator, losing) as lossy:
        item = await lossy.upload_file(folder.uuid, path, path.name, StorageItemType.PLAIN_TEXT)
        assert losing.remaining == 0
    assert item.name == "once.txt" and await client.read_range(item, 0, 100) == path.read_bytes()
    assert [i.uuid async for i in client.iter_items(folder.uuid)] == [item.uuid]


async def test_image_group_whose_job_answer_was_lost_is_found_through_its_frames(client, storage_emulator, tmp_path):
    folder = await client.create_folder(f"lost-grp-{uuid4().hex[:6]}", None)
    frames = [mediagen.png(tmp_path / f"f{i}.png", seed=i) for i in range(2)]
    losing = LosingTransport("POST", "/data-upload-jobs")
    async with losing_client(storage_emulator, losing) as lossy:
        group = await lossy.upload_image_group(folder.uuid, frames, "grp")
        assert losing.remaining == 0
    assert group.item_type == StorageItemType.IMAGE_GROUP and group.name == "grp"
    assert len(await client.child_items(group)) == 2
    top_level = [i async for i in client.iter_items(folder.uuid)]
    assert Counter(i.item_type for i in top_level)[StorageItemType.IMAGE_GROUP] == 1
