"""Storage API models and their JSON wire form (camelCase keys, ISO 8601 times, wire enum values).

``from_wire`` reads what a server sends (tolerating the variants the SDK tolerates: missing
optional keys, extra keys, several datetime formats); ``to_wire`` writes what the emulator sends,
with every key the SDK requires present.
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

from .enums import (
    StorageFolderType,
    StorageItemType,
    StorageLocationName,
    StorageUserRole,
    UploadJobStatus,
)

Json = dict[str, Any]


def parse_datetime(value: Any) -> datetime:
    """Parse any datetime form the SDK accepts; naive times are UTC."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=UTC)
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = parsedate_to_datetime(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def datetime_ns(value: datetime) -> int:
    """Nanoseconds since the epoch, exactly (a datetime holds whole microseconds; naive is UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICROSECOND * 1000


def ns_datetime(ns: int) -> datetime:
    """The UTC datetime of ``datetime_ns``'s result (equal to the datetime it came from)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def _uuid(value: Any) -> UUID | None:
    return None if value is None else UUID(str(value))


_SHARED_MAX = 64


@functools.cache  # a few dozen field names, asked for once per field of every listed entry
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _shared(text: Any) -> Any:
    """One copy of a short string that many entries repeat (owner, MIME type, ``{}`` metadata)."""
    return sys.intern(text) if isinstance(text, str) and len(text) <= _SHARED_MAX else text


@functools.lru_cache(maxsize=1024)
def _shared_uuid(text: str) -> UUID:
    """One UUID object for a parent every item of a listing page names (UUIDs are immutable)."""
    return UUID(text)


def _get(data: Json, name: str, default: Any = None) -> Any:
    """A field by its camelCase wire name, or its snake_case name (the SDK accepts both)."""
    camel = _camel(name)
    if camel in data:
        return data[camel]
    return data.get(name, default)


@dataclass(frozen=True)
class PathElement:
    uuid: UUID
    parent_uuid: UUID | None
    name: str
    synced_dataset_hash: UUID | None = None

    @classmethod
    def from_wire(cls, data: Json) -> PathElement:
        return cls(
            uuid=UUID(str(_get(data, "uuid"))),
            parent_uuid=_uuid(_get(data, "parent_uuid")),
            name=_get(data, "name"),
            synced_dataset_hash=_uuid(_get(data, "synced_dataset_hash")),
        )

    def to_wire(self) -> Json:
        return {
            "uuid": str(self.uuid),
            "parentUuid": None if self.parent_uuid is None else str(self.parent_uuid),
            "name": self.name,
            "syncedDatasetHash": None if self.synced_dataset_hash is None else str(self.synced_dataset_hash),
        }


@dataclass(frozen=True, slots=True)  # no per-instance dict: a mount caches millions
class StorageFolder:
    uuid: UUID
    parent: UUID | None
    name: str
    description: str
    client_metadata: str | None
    owner: str
    created_at: datetime
    last_edited_at: datetime
    user_role: StorageUserRole
    synced_dataset_hash: UUID | None
    path_to_root: tuple[PathElement, ...]
    folder_type: StorageFolderType = StorageFolderType.GENERIC
    integration_hash: UUID | None = None
    remote_url: str | None = None

    @classmethod
    def from_wire(cls, data: Json) -> StorageFolder:
        folder_type = _get(data, "folder_type", "generic")
        return cls(
            uuid=UUID(str(_get(data, "uuid"))),
            parent=_uuid(_get(data, "parent")),
            name=_get(data, "name"),
            description=_get(data, "description") or "",
            client_metadata=_get(data, "client_metadata"),
            owner=_get(data, "owner") or "",
            created_at=parse_datetime(_get(data, "created_at")),
            last_edited_at=parse_datetime(_get(data, "last_edited_at")),
            user_role=StorageUserRole(_get(data, "user_role")),
            synced_dataset_hash=_uuid(_get(data, "synced_dataset_hash")),
            path_to_root=tuple(PathElement.from_wire(p) for p in _get(data, "path_to_root") or ()),
            folder_type=StorageFolderType(folder_type) if folder_type in StorageFolderType._value2member_map_ else StorageFolderType.GENERIC,
            integration_hash=_uuid(_get(data, "integration_hash")),
            remote_url=_get(data, "remote_url"),
        )

    def to_wire(self) -> Json:
        return {
            "uuid": str(self.uuid),
            "parent": None if self.parent is None else str(self.parent),
            "name": self.name,
            "description": self.description,
            "clientMetadata": self.client_metadata,
            "owner": self.owner,
            "createdAt": format_datetime(self.created_at),
            "lastEditedAt": format_datetime(self.last_edited_at),
            "userRole": self.user_role.value,
            "syncedDatasetHash": None if self.synced_dataset_hash is None else str(self.synced_dataset_hash),
            "pathToRoot": [p.to_wire() for p in self.path_to_root],
            "folderType": self.folder_type.value,
            "integrationHash": None if self.integration_hash is None else str(self.integration_hash),
            "remoteUrl": self.remote_url,
        }

    @property
    def metadata(self) -> Any:
        return json.loads(self.client_metadata) if self.client_metadata else {}


# Item fields that travel as plain JSON scalars under their camelCase names.
_ITEM_MEDIA_FIELDS = (
    "url",
    "signed_url",
    "file_size",
    "mime_type",
    "duration",
    "fps",
    "height",
    "width",
    "dicom_instance_uid",
    "dicom_study_uid",
    "dicom_series_uid",
    "frame_count",
    "audio_sample_rate",
    "audio_bit_depth",
    "audio_codec",
    "audio_num_channels",
)


_ITEM_TYPES: dict[Any, StorageItemType] = dict(StorageItemType._value2member_map_)


def _location(value: Any) -> StorageLocationName:
    return StorageLocationName._value2member_map_.get(value or "encord") or StorageLocationName(value)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)  # no per-instance dict
class StorageItem:
    uuid: UUID
    parent: UUID
    item_type: StorageItemType
    name: str
    client_metadata: str
    owner: str
    created_at: datetime
    last_edited_at: datetime
    backed_data_units_count: int
    storage_location: StorageLocationName
    integration_hash: UUID | None = None
    description: str = ""
    is_tombstone: bool = False
    is_placeholder: bool = False
    url: str | None = None
    signed_url: str | None = field(default=None, repr=False)
    file_size: int | None = None
    mime_type: str | None = None
    duration: float | None = None
    fps: float | None = None
    height: int | None = None
    width: int | None = None
    dicom_instance_uid: str | None = None
    dicom_study_uid: str | None = None
    dicom_series_uid: str | None = None
    frame_count: int | None = None
    audio_sample_rate: int | None = None
    audio_bit_depth: int | None = None
    audio_codec: str | None = None
    audio_num_channels: int | None = None
    client_metadata_signed_url: str | None = field(default=None, repr=False)

    @classmethod
    def from_wire(cls, data: Json) -> StorageItem:
        """Read straight from camelCase keys into the slots (a listing parses thousands a second,
        and the dataclass ``__init__`` with 31 keywords was a third of the cost)."""
        get = _camel_keys(data).get
        media = [get(camel) for camel in _MEDIA_CAMEL]
        media[_MIME_AT] = _shared(media[_MIME_AT])
        item_type = get("itemType")
        return _new_item((
            UUID(str(get("uuid"))),
            _shared_uuid(str(get("parent"))),
            _ITEM_TYPES.get(item_type) or StorageItemType(item_type),
            get("name"),
            _shared(get("clientMetadata") or "{}"),
            _shared(get("owner") or ""),
            parse_datetime(get("createdAt")),
            parse_datetime(get("lastEditedAt")),
            int(get("backedDataUnitsCount") or 0),
            _location(get("storageLocation")),
            _uuid(get("integrationHash")),
            get("description") or "",
            bool(get("isTombstone", False)),
            bool(get("isPlaceholder", False)),
            *media,
            get("clientMetadataSignedUrl"),
        ))

    def to_wire(self) -> Json:
        wire: Json = {
            "uuid": str(self.uuid),
            "parent": str(self.parent),
            "itemType": self.item_type.value,
            "name": self.name,
            "description": self.description,
            "clientMetadata": self.client_metadata,
            "owner": self.owner,
            "createdAt": format_datetime(self.created_at),
            "lastEditedAt": format_datetime(self.last_edited_at),
            "isTombstone": self.is_tombstone,
            "isPlaceholder": self.is_placeholder,
            "backedDataUnitsCount": self.backed_data_units_count,
            "storageLocation": self.storage_location.value,
            "integrationHash": None if self.integration_hash is None else str(self.integration_hash),
        }
        wire.update({_camel(name): getattr(self, name) for name in _ITEM_MEDIA_FIELDS})
        if self.client_metadata_signed_url is not None:
            wire["clientMetadataSignedUrl"] = self.client_metadata_signed_url
        return wire

    @property
    def metadata(self) -> Any:
        return json.loads(self.client_metadata) if self.client_metadata else {}


# StorageItem.from_wire's fast path: values in field order, set through the slots directly.
_ITEM_FIELD_ORDER = (
    "uuid", "parent", "item_type", "name", "client_metadata", "owner", "created_at", "last_edited_at",
    "backed_data_units_count", "storage_location", "integration_hash", "description", "is_tombstone",
    "is_placeholder", *_ITEM_MEDIA_FIELDS, "client_metadata_signed_url",
)
if tuple(f.name for f in fields(StorageItem)) != _ITEM_FIELD_ORDER:
    raise RuntimeError("StorageItem.from_wire lists the fields in another order than the class")
_MEDIA_CAMEL = tuple(_camel(name) for name in _ITEM_MEDIA_FIELDS)
_MIME_AT = _ITEM_MEDIA_FIELDS.index("mime_type")
_ITEM_SETTERS = tuple(StorageItem.__dict__[name].__set__ for name in _ITEM_FIELD_ORDER)


def _new_item(values: tuple[Any, ...]) -> StorageItem:
    item = object.__new__(StorageItem)
    for setter, value in zip(_ITEM_SETTERS, values):
        setter(item, value)
    return item


_ITEM_CAMEL_KEYS = frozenset(_camel(name) for name in _ITEM_FIELD_ORDER)


def _camel_keys(data: Json) -> Json:
    """``data`` with camelCase keys (the SDK accepts snake_case too; camelCase wins if both)."""
    if data.keys() <= _ITEM_CAMEL_KEYS or all(_camel(key) == key for key in data):
        return data
    return {**{_camel(key): value for key, value in data.items()}, **{key: value for key, value in data.items() if _camel(key) == key}}


# StorageItem fields an ItemRecord keeps as its own; the others that differ from their defaults go
# in its shape (values most items of a folder share) or after it (values of this item alone).
_RECORD_OWN = frozenset({"uuid", "name", "item_type", "file_size", "created_at", "last_edited_at"})
_OWN_VALUES = tuple(f.name for f in fields(StorageItem) if f.name not in _RECORD_OWN)
_OTHER_DEFAULTS = tuple(f.default for f in fields(StorageItem) if f.name not in _RECORD_OWN)
_others_of = attrgetter(*_OWN_VALUES)
_ITEM_ALONE = frozenset({"url", "signed_url", "client_metadata_signed_url", "dicom_instance_uid", "duration",
                         "frame_count", "width", "height", "fps"})
_SHARED_TEXT_MAX = 64  # longer texts (a big client_metadata) are the item's alone
_SHAPES_MAX = 4096
_shapes: dict[Shape, Shape] = {}
_SHARED_NUMBERS_MAX = 1 << 16
_shared_numbers: dict[type, dict[int | float, int | float]] = {int: {}, float: {}}  # by type: 1 == 1.0
_NUMBER_TYPES = frozenset(_shared_numbers)


class Shape(NamedTuple):
    """What the records of one folder's similar items share: field values (parent, owner, MIME
    type, metadata ``{}``...) and the names of the values each record holds itself."""

    shared_names: tuple[str, ...]
    shared_values: tuple[Any, ...]
    own_names: tuple[str, ...]


V = TypeVar("V")


def _interned(table: dict[V, V], value: V, limit: int) -> V:
    """One object per distinct value, up to ``limit`` of them (past that each caller keeps its own)."""
    known = table.get(value)
    if known is None:
        if len(table) >= limit:
            return value
        table[value] = known = value
    return known


def _shared_shape(shape: Shape) -> Shape:
    """One object per distinct shape, shared by the records of similar items."""
    return _interned(_shapes, shape, _SHAPES_MAX)


def _shared_number(value: int | float) -> int | float:
    """One object for a width, height or fps that many items repeat (640, 480, 25.0)."""
    return _interned(_shared_numbers[type(value)], value, _SHARED_NUMBERS_MAX)


class ItemRecord(tuple[Any, ...]):
    """A ``StorageItem`` as the mount keeps it for each listed entry: one tuple holding what
    attributes and naming read (size and times as plain ints), a ``Shape`` shared with similar
    items, then the values of this item alone (its URL...). ``item()`` rebuilds an equal
    ``StorageItem``, so nothing is lost, in about a third of the item's bytes."""

    __slots__ = ()

    uuid: UUID = property(itemgetter(0))  # type: ignore[assignment]
    name: str = property(itemgetter(1))  # type: ignore[assignment]
    item_type: StorageItemType = property(itemgetter(2))  # type: ignore[assignment]
    file_size: int | None = property(itemgetter(3))  # type: ignore[assignment]
    created_ns: int = property(itemgetter(4))  # type: ignore[assignment]
    edited_ns: int = property(itemgetter(5))  # type: ignore[assignment]
    shape: Shape = property(itemgetter(6))  # type: ignore[assignment]
    _OWN = 7

    @property
    def own_values(self) -> tuple[Any, ...]:
        return self[self._OWN :]

    @classmethod
    def of(cls, item: StorageItem) -> ItemRecord:
        created = datetime_ns(item.created_at)
        edited = datetime_ns(item.last_edited_at)
        shared_names: list[str] = []
        shared_values: list[Any] = []
        own_names: list[str] = []
        values: list[Any] = [item.uuid, item.name, item.item_type, item.file_size, created, created if edited == created else edited, None]
        for name, default, value in zip(_OWN_VALUES, _OTHER_DEFAULTS, _others_of(item)):
            if value is default or value == default:
                continue
            if name in _ITEM_ALONE or (type(value) is str and len(value) > _SHARED_TEXT_MAX):
                own_names.append(name)
                values.append(_shared_number(value) if type(value) in _NUMBER_TYPES else value)
            else:
                shared_names.append(name)
                shared_values.append(value)
        values[cls._OWN - 1] = _shared_shape(Shape(tuple(shared_names), tuple(shared_values), tuple(own_names)))
        return tuple.__new__(cls, values)

    def item(self) -> StorageItem:
        shape = self.shape
        others = dict(zip(shape.shared_names, shape.shared_values))
        others.update(zip(shape.own_names, self.own_values))
        return StorageItem(
            uuid=self.uuid,
            name=self.name,
            item_type=self.item_type,
            file_size=self.file_size,
            created_at=ns_datetime(self.created_ns),
            last_edited_at=ns_datetime(self.edited_ns),
            **others,
        )

    def __repr__(self) -> str:
        return f"ItemRecord({self.name!r}, {self.uuid})"


@dataclass(frozen=True)
class FolderSummary:
    files: int = 0
    folders: int = 0
    videos: int = 0
    images: int = 0
    image_groups: int = 0
    image_sequences: int = 0
    dicom_files: int = 0
    dicom_series: int = 0
    niftis: int = 0
    audios: int = 0
    pdfs: int = 0
    plain_texts: int = 0
    tombstones: int = 0
    upload_jobs: int = 0
    total_size: float = 0.0

    @classmethod
    def from_wire(cls, data: Json) -> FolderSummary:
        values = {f.name: _get(data, f.name, f.default) for f in fields(cls)}
        return cls(**values)

    def to_wire(self) -> Json:
        return {_camel(f.name): getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class UploadSignedUrl:
    item_uuid: UUID
    object_key: str
    signed_url: str = field(repr=False)
    upload_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Json) -> UploadSignedUrl:
        return cls(
            item_uuid=UUID(str(_get(data, "item_uuid"))),
            object_key=_get(data, "object_key"),
            signed_url=_get(data, "signed_url"),
            upload_headers=dict(_get(data, "upload_headers") or {}),
        )

    def to_wire(self) -> Json:
        return {
            "itemUuid": str(self.item_uuid),
            "objectKey": self.object_key,
            "signedUrl": self.signed_url,
            "uploadHeaders": dict(self.upload_headers),
        }


@dataclass(frozen=True)
class UnitError:
    object_urls: tuple[str, ...]
    error: str
    subtask_uuid: UUID
    action_description: str

    @classmethod
    def from_wire(cls, data: Json) -> UnitError:
        return cls(
            object_urls=tuple(_get(data, "object_urls") or ()),
            error=_get(data, "error") or "",
            subtask_uuid=UUID(str(_get(data, "subtask_uuid"))),
            action_description=_get(data, "action_description") or "",
        )

    def to_wire(self) -> Json:
        return {
            "objectUrls": list(self.object_urls),
            "error": self.error,
            "subtaskUuid": str(self.subtask_uuid),
            "actionDescription": self.action_description,
        }


@dataclass(frozen=True)
class UploadJobState:
    status: UploadJobStatus
    items_with_names: tuple[tuple[UUID, str], ...] = ()
    errors: tuple[str, ...] = ()
    units_pending_count: int = 0
    units_done_count: int = 0
    units_error_count: int = 0
    units_cancelled_count: int = 0
    unit_errors: tuple[UnitError, ...] = ()
    file_name: str | None = None

    @classmethod
    def from_wire(cls, data: Json) -> UploadJobState:
        return cls(
            status=UploadJobStatus(_get(data, "status")),
            items_with_names=tuple(
                (UUID(str(_get(e, "item_uuid"))), _get(e, "name")) for e in _get(data, "items_with_names") or ()
            ),
            errors=tuple(_get(data, "errors") or ()),
            units_pending_count=int(_get(data, "units_pending_count") or 0),
            units_done_count=int(_get(data, "units_done_count") or 0),
            units_error_count=int(_get(data, "units_error_count") or 0),
            units_cancelled_count=int(_get(data, "units_cancelled_count") or 0),
            unit_errors=tuple(UnitError.from_wire(e) for e in _get(data, "unit_errors") or ()),
            file_name=_get(data, "file_name"),
        )

    def to_wire(self) -> Json:
        return {
            "status": self.status.value,
            "itemsWithNames": [{"itemUuid": str(u), "name": n} for u, n in self.items_with_names],
            "errors": list(self.errors),
            "unitsPendingCount": self.units_pending_count,
            "unitsDoneCount": self.units_done_count,
            "unitsErrorCount": self.units_error_count,
            "unitsCancelledCount": self.units_cancelled_count,
            "unitErrors": [e.to_wire() for e in self.unit_errors],
            "fileName": self.file_name,
        }
