"""The ``user.encord.*`` extended attributes of folders and items: their names and values, and what
a ``setxattr``/``removexattr`` of one of them changes (a ``Patch`` the core sends in one request).

Client metadata is shown whole (``user.encord.client_metadata``, set as a replace) and key by key:
each top-level key is ``user.encord.meta.<key>``, its value the key's JSON. A value set on a key is
JSON; text that is not JSON is taken as a string (``setfattr -v '"train"'`` sends ``train``), except
text that looks like broken JSON (starts with ``{``, ``[`` or ``"``), which is EINVAL.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from encordfs.fs import locations
from encordfs.fs.errors import FsError
from encordfs.wire.models import StorageFolder, StorageItem

PREFIX = "user.encord."
CLIENT_METADATA = PREFIX + "client_metadata"
DESCRIPTION = PREFIX + "description"
DATASET_LINKS = PREFIX + "dataset_links"
UPLOAD_STATE = PREFIX + "upload_state"  # a file written here, until the server has it: its state's name
UPLOAD_ERROR = PREFIX + "upload_error"  # ... and why its last upload failed, while it is kept for that
STORAGE_LOCATION = PREFIX + "storage_location"
META_PREFIX = PREFIX + "meta."

XATTR_NAME_MAX = 255  # Linux: longer names cannot be asked for, so keys that long are not listed
XATTR_LIST_MAX = 65536  # Linux: the most a listxattr answer may hold

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

log = logging.getLogger(__name__)

Model = StorageFolder | StorageItem


@dataclass(frozen=True)
class Patch:
    """What one attribute change sends: new client metadata (the whole object) or description."""

    client_metadata: dict[str, Any] | None = None
    description: str | None = None


def _text(value: Any) -> bytes:
    return str(value).encode()


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False).encode()


@functools.lru_cache(maxsize=64)  # getfattr -d asks for every key of one object in turn
def _parsed(raw: str) -> Any:
    value = json.loads(raw)
    return MappingProxyType(value) if isinstance(value, dict) else value


def _metadata(model: Model) -> Mapping[str, Any] | None:
    """The model's client metadata as an object ({} when unset); None when it is not one."""
    try:
        value = _parsed(model.client_metadata) if model.client_metadata else MappingProxyType({})
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None


def _whole_metadata(model: Model) -> bytes:
    metadata = _metadata(model)
    return (model.client_metadata or "").encode() if metadata is None else _json(dict(metadata))


def _fixed(model: Model) -> dict[str, bytes]:
    """Every attribute but the metadata keys and the dataset link count (that one costs a request)."""
    if isinstance(model, StorageFolder):
        return {
            PREFIX + "uuid": _text(model.uuid),
            PREFIX + "item_type": b"folder",
            DESCRIPTION: model.description.encode(),
            CLIENT_METADATA: _whole_metadata(model),
        }
    values = {
        PREFIX + "uuid": _text(model.uuid),
        PREFIX + "item_type": _text(model.item_type.value),
        DESCRIPTION: model.description.encode(),
        CLIENT_METADATA: _whole_metadata(model),
        STORAGE_LOCATION: locations.describe(model).encode(),
    }
    for name in MEDIA_FIELDS:
        value = getattr(model, name)
        if value is not None:
            values[PREFIX + name] = _text(value)
    return values


def _listable(key: str) -> bool:
    return bool(key) and "\0" not in key and len((META_PREFIX + key).encode()) <= XATTR_NAME_MAX


def _list_size(names: list[str]) -> int:
    return sum(len(name.encode()) + 1 for name in names)


def names(model: Model) -> list[str]:
    """The attribute names of a folder or item (``DATASET_LINKS`` is the caller's to add). Metadata
    keys are listed while the list fits the kernel's 64 KiB (a longer one fails ``getfattr -d``
    as a whole); the others stay readable by name and in ``client_metadata``."""
    fixed = list(_fixed(model))
    room = XATTR_LIST_MAX - _list_size([*fixed, DATASET_LINKS])
    keys: list[str] = []
    for key in _metadata(model) or {}:
        if not _listable(key):
            continue
        name = META_PREFIX + key
        room -= _list_size([name])
        if room < 0:
            log.warning("%r: %d metadata keys listed as xattrs, the others only in %s (the kernel's 64 KiB limit)",
                        model.name, len(keys), CLIENT_METADATA)
            break
        keys.append(name)
    return fixed + keys


def value(model: Model, name: str) -> bytes | None:
    """One attribute's value, None when the model has no such attribute."""
    if name.startswith(META_PREFIX):
        metadata = _metadata(model) or {}
        key = name[len(META_PREFIX) :]
        return _json(metadata[key]) if key in metadata else None
    return _fixed(model).get(name)


def _meta_value(raw: bytes) -> Any:
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise FsError(errno.EINVAL, "a metadata value must be UTF-8 text") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        if text.lstrip()[:1] in ("{", "[", '"'):
            raise FsError(errno.EINVAL, f"a metadata value starting like JSON must be JSON: {exc}") from exc
        return text


def parse_client_metadata(raw: bytes) -> dict[str, Any]:
    """The JSON object a user set with setfattr; EINVAL unless it is a JSON object."""
    try:
        parsed = json.loads(raw.decode())
    except ValueError as exc:
        raise FsError(errno.EINVAL, f"client_metadata must be a JSON object: {exc}") from exc
    if not isinstance(parsed, dict):
        raise FsError(errno.EINVAL, "client_metadata must be a JSON object")
    return parsed


def _current(model: Model) -> dict[str, Any]:
    metadata = _metadata(model)
    if metadata is None:
        raise FsError(errno.EINVAL, "the client metadata on the server is not a JSON object: set it whole")
    return dict(metadata)


def _description_patch(model: Model, text: str) -> Patch:
    if isinstance(model, StorageItem):
        raise FsError(errno.ENOTSUP, "Encord items have no description (the API ignores it); folders have one")
    return Patch(description=text)


def _key(name: str) -> str:
    key = name[len(META_PREFIX) :]
    if not key:
        raise FsError(errno.EINVAL, "a metadata key must not be empty")
    return key


def is_per_key(name: str) -> bool:
    """A change of one metadata key, made on the newest metadata (the caller refreshes first)."""
    return name.startswith(META_PREFIX)


def set_patch(model: Model, name: str, raw: bytes) -> Patch:
    """What ``setxattr(name, raw)`` sends; FsError for names that cannot be set or bad values."""
    if name == CLIENT_METADATA:
        return Patch(client_metadata=parse_client_metadata(raw))
    if name.startswith(META_PREFIX):
        metadata = _current(model)
        metadata[_key(name)] = _meta_value(raw)
        return Patch(client_metadata=metadata)
    if name == DESCRIPTION:
        try:
            return _description_patch(model, raw.decode())
        except UnicodeDecodeError as exc:
            raise FsError(errno.EINVAL, "a description must be UTF-8 text") from exc
    raise FsError(errno.ENOTSUP, f"{name} cannot be set", quiet=not name.startswith(PREFIX))


def remove_patch(model: Model, name: str) -> Patch:
    """What ``removexattr(name)`` sends: a key leaves the metadata, the whole metadata becomes {},
    a folder's description becomes empty."""
    if name.startswith(META_PREFIX):
        metadata = _current(model)
        if metadata.pop(_key(name), _MISSING) is _MISSING:
            raise FsError(errno.ENODATA)
        return Patch(client_metadata=metadata)
    if name == CLIENT_METADATA:
        return Patch(client_metadata={})
    if name == DESCRIPTION:
        return _description_patch(model, "")
    if name in _fixed(model) or name == DATASET_LINKS:
        raise FsError(errno.ENOTSUP, f"{name} is read-only")
    raise FsError(errno.ENODATA)


_MISSING = object()
