"""Item listing, search, paging, sorting, bulk get, update, move and delete through the official SDK."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from encord.exceptions import AuthenticationError, AuthorisationError, InvalidArgumentsError
from encord.orm.storage import DataUploadItems, DataUploadText, FoldersSortBy, StorageItemType

COUNT = 23


@pytest.fixture(scope="module")
def populated(emulator: Any, media: Any) -> tuple[Any, list[str]]:
    """A folder with COUNT text items (imported in one job) and one image, in a subfolder."""
    from encord.user_client import EncordUserClient

    user = EncordUserClient.create_with_ssh_private_key(ssh_private_key=emulator.key_path.read_text(), domain=emulator.url)
    prefix = uuid.uuid4().hex[:8]
    (emulator.bucket_dir / prefix).mkdir()
    names = [f"doc-{(n * 7) % COUNT:02d}.txt" for n in range(COUNT)]  # created in a shuffled name order
    for name in names:
        (emulator.bucket_dir / prefix / name).write_text(f"content of {name}\n")
    folder = user.create_storage_folder(f"items-{prefix}")
    job = folder.add_private_data_to_folder_start(
        emulator.integration_hash,
        DataUploadItems(text=[DataUploadText(object_url=f"{prefix}/{n}", title=n) for n in names]),
    )
    assert folder.add_private_data_to_folder_get_result(job, timeout_seconds=10).units_done_count == COUNT
    sub = folder.create_subfolder("nested")
    sub.upload_image(media.jpeg, title="deep photo.jpg")
    return folder, names


def test_pages_of_every_size_cover_every_item_once(populated: tuple[Any, list[str]]) -> None:
    folder, names = populated
    for size in (1, 2, 5, COUNT - 1, COUNT, 1000):
        listed = [i.name for i in folder.list_items(page_size=size)]
        assert listed == sorted(names), size
        assert len({i.uuid for i in folder.list_items(page_size=size)}) == COUNT


def test_sort_orders(populated: tuple[Any, list[str]]) -> None:
    folder, names = populated
    assert [i.name for i in folder.list_items(desc=True)] == sorted(names, reverse=True)
    assert [i.name for i in folder.list_items(order=FoldersSortBy.CREATED_AT, page_size=4)] == names
    assert [i.name for i in folder.list_items(order=FoldersSortBy.CREATED_AT, desc=True)] == names[::-1]


def test_filters_and_recursive_find(populated: tuple[Any, list[str]]) -> None:
    folder, _ = populated
    assert [i.name for i in folder.list_items(search="DOC-1")] == [f"doc-{n}.txt" for n in range(10, 20)]
    assert list(folder.list_items(item_types=[StorageItemType.IMAGE])) == []
    assert [i.name for i in folder.find_items(item_types=[StorageItemType.IMAGE])] == ["deep photo.jpg"]
    assert [i.name for i in folder.find_items(search="photo")] == ["deep photo.jpg"]
    assert len(list(folder.list_items(is_in_dataset=False))) == COUNT
    assert list(folder.list_items(is_in_dataset=True)) == []


def test_user_level_item_search(sdk_user: Any, populated: tuple[Any, list[str]]) -> None:
    folder, _ = populated
    with pytest.warns(DeprecationWarning):
        found = list(sdk_user.find_storage_items(search="deep photo", item_types=[StorageItemType.IMAGE]))
    mine = [i for i in found if i.parent_folder().parent_uuid == folder.uuid]
    assert [(i.name, i.parent_folder().name) for i in mine] == [("deep photo.jpg", "nested")]


def test_dataset_links_show_and_block_delete(sdk_user: Any, emulator: Any, media: Any) -> None:
    folder = sdk_user.create_storage_folder(f"ds-{uuid.uuid4().hex[:8]}")
    item = sdk_user.get_storage_item(folder.upload_image(media.png))
    emulator.link_datasets(item.uuid, 2)
    assert [i.uuid for i in folder.list_items(is_in_dataset=True)] == [item.uuid]
    item.refetch_data()
    assert item.backed_data_units_count == 2 and item.get_summary().used_in_datasets == 2
    with pytest.raises(InvalidArgumentsError, match="dataset"):
        item.delete()
    emulator.link_datasets(item.uuid, 0)
    item.delete()
    assert list(folder.list_items()) == []


def test_signed_urls_in_listings(populated: tuple[Any, list[str]]) -> None:
    import urllib.request

    folder, _ = populated
    unsigned = next(iter(folder.list_items(page_size=1)))
    assert unsigned._orm_item.signed_url is None
    signed = next(iter(folder.list_items(page_size=1, get_signed_urls=True)))
    with urllib.request.urlopen(signed._orm_item.signed_url, timeout=10) as response:
        assert response.read() == f"content of {signed.name}\n".encode()


def test_page_size_limits(populated: tuple[Any, list[str]]) -> None:
    folder, _ = populated
    for bad in (0, 1001):
        with pytest.raises(InvalidArgumentsError, match="pageSize"):
            list(folder.list_items(page_size=bad))


def test_get_storage_items_keeps_request_order(sdk_user: Any, populated: tuple[Any, list[str]]) -> None:
    folder, _ = populated
    items = list(folder.list_items(page_size=5))[:5]
    wanted = [i.uuid for i in reversed(items)]
    assert [i.uuid for i in sdk_user.get_storage_items(wanted)] == wanted
    with pytest.raises(AuthorisationError):
        sdk_user.get_storage_items([wanted[0], uuid.uuid4()])


def test_item_update_move_delete(sdk_user: Any, media: Any) -> None:
    from encord.http.bundle import Bundle

    a = sdk_user.create_storage_folder(f"mv-a-{uuid.uuid4().hex[:8]}")
    b = sdk_user.create_storage_folder(f"mv-b-{uuid.uuid4().hex[:8]}")
    first = sdk_user.get_storage_item(a.upload_image(media.jpeg))
    second = sdk_user.get_storage_item(a.upload_image(media.png))
    third = sdk_user.get_storage_item(a.upload_text(media.text))

    first.update(name="renamed.jpg", client_metadata={"k": 2})
    assert (first.name, first.client_metadata) == ("renamed.jpg", {"k": 2})
    with Bundle() as bundle:
        second.update(name="bulk.png", bundle=bundle)
        third.update(client_metadata={"z": 1}, bundle=bundle)
    assert sdk_user.get_storage_item(second.uuid).name == "bulk.png"
    assert sdk_user.get_storage_item(third.uuid).client_metadata == {"z": 1}

    first.move_to_folder(b)
    assert first.parent_folder_uuid == b.uuid
    a.move_items_to_folder(b, [second.uuid])
    assert {i.uuid for i in b.list_items()} == {first.uuid, second.uuid}
    assert [i.uuid for i in a.list_items()] == [third.uuid]
    with pytest.raises(InvalidArgumentsError, match="not in folder"):
        a.move_items_to_folder(b, [first.uuid])

    b.delete_storage_items([first.uuid, second.uuid])
    third.delete()
    assert list(a.list_items()) == [] and list(b.list_items()) == []
    with pytest.raises(AuthorisationError):
        sdk_user.get_storage_item(first.uuid)


def test_stranger_key_is_refused(emulator: Any, stranger_key_path: Any, make_sdk_client: Any) -> None:
    stranger = make_sdk_client(emulator, stranger_key_path)
    with pytest.raises(AuthenticationError, match="unknown public key"):
        list(stranger.list_storage_folders())
