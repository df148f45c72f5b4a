"""``/v2/public/storage/...items...``: get, get-bulk, list/search, patch, move, delete, summary, child items, re-encode."""

from __future__ import annotations

import json
import time
import uuid as uuidlib
from typing import Any

from starlette.routing import Route

from encordfs.wire.enums import ReencodeStatus, SortBy, StorageItemType

from .api_errors import BadRequest, Forbidden
from .context import Ctx, api
from .pages import decode_token, page, single_page
from .params import in_order, metadata_object, parse_bool, parse_enum, parse_uuid, required, string, uuid_list
from .routes_folders import PREFIX, existing_folder
from .store import Row


def existing_item(ctx: Ctx, uuid: str) -> Row:
    row = ctx.store.item(uuid)
    if row is None:
        raise Forbidden(f"item {uuid} does not exist or you have no access to it")
    return row


def item_in_folder(ctx: Ctx, folder: str, uuid: str) -> Row:
    """An item that is an immediate (top-level) child of ``folder``."""
    row = existing_item(ctx, uuid)
    if row["folder"] != folder:
        raise BadRequest(f"item {uuid} is not in folder {folder}")
    if row["composite"] is not None:
        raise BadRequest(f"item {uuid} is a frame of {row['composite']}; act on that item instead")
    return row


def _list(ctx: Ctx, folders: list[str] | None) -> Any:
    q = ctx.query
    item_types = [parse_enum("itemTypes", v, StorageItemType).value for v in q.all("itemTypes")]
    order = q.enum("order", SortBy, SortBy.NAME).value
    desc = bool(q.bool("desc", False))
    size = q.page_size()
    after = decode_token(q.get("pageToken"), order)
    sign = bool(q.bool("signUrls", False))
    include_metadata = bool(q.bool("includeClientMetadata", True))
    q.bool("clientMetadataAsSignedUrl", False)
    if q.bool("includeOrgAccess", False):
        ctx.principal.require_write()
    rows = ctx.store.list_items(folders, q.get("search"), item_types, q.bool("isInDataset"), order, desc, after, size + 1)
    render = ctx.renderer()
    return page([render.wire(r, sign, include_metadata) for r in rows[:size]], rows, size, order)


async def list_items(ctx: Ctx) -> Any:
    folder = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    recursive = ctx.query.bool("isRecursive", False)
    return _list(ctx, [folder, *ctx.store.descendant_folders(folder)] if recursive else [folder])


async def search_items(ctx: Ctx) -> Any:
    ctx.query.bool("isRecursive", False)
    return _list(ctx, None)


async def get_item(ctx: Ctx) -> Any:
    row = existing_item(ctx, ctx.path_uuid("item"))
    return ctx.renderer().wire(row, bool(ctx.query.bool("signUrl", False)))


async def get_items_bulk(ctx: Ctx) -> Any:
    data = ctx.json()
    uuids = uuid_list(data, "itemUuids")
    sign = parse_bool("signUrls", data.get("signUrls", False))
    rows = [existing_item(ctx, u) for u in uuids]
    render = ctx.renderer()
    return single_page([render.wire(r, sign) for r in rows])


def _patch_item(ctx: Ctx, row: Row, patch: Any) -> None:
    if not isinstance(patch, dict):
        raise BadRequest("an item patch must be a JSON object")
    changes: dict[str, Any] = {}
    if patch.get("name") is not None:
        changes["name"] = string(patch, "name", allow_empty=False)
    if patch.get("clientMetadata") is not None:
        changes["client_metadata"] = metadata_object(patch, "clientMetadata")
    string(patch, "description")
    if not changes:
        return
    changes["last_edited_at"] = time.time()
    assignments = ", ".join(f"{k}=?" for k in changes)
    with ctx.store.tx() as db:
        db.execute(f"UPDATE items SET {assignments} WHERE uuid=?", [*changes.values(), row["uuid"]])


async def patch_item(ctx: Ctx) -> Any:
    folder = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    row = existing_item(ctx, ctx.path_uuid("item"))
    if row["folder"] != folder:
        raise BadRequest(f"item {row['uuid']} is not in folder {folder}")
    _patch_item(ctx, row, ctx.json())
    return ctx.renderer().wire(existing_item(ctx, row["uuid"]))


async def patch_items_bulk(ctx: Ctx) -> Any:
    patches = required(ctx.json(), "itemPatches")
    if not isinstance(patches, dict):
        raise BadRequest("itemPatches must be an object of item UUID -> patch")
    rows = [existing_item(ctx, parse_uuid("itemPatches key", key)) for key in patches]
    for row, patch in zip(rows, patches.values()):
        _patch_item(ctx, row, patch)
    render = ctx.renderer()
    return single_page([render.wire(existing_item(ctx, r["uuid"])) for r in rows])


async def move_items(ctx: Ctx) -> Any:
    folder = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    data = ctx.json()
    uuids = in_order(uuid_list(data, "itemUuids"))
    target = existing_folder(ctx, parse_uuid("newParentUuid", required(data, "newParentUuid")))["uuid"]
    parse_bool("allowSyncedDatasetMove", data.get("allowSyncedDatasetMove", False))
    for uuid in uuids:
        item_in_folder(ctx, folder, uuid)
    now = time.time()
    with ctx.store.tx() as db:
        for uuid in uuids:
            db.execute("UPDATE items SET folder=?, last_edited_at=? WHERE uuid=? OR composite=?", (target, now, uuid, uuid))
    return None


async def delete_items(ctx: Ctx) -> Any:
    """Delete items (and empty subfolders) of one folder; items used in datasets are refused."""
    folder = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    data = ctx.json()
    uuids = in_order(uuid_list(data, "childUuids"))
    remove_frames = parse_bool("removeUnusedFrames", data.get("removeUnusedFrames", True))
    items, folders = [], []
    for uuid in uuids:
        sub = ctx.store.folder(uuid)
        if sub is not None and sub["parent"] == folder:
            folders.append(uuid)
            continue
        row = item_in_folder(ctx, folder, uuid)
        if row["backed_data_units_count"] > 0:
            raise BadRequest(f"item {uuid} is used in {row['backed_data_units_count']} dataset(s); remove it from them first")
        items.append(row)
    for uuid in folders:
        if ctx.store.one("SELECT 1 AS x FROM folders WHERE parent=? UNION ALL SELECT 1 FROM items WHERE folder=?", (uuid, uuid)):
            raise BadRequest(f"folder {uuid} is not empty")
    doomed = list(items)
    with ctx.store.tx() as db:
        for row in items:
            if remove_frames:
                doomed.extend(ctx.store.children(row["uuid"]))
                db.execute("DELETE FROM items WHERE composite=?", (row["uuid"],))
            else:
                db.execute("UPDATE items SET composite=NULL, child_index=NULL WHERE composite=?", (row["uuid"],))
            db.execute("DELETE FROM items WHERE uuid=?", (row["uuid"],))
        for uuid in folders:
            db.execute("DELETE FROM folders WHERE uuid=?", (uuid,))
    for row in doomed:
        _remove_blob(ctx, row)
    return {"removedItemsCount": len(items), "removedFoldersCount": len(folders)}


def _remove_blob(ctx: Ctx, row: Row) -> None:
    """Delete the bytes of an Encord-hosted item (never an integration's files)."""
    if row["storage_location"] != "encord" or not row["blob_path"]:
        return
    path = ctx.store.blob_file(row)
    if path is not None:
        path.unlink(missing_ok=True)


async def item_summary(ctx: Ctx) -> Any:
    folder = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    row = existing_item(ctx, ctx.path_uuid("item"))
    if row["folder"] != folder:
        raise BadRequest(f"item {row['uuid']} is not in folder {folder}")
    ctx.query.bool("includeGroupLayout", False)
    groups = []
    if row["composite"] is not None:
        parent = existing_item(ctx, row["composite"])
        parent_folder = existing_folder(ctx, parent["folder"])
        groups.append(
            {
                "uuid": parent["uuid"],
                "name": parent["name"],
                "parentUuid": parent["folder"],
                "parentName": parent_folder["name"],
                "itemType": parent["item_type"],
            }
        )
    return {
        "frameInGroups": len(groups),
        "accessibleGroupItems": groups,
        "usedInDatasets": row["backed_data_units_count"],
        "accessibleDatasets": [],
    }


async def child_items(ctx: Ctx) -> Any:
    folder = existing_folder(ctx, ctx.path_uuid("folder"))["uuid"]
    row = item_in_folder(ctx, folder, ctx.path_uuid("item"))
    sign = bool(ctx.query.bool("signUrls", False))
    render = ctx.renderer()
    return single_page([render.wire(c, sign) for c in ctx.store.children(row["uuid"])])


async def start_reencode(ctx: Ctx) -> Any:
    data = ctx.json()
    uuids = uuid_list(data, "storageItems")
    if not uuids:
        raise BadRequest("storageItems must name at least one video")
    string(data, "processTitle")
    parse_bool("forceFullReencoding", data.get("forceFullReencoding", False))
    for uuid in uuids:
        if existing_item(ctx, uuid)["item_type"] != StorageItemType.VIDEO.value:
            raise BadRequest(f"item {uuid} is not a video")
    process = str(uuidlib.uuid4())
    ready_at = time.time() + ctx.emulator.settings.reencode_delay_seconds
    with ctx.store.tx() as db:
        db.execute(
            "INSERT INTO reencodes (uuid, status, result, ready_at) VALUES (?,?,?,?)",
            (process, ReencodeStatus.SUBMITTED.value, json.dumps(uuids), ready_at),
        )
    return process


def _reencoded(ctx: Ctx, uuid: str) -> dict[str, Any]:
    """One video's outcome, decided when the process finishes: its bytes must still be there
    (a private-data video whose object left the bucket fails, as a real transcoder would)."""
    item = ctx.store.item(uuid)
    path = None if item is None else ctx.store.blob_file(item)
    if path is None or not path.is_file():
        return {"itemUuid": uuid, "status": ReencodeStatus.ERROR.value, "error": "the video's content cannot be read"}
    return {"itemUuid": uuid, "status": ReencodeStatus.DONE.value}


async def reencode_status(ctx: Ctx) -> Any:
    """``submitted`` until ``--reencode-delay`` has passed, then ``done`` (or ``error`` when a video
    failed) with one result per video; the outcome is kept, so later polls agree."""
    process = ctx.path_uuid("process")
    row = ctx.store.one("SELECT * FROM reencodes WHERE uuid=?", (process,))
    if row is None:
        raise Forbidden(f"re-encoding process {process} does not exist")
    if time.time() < row["ready_at"]:
        return {"status": ReencodeStatus.SUBMITTED.value, "result": None}
    if row["status"] == ReencodeStatus.SUBMITTED.value:
        result = [_reencoded(ctx, uuid) for uuid in json.loads(row["result"])]
        failed = any(r["status"] == ReencodeStatus.ERROR.value for r in result)
        status = ReencodeStatus.ERROR.value if failed else ReencodeStatus.DONE.value
        with ctx.store.tx() as db:
            db.execute("UPDATE reencodes SET status=?, result=? WHERE uuid=? AND status=?",
                       (status, json.dumps(result), process, ReencodeStatus.SUBMITTED.value))
        row = ctx.store.one("SELECT * FROM reencodes WHERE uuid=?", (process,)) or row
    return {"status": row["status"], "result": json.loads(row["result"])}


routes = [
    Route(f"{PREFIX}/search/items", api(search_items), methods=["GET"]),
    Route(f"{PREFIX}/items/get-bulk", api(get_items_bulk), methods=["POST"]),
    Route(f"{PREFIX}/items/patch-bulk", api(patch_items_bulk), methods=["PATCH"]),
    Route(f"{PREFIX}/items/reencode", api(start_reencode), methods=["POST"]),
    Route(f"{PREFIX}/items/reencode/{{process}}", api(reencode_status), methods=["GET"]),
    Route(f"{PREFIX}/items/{{item}}", api(get_item), methods=["GET"]),
    Route(f"{PREFIX}/folders/{{folder}}/items", api(list_items), methods=["GET"]),
    Route(f"{PREFIX}/folders/{{folder}}/items/move", api(move_items), methods=["POST"]),
    Route(f"{PREFIX}/folders/{{folder}}/items/delete", api(delete_items), methods=["POST"]),
    Route(f"{PREFIX}/folders/{{folder}}/items/{{item}}", api(patch_item), methods=["PATCH"]),
    Route(f"{PREFIX}/folders/{{folder}}/items/{{item}}/summary", api(item_summary), methods=["GET"]),
    Route(f"{PREFIX}/folders/{{folder}}/items/{{item}}/child-items", api(child_items), methods=["GET"]),
]
