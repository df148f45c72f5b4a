"""The ``user.encord.*`` extended attributes of folders and items."""

from __future__ import annotations

import json
from typing import Any

from encordfs.wire.models import StorageFolder, StorageItem

PREFIX = "user.encord."
CLIENT_METADATA = PREFIX + "client_metadata"
DATASET_LINKS = PREFIX + "dataset_links"
UPLOAD_STATE = PREFIX + "upload_state"  # a file written here, until the server has it: its state's name
UPLOAD_ERROR = PREFIX + "upload_error"  # ... and why its last upload failed, while it is kept for that

# xattr name suffix -> StorageItem attribute, shown when the item has a value for it
MEDIA_FIELDS = (
    "mime_type",
    "file_size",
    "width",
    "height",
    "duration",
    "fps",
    "frame_count",
    "audio_codec",
    "audio_sample_rate",
    "audio_bit_depth",
    "audio_num_channels",
    "dicom_study_uid",
    "dicom_series_uid",
    "dicom_instance_uid",
)


def _text(value: Any) -> bytes:
    return str(value).encode()


def _metadata_json(raw: str | None) -> bytes:
    try:
        return json.dumps(json.loads(raw) if raw else {}, sort_keys=True).encode()
    except ValueError:
        return (raw or "").encode()


def item_xattrs(item: StorageItem) -> dict[str, bytes]:
    """Every attribute except the dataset link count (that one costs a request: see DATASET_LINKS)."""
    values = {
        PREFIX + "uuid": _text(item.uuid),
        PREFIX + "item_type": _text(item.item_type.value),
        PREFIX + "description": item.description.encode(),
        CLIENT_METADATA: _metadata_json(item.client_metadata),
    }
    for name in MEDIA_FIELDS:
        value = getattr(item, name)
        if value is not None:
            values[PREFIX + name] = _text(value)
    return values


def folder_xattrs(folder: StorageFolder) -> dict[str, bytes]:
    return {
        PREFIX + "uuid": _text(folder.uuid),
        PREFIX + "item_type": b"folder",
        PREFIX + "description": folder.description.encode(),
        CLIENT_METADATA: _metadata_json(folder.client_metadata),
    }


def parse_client_metadata(value: bytes) -> Any:
    """The JSON object a user set with setfattr; ValueError unless it is a JSON object."""
    parsed = json.loads(value.decode())
    if not isinstance(parsed, dict):
        raise ValueError("client_metadata must be a JSON object")
    return parsed
