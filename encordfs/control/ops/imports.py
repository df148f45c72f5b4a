"""``import`` and ``import-status``: a private-data import (Encord's JSON spec of objects in a cloud
integration) into a folder of the mount, its progress and what it added and what failed."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any
from uuid import UUID

from encordfs.control.ops.common import folder_at, folder_uuid, shown, storage_of
from encordfs.control.protocol import ControlError, Json
from encordfs.control.registry import Emit, operation
from encordfs.fs.mountpaths import MountPaths
from encordfs.fs.refresh import refresh
from encordfs.storage.interface import CommandStorage
from encordfs.wire.enums import UploadJobStatus
from encordfs.wire.models import UploadJobState

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem
    from encordfs.fs.inodes import Node

POLL_SECONDS = 1  # one long poll (answered as soon as the job ends); a progress line after each


async def _integration(storage: CommandStorage, wanted: str) -> UUID:
    try:
        found = await storage.list_integrations(uuids=[UUID(wanted)])
    except ValueError:
        found = await storage.list_integrations(titles=[wanted])
    if not found:
        raise ControlError(f"no cloud integration {wanted!r} that you can use", errno.ENOENT)
    if len(found) > 1:
        ids = ", ".join(str(i.uuid) for i in found)
        raise ControlError(f"{len(found)} integrations are titled {wanted!r}: give one of their UUIDs ({ids})", errno.EINVAL)
    return found[0].uuid


def _progress(state: UploadJobState) -> Json:
    return {"status": state.status.value, "done": state.units_done_count, "failed": state.units_error_count,
            "pending": state.units_pending_count, "cancelled": state.units_cancelled_count}


async def _outcome(fs: Filesystem, node: Node, path: str, job: UUID, wait: bool, emit: Emit) -> Json:
    storage = storage_of(fs)
    folder = folder_uuid(node, path)
    state = await storage.upload_job_state(folder, job, timeout_seconds=POLL_SECONDS if wait else 0)
    while wait and not state.status.finished:
        await emit(_progress(state))
        state = await storage.upload_job_state(folder, job, timeout_seconds=POLL_SECONDS)
    if state.status is UploadJobStatus.DONE:  # the mount lists the new items at once
        refresh(fs, node, path.rpartition("/")[2] or None, recursive=False)
    return {
        "job": str(job), "path": path, **_progress(state),
        "added": await _added(fs, state),
        "failures": [{"objects": list(e.object_urls), "error": e.error} for e in state.unit_errors],
        "errors": list(state.errors),
    }


async def _added(fs: Filesystem, state: UploadJobState) -> list[Json]:
    uuids = [uuid for uuid, _ in state.items_with_names]
    if not uuids:
        return []
    paths = MountPaths(fs)
    added = []
    for item in await storage_of(fs).get_items(uuids):
        added.append({"uuid": str(item.uuid), "name": item.name, "path": await paths.item_path(item)})
    return added


@operation("import")
async def import_private_data(fs: Filesystem, args: Json, emit: Emit) -> Json:
    """``args``: ``path`` (a folder), ``integration`` (title or UUID), ``manifest`` (the JSON
    spec), ``file_name``, ``ignore_errors`` (keep the good objects when some fail), ``wait``."""
    path = str(args.get("path", "")).strip("/")
    node = await folder_at(fs, path)
    folder = folder_uuid(node, path)
    manifest: Any = args.get("manifest")
    if not isinstance(manifest, dict) or not manifest:
        raise ControlError("the manifest must be a JSON object (Encord's import format)", errno.EINVAL)
    storage = storage_of(fs)
    integration = await _integration(storage, str(args.get("integration") or ""))
    job = await storage.add_private_data(folder, integration, external_files=manifest,
                                         ignore_errors=bool(args.get("ignore_errors")), file_name=args.get("file_name"))
    await emit({"job": str(job)})
    return await _outcome(fs, node, path, job, bool(args.get("wait")), emit)


@operation("import-status")
async def import_status(fs: Filesystem, args: Json, emit: Emit) -> Json:
    path = str(args.get("path", "")).strip("/")
    node = await folder_at(fs, path)
    try:
        job = UUID(str(args.get("job")))
    except ValueError as exc:
        raise ControlError(f"{args.get('job')!r} is not an import job ID", errno.EINVAL) from exc
    if node.uuid is None:
        raise ControlError(f"{shown(path)}: name the folder the import went to", errno.EINVAL)
    return await _outcome(fs, node, path, job, bool(args.get("wait")), emit)
