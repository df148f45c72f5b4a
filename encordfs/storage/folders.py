"""Folder calls of the storage client (a mixin of ``StorageClient``)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import trio

from encordfs.storage.errors import ServerError, StorageTimeout, TransportError
from encordfs.storage.models import FolderGroup, OrgGroup
from encordfs.storage.pages import iter_pages, results_of
from encordfs.storage.queries import FolderQuery
from encordfs.storage.transport import Transport
from encordfs.wire.enums import SortBy, StorageUserRole
from encordfs.wire.models import FolderSummary, Json, StorageFolder

log = logging.getLogger(__name__)

# Failures after which a non-idempotent call may or may not have happened on the server.
AMBIGUOUS_FAILURES = (ServerError, StorageTimeout, TransportError)
# How far back a same-named folder's createdAt may lie and still be "ours" (clock skew allowance).
CREATE_SKEW = timedelta(minutes=2)


def _folder_patch(name: str | None, description: str | None, client_metadata: Any) -> Json:
    patch: Json = {}
    if name is not None:
        patch["name"] = name
    if description is not None:
        patch["description"] = description
    if client_metadata is not None:
        patch["clientMetadata"] = client_metadata
    return patch


class FolderApi:
    _transport: Transport

    async def get_folder(self, folder: UUID) -> StorageFolder:
        data = await self._transport.call("GET", f"storage/folders/{folder}", operation="get folder")
        return StorageFolder.from_wire(data)

    def iter_folders(
        self, parent: UUID | None, *, search: str | None = None, page_size: int = 1000
    ) -> AsyncIterator[StorageFolder]:
        """Direct subfolders of ``parent`` (top-level folders when None), by name, page by page."""
        return self.list_folders(parent, FolderQuery(search=search, page_size=page_size))

    def list_folders(self, parent: UUID | None, query: FolderQuery = FolderQuery()) -> AsyncIterator[StorageFolder]:
        """Subfolders of ``parent`` (top level when None) with every SDK filter; recursive under a
        parent when ``query.is_recursive``."""
        path = "storage/folders" if parent is None else f"storage/folders/{parent}/folders"
        return iter_pages(self._transport, path, query, StorageFolder.from_wire, operation="list folders")

    def find_folders(self, query: FolderQuery) -> AsyncIterator[StorageFolder]:
        """Recursive search from the roots (``storage/search/folders``, as find_storage_folders)."""
        return iter_pages(self._transport, "storage/search/folders", query, StorageFolder.from_wire, operation="find folders")

    async def create_folder(
        self, name: str, parent: UUID | None, *, description: str | None = None, client_metadata: Any = None
    ) -> StorageFolder:
        """Create a folder, never twice: after an ambiguous failure it first looks for the folder
        under ``parent`` and retries only if it is not there."""
        body: Json = {"name": name}
        if description is not None:
            body["description"] = description
        if parent is not None:
            body["parent"] = str(parent)
        if client_metadata is not None:
            body["clientMetadata"] = json.dumps(client_metadata)
        started = datetime.now(UTC)
        attempts = 0
        while True:
            attempts += 1
            try:
                data = await self._transport.call(
                    "POST", "storage/folders", operation="create folder", body=body, idempotent=False
                )
                return StorageFolder.from_wire(data)
            except AMBIGUOUS_FAILURES as exc:
                if attempts >= self._transport.retry.max_attempts:
                    raise
                log.warning("%s; checking whether the folder was created before retrying", exc)
            await trio.sleep(self._transport.retry.backoff(attempts - 1))
            existing = await self._created_since(name, parent, started - CREATE_SKEW)
            if existing is not None:
                return existing

    async def _created_since(self, name: str, parent: UUID | None, since: datetime) -> StorageFolder | None:
        async for folder in self.list_folders(parent, FolderQuery(search=name, order=SortBy.CREATED_AT, desc=True, page_size=100)):
            if folder.name == name and folder.created_at >= since:
                return folder
        return None

    async def update_folder(
        self, folder: UUID, *, name: str | None = None, description: str | None = None, client_metadata: Any = None
    ) -> StorageFolder:
        """PATCH is retried: sending the same fields twice leaves the same state."""
        patch = _folder_patch(name, description, client_metadata)
        if not patch:
            return await self.get_folder(folder)
        data = await self._transport.call("PATCH", f"storage/folders/{folder}", operation="update folder", body=patch)
        return StorageFolder.from_wire(data)

    async def update_folders(self, patches: dict[UUID, Json]) -> list[StorageFolder]:
        """Bulk PATCH (``patch-bulk``, ≤1000 per request); each patch uses wire keys
        (name, description, clientMetadata)."""
        folders: list[StorageFolder] = []
        uuids = list(patches)
        for start in range(0, len(uuids), 1000):
            chunk = {str(u): patches[u] for u in uuids[start : start + 1000]}
            page = await self._transport.call(
                "PATCH", "storage/folders/patch-bulk", operation="update folders", body={"folderPatches": chunk}
            )
            folders.extend(StorageFolder.from_wire(f) for f in results_of(page, "update folders"))
        return folders

    async def move_folders(self, folders: list[UUID], new_parent: UUID | None) -> None:
        body: Json = {"folderUuids": [str(f) for f in folders]}
        if new_parent is not None:  # the root is "no newParentUuid", not null
            body["newParentUuid"] = str(new_parent)
        await self._transport.call("POST", "storage/folders/move", operation="move folders", body=body)

    async def delete_folder(self, folder: UUID) -> None:
        await self._transport.call("DELETE", f"storage/folders/{folder}", operation="delete folder")

    async def folder_summary(self, folder: UUID) -> FolderSummary:
        data = await self._transport.call("GET", f"storage/folders/{folder}/summary", operation="folder summary")
        return FolderSummary.from_wire(data)

    # --- access groups -------------------------------------------------------------------
    async def list_org_groups(self) -> list[OrgGroup]:
        """The organisation's user groups (the SDK's ``EncordUserClient.list_groups``)."""
        page = await self._transport.call("GET", "user/current-organisation/groups", operation="list organisation groups")
        return [OrgGroup.from_wire(g) for g in results_of(page, "list organisation groups")]

    async def create_org_group(self, name: str, description: str = "") -> OrgGroup:
        """A new user group of the organisation (the SDK's ``create_group``). Not retried after
        an ambiguous failure: a second group would be made."""
        data = await self._transport.call(
            "POST", "organisation/groups", operation="create group", body={"name": name, "description": description},
            idempotent=False,
        )
        return OrgGroup.from_wire(data)

    async def list_groups(self, folder: UUID) -> list[FolderGroup]:
        page = await self._transport.call("GET", f"storage/folders/{folder}/groups", operation="list groups")
        return [FolderGroup.from_wire(g) for g in results_of(page, "list groups")]

    async def add_groups(self, folder: UUID, groups: Iterable[UUID], role: StorageUserRole) -> None:
        body = {"groupHashList": [str(g) for g in groups], "userRole": role.value}
        await self._transport.call("POST", f"storage/folders/{folder}/groups", operation="add groups", body=body)

    async def remove_groups(self, folder: UUID, groups: Iterable[UUID]) -> None:
        params = [("groupHashList", str(g)) for g in groups]
        await self._transport.call("DELETE", f"storage/folders/{folder}/groups", operation="remove groups", params=params)
