"""Uploads through the official SDK: real metadata, bytes round-trip through signed URLs, composites."""

from __future__ import annotations

import json
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from encord.exceptions import EncordException
from encord.orm.storage import DataUploadItems, DataUploadText, StorageItemType


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


@pytest.fixture
def folder(sdk_user: Any) -> Any:
    return sdk_user.create_storage_folder(f"up-{uuid.uuid4().hex[:8]}")


def test_upload_image_metadata_and_bytes(sdk_user: Any, folder: Any, media: Any) -> None:
    item_uuid = folder.upload_image(media.jpeg, client_metadata={"m": 1})
    item = sdk_user.get_storage_item(item_uuid, sign_url=True)
    assert item.item_type == StorageItemType.IMAGE
    assert (item.name, item.width, item.height, item.mime_type) == ("photo.jpg", 40, 30, "image/jpeg")
    assert item.file_size == media.jpeg.stat().st_size
    assert item.client_metadata == {"m": 1}
    assert item.parent_folder_uuid == folder.uuid
    assert fetch(item.get_signed_url()) == media.jpeg.read_bytes()


def test_upload_video_audio_text_pdf_nifti(sdk_user: Any, folder: Any, media: Any) -> None:
    video = sdk_user.get_storage_item(folder.upload_video(media.mp4, title="clip.mp4"))
    assert (video.item_type, video.width, video.height, video.fps, video.frame_count) == (StorageItemType.VIDEO, 32, 24, 10.0, 10)
    assert video.duration == pytest.approx(1.0, abs=0.15)
    audio = sdk_user.get_storage_item(folder.upload_audio(media.wav))
    assert (audio.item_type, audio.audio_sample_rate, audio.audio_num_channels) == (StorageItemType.AUDIO, 16000, 2)
    assert audio.duration == pytest.approx(0.5, abs=0.05)
    text = sdk_user.get_storage_item(folder.upload_text(media.text), sign_url=True)
    assert text.item_type == StorageItemType.PLAIN_TEXT and text.mime_type.startswith("text/")
    assert fetch(text.get_signed_url()) == media.text.read_bytes()
    pdf = sdk_user.get_storage_item(folder.upload_pdf(media.pdf))
    assert (pdf.item_type, pdf.mime_type) == (StorageItemType.PDF, "application/pdf")
    nifti = sdk_user.get_storage_item(folder.upload_nifti(media.nifti))
    assert nifti.item_type == StorageItemType.NIFTI and nifti.file_size == media.nifti.stat().st_size
    summary = folder.get_summary()
    assert (summary.files, summary.videos, summary.audios, summary.plain_texts, summary.pdfs, summary.niftis) == (5, 1, 1, 1, 1, 1)


def test_invalid_bytes_are_refused(folder: Any, media: Any, tmp_path: Any) -> None:
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"definitely not a jpeg")
    with pytest.raises(EncordException, match=r"fake.jpg"):
        folder.upload_image(fake)
    assert list(folder.list_items()) == []


def test_image_group_and_children(sdk_user: Any, folder: Any, media: Any) -> None:
    group_uuid = folder.create_image_group(media.frames, title="burst")
    group = sdk_user.get_storage_item(group_uuid)
    assert (group.item_type, group.name, group.frame_count) == (StorageItemType.IMAGE_GROUP, "burst", 3)
    children = list(group.get_child_items(get_signed_urls=True))
    assert [c.name for c in children] == [p.name for p in media.frames]
    assert all(c.item_type == StorageItemType.IMAGE for c in children)
    assert [fetch(c.get_signed_url()) for c in children] == [p.read_bytes() for p in media.frames]
    assert [i.uuid for i in folder.list_items()] == [group_uuid]
    summary = children[0].get_summary()
    assert summary.frame_in_groups == 1 and summary.accessible_group_items[0].uuid == group_uuid


def test_image_sequence(sdk_user: Any, folder: Any, media: Any) -> None:
    seq = sdk_user.get_storage_item(folder.create_image_sequence(media.frames, title="seq"))
    assert (seq.item_type, seq.frame_count, seq.width, seq.height) == (StorageItemType.IMAGE_SEQUENCE, 3, 16, 12)
    assert len(list(seq.get_child_items())) == 3


def test_dicom_series(sdk_user: Any, folder: Any, media: Any) -> None:
    import pydicom

    series = sdk_user.get_storage_item(folder.create_dicom_series(media.dicom, title="ct"))
    first = pydicom.dcmread(media.dicom[0])
    assert series.item_type == StorageItemType.DICOM_SERIES and series.frame_count == 3
    assert (series.dicom_study_uid, series.dicom_series_uid) == (first.StudyInstanceUID, first.SeriesInstanceUID)
    files = list(series.get_child_items())
    assert [f.dicom_instance_uid for f in files] == [pydicom.dcmread(p).SOPInstanceUID for p in media.dicom]


def test_delete_group_keeps_or_removes_frames(sdk_user: Any, folder: Any, media: Any) -> None:
    keep = sdk_user.get_storage_item(folder.create_image_group(media.frames, title="keep"))
    frame_uuids = {c.uuid for c in keep.get_child_items()}
    keep.delete(remove_unused_frames=False)
    assert {i.uuid for i in folder.list_items()} == frame_uuids
    drop = sdk_user.get_storage_item(folder.create_image_group(media.frames, title="drop"))
    drop.delete()
    assert {i.uuid for i in folder.list_items()} == frame_uuids


def test_private_data_import(sdk_user: Any, emulator: Any, folder: Any, media: Any) -> None:
    prefix = uuid.uuid4().hex[:8]
    (emulator.bucket_dir / prefix).mkdir()
    (emulator.bucket_dir / prefix / "a.txt").write_bytes(b"alpha\n")
    job = folder.add_private_data_to_folder_start(
        emulator.integration_hash,
        DataUploadItems(text=[DataUploadText(object_url=f"s3://bucket/{prefix}/a.txt", title="a.txt", client_metadata={"k": 1})]),
    )
    result = folder.add_private_data_to_folder_get_result(job, timeout_seconds=5)
    assert result.status.value == "DONE" and result.units_done_count == 1
    item = sdk_user.get_storage_item(result.items_with_names[0].item_uuid, sign_url=True)
    assert (item.name, item.client_metadata, str(item.integration_hash)) == ("a.txt", {"k": 1}, emulator.integration_hash)
    assert fetch(item.get_signed_url()) == b"alpha\n"

    missing = folder.add_private_data_to_folder_start(
        emulator.integration_hash, {"text": [{"objectUrl": f"{prefix}/nope.txt"}]}, ignore_errors=True
    )
    state = folder.add_private_data_to_folder_get_result(missing, timeout_seconds=5)
    assert state.units_error_count == 1 and "no such object" in state.errors[0]


def test_private_data_in_encords_json_format(sdk_user: Any, emulator: Any, folder: Any, media: Any, tmp_path: Path) -> None:
    """The documented import file: snake_case keys, objectUrl_N frames, skip_duplicate_urls, sent
    from a file path (so also with its fileName)."""
    prefix = uuid.uuid4().hex[:8]
    (emulator.bucket_dir / prefix).mkdir()
    for index, frame in enumerate(media.frames):
        (emulator.bucket_dir / prefix / f"f{index}.png").write_bytes(frame.read_bytes())
    spec = {"image_groups": [{"title": "seq", "createVideo": True,
                              **{f"objectUrl_{i}": f"s3://bucket/{prefix}/f{i}.png" for i in range(len(media.frames))}}],
            "skip_duplicate_urls": True}
    spec_file = tmp_path / "import.json"
    spec_file.write_text(json.dumps(spec))
    job = folder.add_private_data_to_folder_start(emulator.integration_hash, str(spec_file))
    result = folder.add_private_data_to_folder_get_result(job, timeout_seconds=5)
    assert result.status.value == "DONE" and result.file_name == "import.json"
    item = sdk_user.get_storage_item(result.items_with_names[0].item_uuid)
    assert (item.name, item.item_type.value, item.frame_count) == ("seq", "imageSequence", len(media.frames))


def test_cloud_integrations_are_listed(sdk_user: Any, emulator: Any) -> None:
    found = sdk_user.get_cloud_integrations()
    assert [(i.id, i.title) for i in found if i.id == emulator.integration_hash] == [(emulator.integration_hash, "bucket")]
    assert [i.id for i in sdk_user.get_cloud_integrations(filter_integration_titles=["bucket"])] == [emulator.integration_hash]
    assert sdk_user.get_cloud_integrations(filter_integration_titles=["nope"]) == []


def test_unknown_integration_is_refused(folder: Any) -> None:
    from encord.exceptions import InvalidArgumentsError

    with pytest.raises(InvalidArgumentsError, match="unknown integration"):
        folder.add_private_data_to_folder_start(str(uuid.uuid4()), {"text": [{"objectUrl": "x.txt"}]})


def test_re_encode_videos(folder: Any, media: Any) -> None:
    video = folder.upload_video(media.mp4)
    process = folder.re_encode_videos([video], "again", force_full_reencoding=False)
    status = folder.get_re_encoding_status(process)
    assert status.status.value == "done"
    assert status.result == [{"itemUuid": str(video), "status": "done"}]
