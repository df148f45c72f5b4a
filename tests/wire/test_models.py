"""Our wire models round-trip, and the official SDK's pydantic models accept what we emit."""

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from encord.orm import storage as sdk

from encordfs.wire.enums import StorageItemType, StorageLocationName, StorageUserRole, UploadJobStatus
from encordfs.wire.models import (
    FolderSummary,
    ItemRecord,
    PathElement,
    StorageFolder,
    StorageItem,
    UploadJobState,
    datetime_ns,
    ns_datetime,
    parse_datetime,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def make_item(**overrides) -> StorageItem:
    values = dict(
        uuid=uuid4(), parent=uuid4(), item_type=StorageItemType.VIDEO, name="clip.mp4",
        client_metadata=json.dumps({"k": [1, 2]}), owner="a@b.c", created_at=NOW, last_edited_at=NOW,
        backed_data_units_count=2, storage_location=StorageLocationName.ENCORD, file_size=1234,
        mime_type="video/mp4", duration=1.5, fps=25.0, width=64, height=48, frame_count=37,
    )
    values.update(overrides)
    return StorageItem(**values)


def make_folder() -> StorageFolder:
    root = uuid4()
    me = uuid4()
    return StorageFolder(
        uuid=me, parent=root, name="child", description="", client_metadata=None, owner="a@b.c",
        created_at=NOW, last_edited_at=NOW, user_role=StorageUserRole.ADMIN, synced_dataset_hash=None,
        path_to_root=(PathElement(uuid=root, parent_uuid=None, name="root"),),
    )


def test_item_round_trip_and_sdk_accepts_it():
    item = make_item()
    wire = item.to_wire()
    assert StorageItem.from_wire(json.loads(json.dumps(wire))) == item
    parsed = sdk.StorageItem.from_dict(wire)
    assert parsed.uuid == item.uuid and parsed.item_type.value == "video"
    assert parsed.frame_count == 37 and json.loads(parsed.client_metadata) == {"k": [1, 2]}


def test_folder_round_trip_and_sdk_accepts_it():
    folder = make_folder()
    wire = folder.to_wire()
    assert StorageFolder.from_wire(json.loads(json.dumps(wire))) == folder
    parsed = sdk.StorageFolder.from_dict(wire)
    assert parsed.parent == folder.parent and parsed.path_to_root[0].name == "root"


def test_snake_case_keys_are_read_too():
    wire = make_item().to_wire()
    snake = {"item_type" if k == "itemType" else k: v for k, v in wire.items()}
    assert StorageItem.from_wire(snake).item_type is StorageItemType.VIDEO


def test_all_snake_case_keys_read_like_camel_case_and_camel_case_wins():
    item = make_item(integration_hash=uuid4(), description="d", url="u", signed_url="s")
    wire = item.to_wire()
    snake = {"_".join(_words(k)): v for k, v in wire.items()}
    assert StorageItem.from_wire(snake) == item
    assert StorageItem.from_wire({**snake, "name": "camel", "fileSize": 7}).file_size == 7
    assert StorageItem.from_wire({**wire, "someNewField": 1}) == item, "unknown keys are ignored"


def _words(camel: str) -> list[str]:
    words, word = [], ""
    for char in camel:
        if char.isupper():
            words.append(word)
            word = char.lower()
        else:
            word += char
    return [*words, word]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"item_type": StorageItemType.IMAGE, "duration": None, "fps": None, "frame_count": None, "url": "cord/x"},
        {"client_metadata": json.dumps({"long": "x" * 500}), "description": "y" * 100},
        {"signed_url": "https://blob/x?sig=1", "client_metadata_signed_url": "https://meta", "is_tombstone": True},
        {"dicom_instance_uid": "1.2.3", "dicom_study_uid": "1.2", "dicom_series_uid": "1.2.9", "file_size": None},
        {"created_at": datetime(2020, 5, 6, 7, 8, 9, 1, tzinfo=UTC), "integration_hash": uuid4()},
    ],
)
def test_an_item_record_rebuilds_the_item_it_came_from(overrides):
    item = make_item(**overrides)
    record = ItemRecord.of(item)
    assert record.item() == item
    assert (record.uuid, record.name, record.item_type, record.file_size) == (item.uuid, item.name, item.item_type, item.file_size)
    assert record.created_ns == datetime_ns(item.created_at) and record.edited_ns == datetime_ns(item.last_edited_at)


def test_similar_items_share_one_shape_and_keep_only_their_own_values():
    parent = uuid4()
    first, second = (ItemRecord.of(make_item(parent=parent, url=f"cord/{n}")) for n in (1, 2))
    assert first.shape is second.shape
    assert "url" in first.shape.own_names and "parent" in first.shape.shared_names
    assert first.item().url == "cord/1" and second.item().url == "cord/2"
    other = ItemRecord.of(make_item(parent=uuid4()))
    assert other.shape is not first.shape and other.item().parent != parent


def test_ns_times_are_exact():
    assert ns_datetime(datetime_ns(NOW)) == NOW
    assert datetime_ns(datetime(1970, 1, 1, 0, 0, 1, 5)) == 1_000_005_000, "naive is UTC"


def test_summary_and_job_state_match_the_sdk():
    summary = FolderSummary(files=3, images=2, total_size=12.5)
    assert sdk.StorageFolderSummary.from_dict(summary.to_wire()).images == 2
    state = UploadJobState(status=UploadJobStatus.DONE, items_with_names=((uuid4(), "a.jpg"),), units_done_count=1)
    wire = state.to_wire()
    assert UploadJobState.from_wire(wire) == state
    assert sdk.UploadLongPollingState.from_dict(wire).status.value == "DONE"


@pytest.mark.parametrize(
    "text",
    ["2026-01-02T03:04:05.123456+00:00", "2026-01-02T03:04:05.123456Z", "2026-01-02 03:04:05.123456"],
)
def test_datetime_forms(text):
    assert parse_datetime(text) == NOW


def test_rfc1123_and_epoch():
    assert parse_datetime("Thu, 01 May 2025 13:53:59 GMT") == datetime(2025, 5, 1, 13, 53, 59, tzinfo=UTC)
    assert parse_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)


def test_signed_urls_stay_out_of_repr():
    item = make_item(signed_url="http://h/blob?sig=SECRET", client_metadata_signed_url="http://h/m?sig=SECRET")
    assert "SECRET" not in repr(item)
    from encordfs.wire.models import UploadSignedUrl

    slot = UploadSignedUrl(item_uuid=uuid4(), object_key="k", signed_url="http://h/up?sig=SECRET")
    assert "SECRET" not in repr(slot)
