"""Helpers shared by the control operations: the storage calls they use, nodes by path, JSON forms."""

from __future__ import annotations

import errno
import json
from typing import TYPE_CHECKING, Any, cast

from encordfs.control.protocol import ControlError, Json
from encordfs.fs.inodes import Kind, Node
from encordfs.storage.interface import CommandStorage
from encordfs.wire.models import StorageFolder, StorageItem

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem

MEDIA_FIELDS = (
    "width", "height", "fps", "duration", "frame_count", "audio_sample_rate", "audio_bit_depth", "audio_codec",
    "audio_num_channels", "dicom_study_uid", "dicom_series_uid", "dicom_instance_uid",
)


def storage_of(fs: Filesystem) -> CommandStorage:
    """The mount's client, with the calls beyond the filesystem's ``Storage`` protocol."""
    return cast(CommandStorage, fs.storage)


def shown(path: str) -> str:
    """A mount-relative path as messages show it."""
    return path or "."


async def folder_at(fs: Filesystem, path: str) -> Node:
    """The node of a folder (or the mount's root folder) at ``path``; ControlError otherwise."""
    node = await fs.resolve_path(path)
    if node.kind not in (Kind.FOLDER, Kind.ROOT):
        what = "a multi-file item" if node.kind is Kind.GROUP else "not a folder"
        raise ControlError(f"{shown(path)}: {what}", errno.ENOTDIR)
    return node


def folder_uuid(node: Node, path: str) -> Any:
    if node.uuid is None:
        raise ControlError(f"{shown(path)}: the storage root is not a folder (name a folder in it)", errno.EINVAL)
    return node.uuid


async def item_at(fs: Filesystem, path: str, *, frames: bool = False) -> StorageItem:
    """The uploaded item at ``path`` (a file or a multi-file item; with ``frames``, a file of
    one too); ControlError otherwise."""
    node = await fs.resolve_path(path)
    if node.kind is Kind.PENDING:
        raise ControlError(f"{shown(path)}: not uploaded yet (see encordfs status)", errno.EAGAIN)
    if node.item is None or (node.kind is Kind.FRAME and not frames):
        raise ControlError(f"{shown(path)}: not a storage item", errno.EISDIR if node.kind.is_dir else errno.EINVAL)
    return node.item


def metadata_of(text: str | None) -> Any:
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return text


def item_json(item: StorageItem) -> Json:
    media = {name: getattr(item, name) for name in MEDIA_FIELDS if getattr(item, name) is not None}
    return {
        "kind": "item",
        "uuid": str(item.uuid),
        "name": item.name,
        "type": item.item_type.value,
        "size": item.file_size,
        "mime_type": item.mime_type,
        "storage_location": item.storage_location.value,
        "integration": None if item.integration_hash is None else str(item.integration_hash),
        "url": item.url,
        "description": item.description,
        "client_metadata": metadata_of(item.client_metadata),
        "owner": item.owner,
        "created_at": item.created_at.isoformat(),
        "last_edited_at": item.last_edited_at.isoformat(),
        "media": media,
    }


def folder_json(folder: StorageFolder) -> Json:
    return {
        "kind": "folder",
        "uuid": str(folder.uuid),
        "name": folder.name,
        "description": folder.description,
        "client_metadata": metadata_of(folder.client_metadata),
        "owner": folder.owner,
        "user_role": folder.user_role.value,
        "created_at": folder.created_at.isoformat(),
        "last_edited_at": folder.last_edited_at.isoformat(),
        "path_to_root": [p.name for p in folder.path_to_root],
    }
