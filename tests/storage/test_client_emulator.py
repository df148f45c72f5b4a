"""Every StorageClient call against the real emulator, checking real results."""

from __future__ import annotations

import json
from uuid import uuid4

import httpx
import pytest
import trio

from encordfs.emulator import mediagen
from encordfs.storage import errors
from encordfs.storage.auth import load_credentials
from encordfs.storage.client import StorageClient
from encordfs.storage.queries import FolderQuery, ItemQuery
from encordfs.storage.retry import RetryPolicy
from encordfs.wire.enums import ReencodeStatus, SortBy, StorageItemType, StorageUserRole, UploadJobStatus

from .conftest import INTEGRATION

SINGLE_FILES = {
    StorageItemType.IMAGE: lambda d: mediagen.png(d / "pic.png", seed=1),
    StorageItemType.VIDEO: lambda d: mediagen.mp4(d / "clip.mp4"),
    StorageItemType.AUDIO: lambda d: mediagen.wav(d / "tone.wav"),
    StorageItemType.PLAIN_TEXT: lambda d: mediagen.text(d / "note.txt"),
    StorageItemType.PDF: lambda d: mediagen.pdf(d / "doc.pdf"),
    StorageItemType.NIFTI: lambda d: mediagen.nifti(d / "vol.nii"),
}


async def new_folder(client: StorageClient, parent=None, name: str | None = None):
    return await client.create_folder(name or f"t-{uuid4().hex[:8]}", parent)


async def test_folder_lifecycle(client):
    root = await client.create_folder(f"root-{uuid4().hex[:6]}", None, description="d", client_metadata={"a": 1})
    assert root.description == "d" and root.metadata == {"a": 1} and root.parent is None
    children = [await client.create_folder(name, root.uuid) for name in ("b", "a", "c")]
    assert (await client.get_folder(children[0].uuid)).parent == root.uuid
    assert [f.name async for f in client.iter_folders(root.uuid)] == ["a", "b", "c"]
    assert [f.name async for f in client.iter_folders(root.uuid, search="b")] == ["b"]
    assert root.uuid in [f.uuid async for f in client.iter_folders(None, page_size=1000)]
    grandchild = await client.create_folder("deep", children[0].uuid)
    found = [f.uuid async for f in client.list_folders(root.uuid, FolderQuery(search="deep", is_recursive=True))]
    assert found == [grandchild.uuid]
    assert grandchild.uuid in [f.uuid async for f in client.find_folders(FolderQuery(search="deep"))]

    renamed = await client.update_folder(children[0].uuid, name="b2", description="new", client_metadata={"x": [1]})
    assert (renamed.name, renamed.description, renamed.metadata) == ("b2", "new", {"x": [1]})
    bulk = await client.update_folders({children[1].uuid: {"name": "a2"}, children[2].uuid: {"description": "cc"}})
    assert {f.uuid: (f.name, f.description) for f in bulk} == {children[1].uuid: ("a2", ""), children[2].uuid: ("c", "cc")}

    await client.move_folders([grandchild.uuid], children[2].uuid)
    assert (await client.get_folder(grandchild.uuid)).parent == children[2].uuid
    await client.move_folders([grandchild.uuid], None)
    assert (await client.get_folder(grandchild.uuid)).parent is None
    summary = await client.folder_summary(root.uuid)
    assert summary.folders == 3 and summary.files == 0

    await client.delete_folder(grandchild.uuid)
    with pytest.raises(errors.Forbidden) as raised:
        await client.get_folder(grandchild.uuid)
    assert "get folder" in str(raised.value) and "403" in str(raised.value)


async def test_listing_pages_and_early_stop(client, storage_emulator):
    parent = await new_folder(client)
    names = [f"f{i:02d}" for i in range(7)]
    for name in names:
        await client.create_folder(name, parent.uuid)
    assert [f.name async for f in client.iter_folders(parent.uuid, page_size=3)] == names
    position = storage_emulator.log_position()
    async for folder in client.iter_folders(parent.uuid, page_size=3):
        if folder.name == "f01":
            break
    assert len(storage_emulator.log_since(position)) == 1  # one page, no more
    with pytest.raises(ValueError):
        async for _ in client.iter_folders(parent.uuid, page_size=1001):
            pass


@pytest.mark.parametrize("item_type", list(SINGLE_FILES))
async def test_upload_every_single_file_type_and_read_it_back(client, tmp_path, item_type):
    folder = await new_folder(client)
    path = SINGLE_FILES[item_type](tmp_path)
    data = path.read_bytes()
    item = await client.upload_file(folder.uuid, path, path.name, item_type, client_metadata={"k": item_type.value})
    assert (item.item_type, item.name, item.parent, item.metadata) == (item_type, path.name, folder.uuid, {"k": item_type.value})
    assert item.file_size == len(data) and not item.is_placeholder
    assert await client.read_range(item, 0, len(data) + 100) == data
    middle = len(data) // 3
    buffer = bytearray(17)
    expected = data[middle : middle + 17]
    assert await client.read_into(item, middle, memoryview(buffer)) == len(expected)
    assert bytes(buffer[: len(expected)]) == expected
    assert await client.read_range(item, len(data), 10) == b""
    assert await client.content_length(item) == len(data)
    assert [i.uuid async for i in client.iter_items(folder.uuid)] == [item.uuid]


async def test_item_calls(client, tmp_path, storage_emulator):
    folder, other = await new_folder(client), await new_folder(client)
    paths = [mediagen.text(tmp_path / f"{n}.txt", [n]) for n in ("c", "a", "b")]
    items = [await client.upload_file(folder.uuid, p, p.name, StorageItemType.PLAIN_TEXT) for p in paths]
    assert [i.name async for i in client.iter_items(folder.uuid, page_size=2)] == ["a.txt", "b.txt", "c.txt"]
    assert [i.name async for i in client.iter_items(folder.uuid, search="b")] == ["b.txt"]
    query = ItemQuery(item_types=(StorageItemType.PLAIN_TEXT,), order=SortBy.NAME, desc=True, page_size=2)
    assert [i.name async for i in client.list_items(folder.uuid, query)] == ["c.txt", "b.txt", "a.txt"]
    assert len([i async for i in client.find_items(folder.uuid, ItemQuery(search="a.txt"))]) == 1

    signed = await client.get_item(items[0].uuid, sign_url=True)
    assert signed.signed_url and (await client.get_item(items[0].uuid)).signed_url is None
    assert [i.uuid for i in await client.get_items([items[2].uuid, items[0].uuid])] == [items[2].uuid, items[0].uuid]

    updated = await client.update_item(items[0], name="z.txt", client_metadata={"m": 2})
    assert (updated.name, updated.metadata) == ("z.txt", {"m": 2})
    bulk = await client.update_items({items[1].uuid: {"name": "y.txt"}})
    assert [i.name for i in bulk] == ["y.txt"]

    await client.move_items(folder.uuid, [items[0].uuid, items[1].uuid], other.uuid)
    assert sorted([i.name async for i in client.iter_items(other.uuid)]) == ["y.txt", "z.txt"]
    await client.delete_items(other.uuid, [items[0].uuid])
    with pytest.raises(errors.Forbidden):
        await client.get_item(items[0].uuid)

    assert await client.dataset_link_count(items[2]) == 0
    url = f"{storage_emulator.url}/_emulator/items/{items[2].uuid}/datasets"
    await trio.to_thread.run_sync(lambda: httpx.post(url, json={"count": 2}).raise_for_status())
    assert await client.dataset_link_count(items[2]) == 2
    assert await client.child_items(items[2]) == []


@pytest.mark.parametrize("sequence", [False, True])
async def test_image_group_and_sequence(client, tmp_path, sequence):
    folder = await new_folder(client)
    paths = [mediagen.png(tmp_path / f"f{i}.png", seed=i) for i in range(3)]
    group = await client.upload_image_group(folder.uuid, paths, "grp", client_metadata={"g": 1}, sequence=sequence)
    assert group.item_type == (StorageItemType.IMAGE_SEQUENCE if sequence else StorageItemType.IMAGE_GROUP)
    assert group.name == "grp" and group.metadata == {"g": 1}
    children = await client.child_items(group, sign_urls=True)
    assert len(children) == 3 and all(c.item_type == StorageItemType.IMAGE for c in children)
    contents = {await client.read_range(c, 0, 1 << 20) for c in children}
    assert contents == {p.read_bytes() for p in paths}


async def test_dicom_series(client, tmp_path):
    folder = await new_folder(client)
    paths = mediagen.dicom_series(tmp_path / "series", count=3)
    series = await client.upload_dicom_series(folder.uuid, paths, "ct")
    assert series.item_type == StorageItemType.DICOM_SERIES and series.name == "ct"
    children = await client.child_items(series)
    assert sorted(c.name for c in children) == [p.name for p in paths]
    assert all(c.item_type == StorageItemType.DICOM_FILE for c in children)


async def test_reencode(client, tmp_path):
    folder = await new_folder(client)
    video = await client.upload_file(folder.uuid, mediagen.mp4(tmp_path / "v.mp4"), "v.mp4", StorageItemType.VIDEO)
    process = await client.reencode_videos([video.uuid], "proc")
    with trio.fail_after(10):
        while (state := await client.reencode_status(process)).status is ReencodeStatus.SUBMITTED:  # noqa: ASYNC110 (polling the server)
            await trio.sleep(0.05)
    assert state.status is ReencodeStatus.DONE


async def test_private_data_import_and_cancel(client):
    folder = await new_folder(client)
    job = await client.add_private_data(
        folder.uuid, INTEGRATION, items={"images": [{"objectUrl": "s3://bucket/cams/a.png", "title": "cam.png", "clientMetadata": {}, "externalFileType": "IMAGE"}]}
    )
    state = await client.wait_upload_job(folder.uuid, job, timeout_seconds=10)
    assert state.status is UploadJobStatus.DONE
    (item,) = [i async for i in client.iter_items(folder.uuid)]
    assert item.name == "cam.png" and item.integration_hash == INTEGRATION
    assert await client.cancel_upload_job(folder.uuid, job) == 0  # nothing left to cancel
    bad = await client.add_private_data(folder.uuid, INTEGRATION, external_files={"images": [{"objectUrl": "s3://bucket/missing.png"}]}, ignore_errors=True)
    assert (await client.wait_upload_job(folder.uuid, bad, timeout_seconds=10)).status in (UploadJobStatus.DONE, UploadJobStatus.ERROR)
    assert [i.name async for i in client.iter_items(folder.uuid)] == ["cam.png"]


async def test_groups(client):
    folder = await new_folder(client)
    made = [await client.create_org_group(f"team-{uuid4().hex[:6]}", "d") for _ in range(2)]
    group_a, group_b = (g.group_hash for g in made)
    assert {g.group_hash for g in await client.list_org_groups()} >= {group_a, group_b}
    await client.add_groups(folder.uuid, [group_a, group_b], StorageUserRole.USER)
    assert {g.group_hash: g.user_role for g in await client.list_groups(folder.uuid)} == {
        group_a: StorageUserRole.USER, group_b: StorageUserRole.USER}
    await client.remove_groups(folder.uuid, [group_a])
    assert [g.group_hash for g in await client.list_groups(folder.uuid)] == [group_b]


async def test_stale_signed_url_is_refreshed_and_stranger_is_refused(client, tmp_path, storage_emulator):
    folder = await new_folder(client)
    path = mediagen.text(tmp_path / "x.txt", ["refresh me"])
    item = await client.upload_file(folder.uuid, path, "x.txt", StorageItemType.PLAIN_TEXT)
    good = await client.signed_url(item)
    client._signed_urls.put(item.uuid, good.replace("sig=", "sig=AAAA"))  # as if it had expired
    assert await client.read_range(item, 0, 100) == path.read_bytes()
    assert await client.signed_url(item) != good.replace("sig=", "sig=AAAA")
    stranger = load_credentials(ssh_key_file=storage_emulator.stranger_key_path)
    async with StorageClient(stranger, storage_emulator.url, retry=RetryPolicy(max_attempts=1)) as outsider:
        with pytest.raises(errors.Unauthenticated):
            await outsider.get_folder(folder.uuid)


async def test_metadata_json_round_trip(client):
    folder = await client.create_folder(f"m-{uuid4().hex[:6]}", None, client_metadata={"ü": [1, {"x": None}]})
    assert json.loads(folder.client_metadata) == {"ü": [1, {"x": None}]}


async def test_bearer_token_client(client, storage_emulator, tmp_path):
    token = await client.issue_bearer_token()
    folder = await new_folder(client)
    path = mediagen.text(tmp_path / "b.txt", ["via token"])
    async with StorageClient(load_credentials(bearer_token=token), storage_emulator.url, retry=RetryPolicy(max_attempts=2)) as bearer:
        item = await bearer.upload_file(folder.uuid, path, "b.txt", StorageItemType.PLAIN_TEXT)
        assert await bearer.read_range(item, 0, 100) == path.read_bytes()
    async with StorageClient(load_credentials(bearer_token="not-a-token"), storage_emulator.url, retry=RetryPolicy(max_attempts=1)) as wrong:
        with pytest.raises(errors.Unauthenticated):
            await wrong.get_folder(folder.uuid)


async def test_many_concurrent_reads_through_a_small_pool(client, storage_emulator, tmp_path):
    folder = await new_folder(client)
    path = mediagen.jpeg_of_size(tmp_path / "big.jpg", 200_000)
    data = path.read_bytes()
    item = await client.upload_file(folder.uuid, path, path.name, StorageItemType.IMAGE)
    credentials = load_credentials(ssh_key_file=storage_emulator.key_path)
    chunks: dict[int, bytes] = {}
    async with StorageClient(credentials, storage_emulator.url, max_connections=2) as narrow:

        async def read(offset: int) -> None:
            chunks[offset] = await narrow.read_range(item, offset, 8192)

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                for offset in range(0, len(data), 8192):
                    nursery.start_soon(read, offset)
    assert b"".join(chunks[o] for o in sorted(chunks)) == data
