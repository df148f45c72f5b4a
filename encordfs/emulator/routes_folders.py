"""``/v2/public/storage/folders...``: folder listing, search, create, patch, move, delete, summary, groups."""

from __future__ import annotations

import json
import time
import uuid as uuidlib
from typing import Any

from starlette.routing import Route

from encordfs.wire.enums import SortBy, StorageItemType, StorageUserRole, UploadJobStatus
from encordfs.wire.models import FolderSummary

from .api_errors import BadRequest, Conflict, Forbidden
from .context import Ctx, api
from .pages import decode_token, page, single_page
from .params import metadata_object, metadata_string, parse_enum, parse_uuid, required, string, uuid_list
from .store import Row
from .views import folder_wire, timestamp

PREFIX = "/v2/public/storage"


def existing_folder(ctx: Ctx, uuid: str) -> Row:
    """The folder row, or the 403 the hosted service gives for unknown or inaccessible folders."""
    row = ctx.store.folder(uuid)
    if row is None:
        raise Forbidden(f"folder {uuid} does not exist or you have no access to it")
    return row


def _render(ctx: Ctx, row: Row) -> dict[str, Any]:
    return folder_wire(ctx.store, row, ctx.principal.folder_role)


def _list(ctx: Ctx, parents: list[str | None] | None) -> dict[str, Any]:
    q = ctx.query
    q.bool("isRecursive", False)
    order = q.enum("order", SortBy, SortBy.NAME).value
    desc = q.bool("desc", False)
    size = q.page_size()
    after = decode_token(q.get("pageToken"), order)
    if q.bool("includeOrgAccess", False):
        ctx.principal.require_write()
    if q.bool("datasetSynced") is True:
        return page([], [], size, order)  # no folder of the emulator mirrors a dataset
    rows = ctx.store.list_folders(parents, q.get("search"), order, bool(desc), after, size + 1)
    return page([_render(ctx, r) for r in rows[:size]], rows, size, order)


async def list_roots(ctx: Ctx) -> Any:
    return _list(ctx, [None])


async def search_folders(ctx: Ctx) -> Any:
    return _list(ctx, None)


async def list_subfolders(ctx: Ctx) -> Any:
    folder = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    recursive = ctx.query.bool("isRecursive", False)
    parents: list[str | None] = [folder, *ctx.store.descendant_folders(folder)] if recursive else [folder]
    return _list(ctx, parents)


async def get_folder(ctx: Ctx) -> Any:
    return _render(ctx, existing_folder(ctx, ctx.path_uuid("folder")))


def _check_name_free(ctx: Ctx, parent: str | None, name: str, exclude: str | None = None) -> None:
    if not ctx.emulator.settings.unique_folder_names:
        return
    clause = "parent IS NULL" if parent is None else "parent = ?"
    args = [name] + ([] if parent is None else [parent]) + [exclude or ""]
    if ctx.store.one(f"SELECT uuid FROM folders WHERE name=? AND {clause} AND uuid<>?", args):
        raise Conflict(f"a folder named {name!r} already exists there")


async def create_folder(ctx: Ctx) -> Any:
    data = ctx.json()
    name = string(data, "name", allow_empty=False)
    if name is None:
        raise BadRequest("missing required field 'name'")
    if data.get("cloudSyncedFolderParams") is not None:
        raise BadRequest("cloud-synced folders are not supported by the emulator")
    parent = parse_uuid("parent", data["parent"]) if data.get("parent") is not None else None
    if parent is not None:
        existing_folder(ctx, parent)
    _check_name_free(ctx, parent, name)
    now = time.time()
    row = {
        "uuid": str(uuidlib.uuid4()),
        "parent": parent,
        "name": name,
        "description": string(data, "description") or "",
        "client_metadata": metadata_string(data, "clientMetadata"),
        "owner": ctx.principal.owner,
        "created_at": now,
        "last_edited_at": now,
    }
    with ctx.store.tx() as db:
        ctx.store.insert_folder(db, row)
    return _render(ctx, row)


def _apply_patch(ctx: Ctx, uuid: str, patch: Any) -> None:
    if not isinstance(patch, dict):
        raise BadRequest("a folder patch must be a JSON object")
    folder = existing_folder(ctx, uuid)
    changes: dict[str, Any] = {}
    if "name" in patch:
        changes["name"] = string(patch, "name", allow_empty=False)
        _check_name_free(ctx, folder["parent"], changes["name"], exclude=uuid)
    if "description" in patch:
        changes["description"] = string(patch, "description") or ""
    if "clientMetadata" in patch:
        changes["client_metadata"] = metadata_object(patch, "clientMetadata")
    changes = {k: v for k, v in changes.items() if v is not None or k == "client_metadata"}
    if not changes:
        return
    changes["last_edited_at"] = time.time()
    assignments = ", ".join(f"{k}=?" for k in changes)
    with ctx.store.tx() as db:
        db.execute(f"UPDATE folders SET {assignments} WHERE uuid=?", [*changes.values(), uuid])


async def patch_folder(ctx: Ctx) -> Any:
    uuid = ctx.path_uuid("folder")
    _apply_patch(ctx, uuid, ctx.json())
    return _render(ctx, existing_folder(ctx, uuid))


async def patch_folders_bulk(ctx: Ctx) -> Any:
    patches = required(ctx.json(), "folderPatches")
    if not isinstance(patches, dict):
        raise BadRequest("folderPatches must be an object of folder UUID -> patch")
    uuids = [parse_uuid("folderPatches key", key) for key in patches]
    for uuid in uuids:
        existing_folder(ctx, uuid)
    for uuid, patch in zip(uuids, patches.values()):
        _apply_patch(ctx, uuid, patch)
    return single_page([_render(ctx, existing_folder(ctx, u)) for u in uuids])


async def move_folders(ctx: Ctx) -> Any:
    data = ctx.json()
    folders = uuid_list(data, "folderUuids")
    target = parse_uuid("newParentUuid", data["newParentUuid"]) if data.get("newParentUuid") is not None else None
    if target is not None:
        existing_folder(ctx, target)
    for uuid in folders:
        existing_folder(ctx, uuid)
        if target is not None and (target == uuid or target in ctx.store.descendant_folders(uuid)):
            raise BadRequest(f"cannot move folder {uuid} into itself or one of its subfolders")
    now = time.time()
    with ctx.store.tx() as db:
        for uuid in folders:
            db.execute("UPDATE folders SET parent=?, last_edited_at=? WHERE uuid=?", (target, now, uuid))
    return None


async def delete_folder(ctx: Ctx) -> Any:
    uuid = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    if ctx.store.one("SELECT 1 AS x FROM folders WHERE parent=? UNION ALL SELECT 1 FROM items WHERE folder=?", (uuid, uuid)):
        raise BadRequest("folder is not empty: delete or move its items and subfolders first")
    unused_slots = [r["uuid"] for r in ctx.store.query("SELECT uuid FROM slots WHERE folder=?", (uuid,))]
    with ctx.store.tx() as db:
        db.execute("DELETE FROM folders WHERE uuid=?", (uuid,))
        db.execute("DELETE FROM folder_groups WHERE folder=?", (uuid,))
        db.execute("DELETE FROM slots WHERE folder=?", (uuid,))
    for slot in unused_slots:
        (ctx.store.blob_dir / slot).unlink(missing_ok=True)  # bytes PUT but never registered
    return None


SUMMARY_FIELDS = {
    StorageItemType.VIDEO: "videos",
    StorageItemType.IMAGE: "images",
    StorageItemType.IMAGE_GROUP: "image_groups",
    StorageItemType.IMAGE_SEQUENCE: "image_sequences",
    StorageItemType.DICOM_FILE: "dicom_files",
    StorageItemType.DICOM_SERIES: "dicom_series",
    StorageItemType.NIFTI: "niftis",
    StorageItemType.AUDIO: "audios",
    StorageItemType.PDF: "pdfs",
    StorageItemType.PLAIN_TEXT: "plain_texts",
}


async def folder_summary(ctx: Ctx) -> Any:
    """Counts of the folder's direct contents, or (``--recursive-summaries``) of everything below
    it; totalSize includes frames of composites."""
    uuid = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    below = ctx.store.descendant_folders(uuid) if ctx.emulator.settings.recursive_summaries else []
    scope = [uuid, *below]
    marks = ",".join("?" * len(scope))
    counts: dict[str, Any] = {}
    for row in ctx.store.query(
        f"SELECT item_type, COUNT(*) AS n FROM items WHERE folder IN ({marks}) AND composite IS NULL GROUP BY item_type", scope
    ):
        name = SUMMARY_FIELDS.get(StorageItemType(row["item_type"]))
        if name:
            counts[name] = counts.get(name, 0) + row["n"]
    files = sum(counts.values())
    sizes = ctx.store.query(f"SELECT media FROM items WHERE folder IN ({marks})", scope)
    total = sum(json.loads(r["media"]).get("file_size") or 0 for r in sizes)
    folders = {"n": len(below)} if below else ctx.store.one("SELECT COUNT(*) AS n FROM folders WHERE parent=?", (uuid,))
    jobs = ctx.store.one(
        f"SELECT COUNT(*) AS n FROM jobs WHERE folder IN ({marks}) AND status=?", (*scope, UploadJobStatus.PENDING.value)
    )
    summary = FolderSummary(
        files=files,
        folders=folders["n"] if folders else 0,
        upload_jobs=jobs["n"] if jobs else 0,
        total_size=float(total),
        **counts,
    )
    return summary.to_wire()


def _group_wire(row: Row) -> dict[str, Any]:
    return {
        "groupHash": row["group_hash"],
        "name": row["name"],
        "description": row["description"],
        "createdAt": timestamp(row["created_at"]).isoformat(),
        "isSameOrganisation": True,
        "userRole": row["user_role"],
    }


async def list_groups(ctx: Ctx) -> Any:
    uuid = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    return single_page([_group_wire(r) for r in ctx.store.folder_groups(uuid)])


async def add_groups(ctx: Ctx) -> Any:
    uuid = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    data = ctx.json()
    groups = uuid_list(data, "groupHashList")
    role = parse_enum("userRole", required(data, "userRole"), StorageUserRole)
    unknown = [g for g in groups if ctx.store.org_group(g) is None]
    if unknown:
        raise BadRequest(f"groupHashList: no group {', '.join(unknown)} in the organisation")
    now = time.time()
    with ctx.store.tx() as db:
        for group in groups:
            db.execute(
                "INSERT INTO folder_groups (folder, group_hash, user_role, created_at) VALUES (?,?,?,?) "
                "ON CONFLICT(folder, group_hash) DO UPDATE SET user_role=excluded.user_role",
                (uuid, group, role.value, now),
            )
    return None


async def remove_groups(ctx: Ctx) -> Any:
    uuid = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    groups = [parse_uuid("groupHashList", g) for g in ctx.query.all("groupHashList")]
    if not groups:
        raise BadRequest("groupHashList is required")
    with ctx.store.tx() as db:
        db.executemany("DELETE FROM folder_groups WHERE folder=? AND group_hash=?", [(uuid, g) for g in groups])
    return None


routes = [
    Route(f"{PREFIX}/folders", api(list_roots), methods=["GET"]),
    Route(f"{PREFIX}/folders", api(create_folder), methods=["POST"]),
    Route(f"{PREFIX}/search/folders", api(search_folders), methods=["GET"]),
    Route(f"{PREFIX}/folders/patch-bulk", api(patch_folders_bulk), methods=["PATCH"]),
    Route(f"{PREFIX}/folders/move", api(move_folders), methods=["POST"]),
    Route(f"{PREFIX}/folders/{{folder}}", api(get_folder), methods=["GET"]),
    Route(f"{PREFIX}/folders/{{folder}}", api(patch_folder), methods=["PATCH"]),
    Route(f"{PREFIX}/folders/{{folder}}", api(delete_folder), methods=["DELETE"]),
    Route(f"{PREFIX}/folders/{{folder}}/folders", api(list_subfolders), methods=["GET"]),
    Route(f"{PREFIX}/folders/{{folder}}/summary", api(folder_summary), methods=["GET"]),
    Route(f"{PREFIX}/folders/{{folder}}/groups", api(list_groups), methods=["GET"]),
    Route(f"{PREFIX}/folders/{{folder}}/groups", api(add_groups), methods=["POST"]),
    Route(f"{PREFIX}/folders/{{folder}}/groups", api(remove_groups), methods=["DELETE"]),
]
