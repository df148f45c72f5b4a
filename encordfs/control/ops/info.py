"""``info``: what Encord knows of the item or folder at a path (fetched now, not from the caches)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from encordfs.control.ops.common import folder_json, item_at, item_json, storage_of
from encordfs.control.protocol import Json
from encordfs.control.registry import Emit, operation
from encordfs.fs.inodes import Kind

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem


@operation("info")
async def info(fs: Filesystem, args: Json, emit: Emit) -> Json:
    path = str(args.get("path", ""))
    node = await fs.resolve_path(path)
    storage = storage_of(fs)
    if node.kind in (Kind.FOLDER, Kind.ROOT):
        if node.uuid is None:
            top = [f.name async for f in storage.iter_folders(None)]
            return {"kind": "storage root", "path": path, "folders": len(top)}
        folder = await storage.get_folder(node.uuid)
        summary = await storage.folder_summary(node.uuid)
        return {**folder_json(folder), "path": path, "summary": asdict(summary)}
    item = await item_at(fs, path, frames=True)
    fresh = await storage.get_item(item.uuid)
    summary = await storage.item_summary(fresh)
    answer = {**item_json(fresh), "path": path}
    answer["dataset_links"] = {
        "count": summary.used_in_datasets,
        "datasets": [{"hash": d.dataset_hash, "title": d.title} for d in summary.accessible_datasets],
    }
    if fresh.item_type.is_composite:
        frames = await storage.child_items(fresh)
        answer["frames"] = [{"uuid": str(f.uuid), "name": f.name, "size": f.file_size} for f in frames]
    return answer
