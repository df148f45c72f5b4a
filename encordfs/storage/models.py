"""Response models only the client needs (the shared ones live in ``encordfs.wire.models``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from encordfs.wire.enums import ReencodeStatus, StorageItemType, StorageUserRole
from encordfs.wire.models import Json, _get, parse_datetime


@dataclass(frozen=True)
class ItemShortInfo:
    uuid: UUID
    name: str
    parent_uuid: UUID
    parent_name: str
    item_type: StorageItemType

    @classmethod
    def from_wire(cls, data: Json) -> ItemShortInfo:
        return cls(
            uuid=UUID(str(_get(data, "uuid"))),
            name=_get(data, "name"),
            parent_uuid=UUID(str(_get(data, "parent_uuid"))),
            parent_name=_get(data, "parent_name"),
            item_type=StorageItemType(_get(data, "item_type")),
        )


@dataclass(frozen=True)
class DatasetShortInfo:
    dataset_hash: str
    backing_folder_uuid: UUID | None
    title: str
    data_hashes: tuple[UUID, ...]
    data_units_created_at: datetime

    @classmethod
    def from_wire(cls, data: Json) -> DatasetShortInfo:
        backing = _get(data, "backing_folder_uuid")
        return cls(
            dataset_hash=str(_get(data, "dataset_hash")),
            backing_folder_uuid=None if backing is None else UUID(str(backing)),
            title=_get(data, "title") or "",
            data_hashes=tuple(UUID(str(h)) for h in _get(data, "data_hashes") or ()),
            data_units_created_at=parse_datetime(_get(data, "data_units_created_at")),
        )


@dataclass(frozen=True)
class ItemSummary:
    """``GET …/items/{uuid}/summary``; ``group_layout`` is kept as raw JSON (GROUP items only)."""

    frame_in_groups: int
    accessible_group_items: tuple[ItemShortInfo, ...]
    used_in_datasets: int
    accessible_datasets: tuple[DatasetShortInfo, ...]
    group_layout: Any = None

    @classmethod
    def from_wire(cls, data: Json) -> ItemSummary:
        return cls(
            frame_in_groups=int(_get(data, "frame_in_groups") or 0),
            accessible_group_items=tuple(ItemShortInfo.from_wire(i) for i in _get(data, "accessible_group_items") or ()),
            used_in_datasets=int(_get(data, "used_in_datasets") or 0),
            accessible_datasets=tuple(DatasetShortInfo.from_wire(d) for d in _get(data, "accessible_datasets") or ()),
            group_layout=_get(data, "group_layout"),
        )


@dataclass(frozen=True)
class FolderGroup:
    """A user group with access to a folder."""

    group_hash: UUID
    name: str
    description: str
    created_at: datetime
    is_same_organisation: bool
    user_role: StorageUserRole

    @classmethod
    def from_wire(cls, data: Json) -> FolderGroup:
        return cls(
            group_hash=UUID(str(_get(data, "group_hash"))),
            name=_get(data, "name") or "",
            description=_get(data, "description") or "",
            created_at=parse_datetime(_get(data, "created_at")),
            is_same_organisation=bool(_get(data, "is_same_organisation", True)),
            user_role=StorageUserRole(_get(data, "user_role")),
        )


@dataclass(frozen=True)
class OrgGroup:
    """A user group of the organisation (what folders can be shared with)."""

    group_hash: UUID
    name: str
    description: str
    created_at: datetime

    @classmethod
    def from_wire(cls, data: Json) -> OrgGroup:
        return cls(
            group_hash=UUID(str(_get(data, "group_hash"))),
            name=_get(data, "name") or "",
            description=_get(data, "description") or "",
            created_at=parse_datetime(_get(data, "created_at")),
        )


@dataclass(frozen=True)
class Integration:
    """A cloud integration (a bucket Encord may read private data from)."""

    uuid: UUID
    title: str

    @classmethod
    def from_wire(cls, data: Json) -> Integration:
        return cls(uuid=UUID(str(_get(data, "integration_uuid"))), title=_get(data, "title") or "")


@dataclass(frozen=True)
class ReencodeState:
    status: ReencodeStatus
    result: Any = None

    @classmethod
    def from_wire(cls, data: Json) -> ReencodeState:
        return cls(status=ReencodeStatus(_get(data, "status")), result=_get(data, "result"))
