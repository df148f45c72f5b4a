"""Upload-flow details that are pure data: PUT Content-Types and data-upload-job bodies (§8.3).

Bodies carry the same keys and values as the SDK's, so the emulator (and Encord) cannot tell the
two apart.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from typing import Any

from encordfs.storage.errors import InvalidArgument
from encordfs.wire.enums import DATA_UPLOAD_ITEM_KEYS, UPLOAD_FLOWS, StorageItemType
from encordfs.wire.models import Json, UploadSignedUrl

_FIXED_CONTENT_TYPES = {
    StorageItemType.VIDEO: "application/octet-stream",
    StorageItemType.AUDIO: "application/octet-stream",
    StorageItemType.NIFTI: "application/nifti",
    StorageItemType.DICOM_FILE: "application/dicom",
    StorageItemType.PDF: "application/pdf",
}
_TEXT_PREFIXES = ("text/", "application/json", "application/xml")
FRAME_CONTENT_TYPE = "application/dicom"  # image-group/sequence frames: the SDK's quirk, kept
CACHE_CONTROL = "max-age=86400"


def content_type_for(name: str, item_type: StorageItemType) -> str:
    """The PUT Content-Type the SDK uses for a file named ``name`` (the item's title, which is
    what the SDK's file name becomes); text that is not text raises before any request."""
    if item_type in _FIXED_CONTENT_TYPES:
        return _FIXED_CONTENT_TYPES[item_type]
    guessed = mimetypes.guess_type(name)[0]
    if item_type == StorageItemType.PLAIN_TEXT:
        if guessed and guessed.startswith(_TEXT_PREFIXES):
            return guessed
        raise InvalidArgument(f"upload {name}: type {guessed!r} is not a text type", operation="upload")
    if item_type == StorageItemType.IMAGE:
        return guessed or "application/octet-stream"
    raise InvalidArgument(f"upload {name}: item type {item_type.value} is not a single-file upload", operation="upload")


def single_file_entry(item_type: StorageItemType, slot: UploadSignedUrl, title: str, client_metadata: Any) -> Json:
    _key, external = UPLOAD_FLOWS[item_type]
    return {
        "objectUrl": slot.object_key,
        "title": title,
        "clientMetadata": client_metadata or {},
        "externalFileType": external.value,
        "placeholderItemUuid": str(slot.item_uuid),
    }


def _file_refs(slots: Iterable[UploadSignedUrl], titles: Iterable[str]) -> list[Json]:
    return [
        {"url": slot.object_key, "title": title, "placeholderItemUuid": str(slot.item_uuid)}
        for slot, title in zip(slots, titles, strict=True)
    ]


def image_group_entry(
    slots: list[UploadSignedUrl], titles: list[str], title: str | None, client_metadata: Any, sequence: bool
) -> Json:
    entry: Json = {"images": _file_refs(slots, titles)}
    if title is not None:
        entry["title"] = title
    entry.update({"clientMetadata": client_metadata or {}, "createVideo": sequence, "externalFileType": "IMG_GROUP"})
    return entry


def dicom_series_entry(slots: list[UploadSignedUrl], titles: list[str], title: str | None, client_metadata: Any) -> Json:
    entry: Json = {"dicomFiles": _file_refs(slots, titles)}
    if title is not None:
        entry["title"] = title
    entry.update({"clientMetadata": client_metadata or {}, "externalFileType": "DICOM"})
    return entry


def data_items(entries: dict[str, list[Json]], *, skip_duplicate_urls: bool = False, upsert_metadata: bool = False) -> Json:
    """A full DataUploadItems object: every list key present (empty ones too), as the SDK sends."""
    unknown = set(entries) - set(DATA_UPLOAD_ITEM_KEYS)
    if unknown:
        raise InvalidArgument(f"unknown data upload keys: {sorted(unknown)}", operation="upload")
    items: Json = {key: list(entries.get(key, ())) for key in DATA_UPLOAD_ITEM_KEYS}
    items.update({"skipDuplicateUrls": skip_duplicate_urls, "upsertMetadata": upsert_metadata})
    return items


def upload_job_body(
    *,
    items: Json | None = None,
    external_files: Json | None = None,
    integration_hash: str | None = None,
    ignore_errors: bool = False,
    file_name: str | None = None,
) -> Json:
    """``PostUploadJobParams``: exactly one of ``items`` (dataItems) or ``external_files``."""
    if (items is None) == (external_files is None):
        raise InvalidArgument("an upload job needs exactly one of data items or an external-files spec", operation="upload")
    body: Json = {"dataItems": items} if items is not None else {"externalFiles": external_files}
    if integration_hash is not None:
        body["integrationHash"] = integration_hash
    body["ignoreErrors"] = ignore_errors
    if file_name is not None:
        body["fileName"] = file_name
    return body
