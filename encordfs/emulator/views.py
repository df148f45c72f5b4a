"""Store rows -> wire models (``encordfs.wire.models``), so responses have exactly the SDK's shapes."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from encordfs.wire.enums import StorageItemType, StorageLocationName, StorageUserRole
from encordfs.wire.models import Json, PathElement, StorageFolder, StorageItem

from .media import MediaInfo
from .signed_urls import BlobOp, UrlSigner
from .store import Row, Store

ITEM_MEDIA_FIELDS = tuple(
    f.name for f in fields(MediaInfo) if f.name in {g.name for g in fields(StorageItem)}
)


def timestamp(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def media_dict(info: MediaInfo) -> dict[str, Any]:
    """The StorageItem media fields of a probe result."""
    return {name: getattr(info, name) for name in ITEM_MEDIA_FIELDS}


def folder_model(store: Store, row: Row, role: StorageUserRole) -> StorageFolder:
    path = tuple(
        PathElement(uuid=UUID(a["uuid"]), parent_uuid=UUID(a["parent"]) if a["parent"] else None, name=a["name"])
        for a in store.ancestors(row["uuid"])
    )
    return StorageFolder(
        uuid=UUID(row["uuid"]),
        parent=UUID(row["parent"]) if row["parent"] else None,
        name=row["name"],
        description=row["description"],
        client_metadata=row["client_metadata"],
        owner=row["owner"],
        created_at=timestamp(row["created_at"]),
        last_edited_at=timestamp(row["last_edited_at"]),
        user_role=role,
        synced_dataset_hash=None,
        path_to_root=path,
    )


def folder_wire(store: Store, row: Row, role: StorageUserRole) -> Json:
    return folder_model(store, row, role).to_wire()


class ItemRenderer:
    """Renders item rows for one request: signs URLs against the origin the caller used."""

    def __init__(self, signer: UrlSigner, base_url: str) -> None:
        self.signer = signer
        self.base_url = base_url

    def model(self, row: Row, sign_url: bool = False, include_metadata: bool = True) -> StorageItem:
        media = json.loads(row["media"])
        signed = self.signer.url(self.base_url, row["uuid"], BlobOp.GET) if sign_url and row["blob_path"] else None
        return StorageItem(
            uuid=UUID(row["uuid"]),
            parent=UUID(row["folder"]),
            item_type=StorageItemType(row["item_type"]),
            name=row["name"],
            client_metadata=row["client_metadata"] if include_metadata else "{}",
            owner=row["owner"],
            created_at=timestamp(row["created_at"]),
            last_edited_at=timestamp(row["last_edited_at"]),
            backed_data_units_count=row["backed_data_units_count"],
            storage_location=StorageLocationName(row["storage_location"]),
            integration_hash=UUID(row["integration_hash"]) if row["integration_hash"] else None,
            url=row["url"],
            signed_url=signed,
            **{name: media.get(name) for name in ITEM_MEDIA_FIELDS},
            file_size=media.get("file_size"),
        )

    def wire(self, row: Row, sign_url: bool = False, include_metadata: bool = True) -> Json:
        return self.model(row, sign_url, include_metadata).to_wire()
