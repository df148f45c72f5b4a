"""Protocol conformance: the official SDK and our client, doing the same operations against the
emulator, send the same method, path, query parameters and JSON body (the emulator's request log
is the witness). Every request of ours is signed, so it also shows our signatures verify there.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import pytest
import trio
from encord.exceptions import EncordException
from encord.http.bundle import Bundle
from encord.orm import storage as sdk_storage
from encord.user_client import EncordUserClient

from encordfs.emulator import mediagen
from encordfs.storage.errors import StorageError
from encordfs.storage.queries import FolderQuery, ItemQuery
from encordfs.wire.enums import SortBy, StorageItemType, StorageUserRole

from .conftest import INTEGRATION

_JOB_PATH = re.compile(r"(data-upload-jobs/)[0-9a-f-]{36}")
_SLOT_KEYS = {"placeholderItemUuid", "objectUrl", "url"}


def _normalise_body(value: Any) -> Any:
    """Slot-specific values (placeholder uuids, object keys) differ between two uploads."""
    if isinstance(value, dict):
        return {k: "<slot>" if k in _SLOT_KEYS else _normalise_body(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise_body(v) for v in value]
    return value


def request_shape(entry: dict[str, Any]) -> tuple:
    path = entry["path"]
    if path.startswith("/blobs/"):
        return (entry["method"], "/blobs/<key>")
    path = _JOB_PATH.sub(r"\1<job>", path)
    return (entry["method"], path, tuple(map(tuple, entry["query_list"])), repr(_normalise_body(entry["body"])))


@pytest.fixture
def sdk(storage_emulator) -> EncordUserClient:
    return EncordUserClient.create_with_ssh_private_key(
        ssh_private_key_path=str(storage_emulator.key_path), domain=storage_emulator.url
    )


class Compare:
    def __init__(self, emulator) -> None:
        self.emulator = emulator

    async def _record(self, action: Callable[[], Awaitable[Any]]) -> list[tuple]:
        position = self.emulator.log_position()
        with contextlib.suppress(StorageError, EncordException):  # the second of two identical deletes may fail
            await action()
        entries = self.emulator.log_since(position)
        assert all(e["status"] != 401 for e in entries), "a request's signature was refused"
        return [request_shape(e) for e in entries]

    async def __call__(self, sdk_action: Callable[[], Any], ours: Callable[[], Awaitable[Any]]) -> list[tuple]:
        sdk_requests = await self._record(lambda: trio.to_thread.run_sync(sdk_action))
        our_requests = await self._record(ours)
        assert sdk_requests, "the SDK sent nothing"
        assert our_requests == sdk_requests
        return our_requests


@pytest.fixture
def compare(storage_emulator) -> Compare:
    return Compare(storage_emulator)


async def test_folder_calls_match_the_sdk(client, sdk, compare):
    name = f"conf-{uuid4().hex[:6]}"
    root = await client.create_folder(name, None)
    sub = await client.create_folder("sub", root.uuid)
    sdk_root = await trio.to_thread.run_sync(sdk.get_storage_folder, root.uuid)

    await compare(lambda: sdk.get_storage_folder(root.uuid), lambda: client.get_folder(root.uuid))
    await compare(lambda: sdk.create_storage_folder("made", "d", {"a": 1}, parent_folder=root.uuid),
                  lambda: client.create_folder("made", root.uuid, description="d", client_metadata={"a": 1}))
    await compare(lambda: list(sdk.list_storage_folders()), lambda: _drain(client.iter_folders(None, page_size=100)))
    await compare(lambda: list(sdk.list_storage_folders(search="a b/ü&x", dataset_synced=False, order=sdk_storage.FoldersSortBy.CREATED_AT, desc=True, page_size=1000)),
                  lambda: _drain(client.list_folders(None, FolderQuery(search="a b/ü&x", dataset_synced=False, order=SortBy.CREATED_AT, desc=True, page_size=1000))))
    await compare(lambda: list(sdk.find_storage_folders(search=name)), lambda: _drain(client.find_folders(FolderQuery(search=name))))
    await compare(lambda: list(sdk_root.list_subfolders()), lambda: _drain(client.iter_folders(root.uuid, page_size=100)))
    await compare(lambda: list(sdk_root.find_subfolders(search="s", dataset_synced=True)),
                  lambda: _drain(client.list_folders(root.uuid, FolderQuery(search="s", is_recursive=True, dataset_synced=True))))
    await compare(lambda: sdk_root.update(name=name, client_metadata={"x": [1, 2]}),
                  lambda: client.update_folder(root.uuid, name=name, client_metadata={"x": [1, 2]}))
    await compare(lambda: sdk_root.update(description="new"), lambda: client.update_folder(root.uuid, description="new"))
    await compare(lambda: _bundled_folder_update(sdk_root, name), lambda: client.update_folders({root.uuid: {"name": name}}))
    await compare(lambda: sdk_root.get_summary(), lambda: client.folder_summary(root.uuid))

    sdk_sub = await trio.to_thread.run_sync(sdk.get_storage_folder, sub.uuid)
    await compare(lambda: sdk_sub.move_to_folder(None), lambda: _then_get(client.move_folders([sub.uuid], None), client.get_folder(sub.uuid)))
    await compare(lambda: sdk_sub.move_to_folder(root.uuid), lambda: _then_get(client.move_folders([sub.uuid], root.uuid), client.get_folder(sub.uuid)))

    groups = [(await client.create_org_group(f"g-{uuid4().hex[:6]}")).group_hash for _ in range(2)]
    await compare(lambda: sdk_root.add_group(groups, StorageUserRole.USER.value), lambda: client.add_groups(root.uuid, groups, StorageUserRole.USER))
    await compare(lambda: list(sdk_root.list_groups()), lambda: client.list_groups(root.uuid))
    await compare(lambda: sdk_root.remove_group(groups), lambda: client.remove_groups(root.uuid, groups))
    await compare(lambda: sdk_sub.delete(), lambda: client.delete_folder(sub.uuid))


async def test_item_calls_match_the_sdk(client, sdk, compare, tmp_path):
    folder = await client.create_folder(f"conf-items-{uuid4().hex[:6]}", None)
    other = await client.create_folder("other", folder.uuid)
    texts = [mediagen.text(tmp_path / f"{n}.txt", [n]) for n in ("a", "b")]
    items = [await client.upload_file(folder.uuid, p, p.name, StorageItemType.PLAIN_TEXT) for p in texts]
    group = await client.upload_image_group(folder.uuid, [mediagen.png(tmp_path / "f.png")], "grp")
    sdk_folder = await trio.to_thread.run_sync(sdk.get_storage_folder, folder.uuid)
    sdk_item = await trio.to_thread.run_sync(sdk.get_storage_item, items[0].uuid)
    sdk_group = await trio.to_thread.run_sync(sdk.get_storage_item, group.uuid)

    await compare(lambda: sdk.get_storage_item(items[0].uuid, sign_url=True), lambda: client.get_item(items[0].uuid, sign_url=True))
    await compare(lambda: sdk.get_storage_items([i.uuid for i in items]), lambda: client.get_items([i.uuid for i in items]))
    await compare(lambda: list(sdk_folder.list_items()), lambda: _drain(client.list_items(folder.uuid, ItemQuery(include_client_metadata=True, client_metadata_as_signed_url=False))))
    await compare(
        lambda: list(sdk_folder.list_items(search="a", is_in_dataset=False, item_types=[sdk_storage.StorageItemType.PLAIN_TEXT, sdk_storage.StorageItemType.IMAGE],
                                           order=sdk_storage.FoldersSortBy.CREATED_AT, get_signed_urls=True, include_client_metadata=False, desc=True, page_size=50)),
        lambda: _drain(client.list_items(folder.uuid, ItemQuery(search="a", is_in_dataset=False, item_types=(StorageItemType.PLAIN_TEXT, StorageItemType.IMAGE),
                                                                order=SortBy.CREATED_AT, sign_urls=True, include_client_metadata=False, client_metadata_as_signed_url=False, desc=True, page_size=50))))
    await compare(lambda: list(sdk_folder.find_items(item_types=[sdk_storage.StorageItemType.IMAGE_GROUP])),
                  lambda: _drain(client.find_items(folder.uuid, ItemQuery(item_types=(StorageItemType.IMAGE_GROUP,)))))
    await compare(lambda: sdk_item.update(name="c.txt"), lambda: client.update_item(items[0], name="c.txt"))
    await compare(lambda: sdk_item.update(client_metadata={"k": 2}), lambda: client.update_item(items[0], client_metadata={"k": 2}))
    await compare(lambda: _bundled_item_update(sdk_item), lambda: client.update_items({items[0].uuid: {"name": "x.txt"}}))
    await compare(lambda: sdk_item.get_summary(), lambda: client.item_summary(items[0]))
    await compare(lambda: list(sdk_group.get_child_items()), lambda: client.child_items(group))
    await compare(lambda: sdk_folder.move_items_to_folder(other.uuid, [items[1].uuid], allow_mirror_dataset_changes=True),
                  lambda: client.move_items(folder.uuid, [items[1].uuid], other.uuid, allow_synced_dataset_move=True))
    await compare(lambda: sdk_folder.delete_storage_items([items[0].uuid], remove_unused_frames=False),
                  lambda: client.delete_items(folder.uuid, [items[0].uuid], remove_unused_frames=False))


async def test_upload_calls_match_the_sdk(client, sdk, compare, tmp_path):
    folder = await client.create_folder(f"conf-up-{uuid4().hex[:6]}", None)
    sdk_folder = await trio.to_thread.run_sync(sdk.get_storage_folder, folder.uuid)
    note, png = mediagen.text(tmp_path / "note.txt"), mediagen.png(tmp_path / "photo.png")
    frames = [mediagen.png(tmp_path / f"fr{i}.png", seed=i) for i in range(2)]
    dicoms = mediagen.dicom_series(tmp_path / "ct", count=2)

    cases: list[tuple[Callable[[], Any], Callable[[], Awaitable[Any]]]] = [
        (lambda: sdk_folder.upload_text(note), lambda: client.upload_file(folder.uuid, note, note.name, StorageItemType.PLAIN_TEXT)),
        (lambda: sdk_folder.upload_image(png, client_metadata={"m": 1}), lambda: client.upload_file(folder.uuid, png, png.name, StorageItemType.IMAGE, client_metadata={"m": 1})),
        (lambda: sdk_folder.create_image_group(frames, title="grp"), lambda: client.upload_image_group(folder.uuid, frames, "grp")),
        (lambda: sdk_folder.create_image_sequence(frames, title="seq"), lambda: client.upload_image_sequence(folder.uuid, frames, "seq")),
        (lambda: sdk_folder.create_dicom_series(dicoms, title="ct"), lambda: client.upload_dicom_series(folder.uuid, dicoms, "ct")),
    ]
    for sdk_action, ours in cases:  # our uploads end with one GET of the new item; the SDK's do not
        sdk_requests = await compare._record(functools.partial(trio.to_thread.run_sync, sdk_action))
        our_requests = await compare._record(ours)
        assert len(sdk_requests) >= 4 and our_requests[:-1] == sdk_requests
        assert our_requests[-1][:2] == ("GET", f"/v2/public/storage/items/{our_requests[-1][1].rsplit('/', 1)[-1]}")

    entry = {"objectUrl": "s3://bucket/cams/a.png", "title": "cam.png", "clientMetadata": {}, "externalFileType": "IMAGE"}
    sdk_items = sdk_storage.DataUploadItems(images=[sdk_storage.DataUploadImage(object_url=entry["objectUrl"], title="cam.png")])
    jobs: list[UUID] = []

    async def our_import() -> None:
        jobs.append(await client.add_private_data(folder.uuid, INTEGRATION, items={"images": [entry]}))

    await compare(lambda: jobs.append(sdk_folder.add_private_data_to_folder_start(str(INTEGRATION), sdk_items)), our_import)
    await compare(lambda: sdk_folder.add_private_data_to_folder_get_result(jobs[0], timeout_seconds=5),
                  lambda: client.wait_upload_job(folder.uuid, jobs[1], timeout_seconds=5))
    await compare(lambda: sdk_folder.add_private_data_to_folder_start(str(INTEGRATION), {"images": [{"objectUrl": entry["objectUrl"]}]}, ignore_errors=True),
                  lambda: client.add_private_data(folder.uuid, INTEGRATION, external_files={"images": [{"objectUrl": entry["objectUrl"]}]}, ignore_errors=True))
    await compare(lambda: sdk_folder.add_data_to_folder_job_cancel(jobs[0]), lambda: client.cancel_upload_job(folder.uuid, jobs[0]))


async def test_reencode_calls_match_the_sdk(client, sdk, compare, tmp_path):
    folder = await client.create_folder(f"conf-re-{uuid4().hex[:6]}", None)
    video = await client.upload_file(folder.uuid, mediagen.mp4(tmp_path / "v.mp4"), "v.mp4", StorageItemType.VIDEO)
    sdk_folder = await trio.to_thread.run_sync(sdk.get_storage_folder, folder.uuid)
    processes: list[UUID] = []

    async def ours() -> None:
        processes.append(await client.reencode_videos([video.uuid], "proc"))

    await compare(lambda: processes.append(sdk_folder.re_encode_videos([video.uuid], "proc", False)), ours)
    await compare(lambda: sdk_folder.get_re_encoding_status(processes[0]), lambda: client.reencode_status(processes[0]))


async def _drain(iterator) -> list:
    return [x async for x in iterator]


async def _then_get(first: Awaitable[Any], second: Awaitable[Any]) -> None:
    await first
    await second


def _bundled_folder_update(folder, name: str) -> None:
    with Bundle() as bundle:
        folder.update(name=name, bundle=bundle)


def _bundled_item_update(item) -> None:
    with Bundle() as bundle:
        item.update(name="x.txt", bundle=bundle)
