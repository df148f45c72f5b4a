"""``reencode`` and ``reencode-status``: Encord's video re-encoding, started on items in the mount,
optionally waited for with progress lines ``{"status": ...}`` while the process runs."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING
from uuid import UUID

import trio

from encordfs.control.ops.common import item_at, shown, storage_of
from encordfs.control.protocol import ControlError, Json
from encordfs.control.registry import Emit, operation
from encordfs.storage.interface import CommandStorage
from encordfs.storage.models import ReencodeState
from encordfs.wire.enums import ReencodeStatus, StorageItemType

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem

POLL_SECONDS = 1.0


def _state_json(process: UUID, state: ReencodeState) -> Json:
    return {"process": str(process), "status": state.status.value, "result": state.result}


async def _settled(storage: CommandStorage, process: UUID, emit: Emit, wait: bool) -> Json:
    state = await storage.reencode_status(process)
    while wait and state.status is ReencodeStatus.SUBMITTED:
        await emit({"status": state.status.value})
        await trio.sleep(POLL_SECONDS)
        state = await storage.reencode_status(process)
    return _state_json(process, state)


@operation("reencode")
async def reencode(fs: Filesystem, args: Json, emit: Emit) -> Json:
    """``args``: ``paths`` (mount-relative videos), ``title``, ``force_full``, ``wait``."""
    paths = [str(p) for p in args.get("paths") or ()]
    if not paths:
        raise ControlError("name at least one video", errno.EINVAL)
    videos = []
    for path in paths:
        item = await item_at(fs, path)
        if item.item_type is not StorageItemType.VIDEO:
            raise ControlError(f"{shown(path)}: not a video (it is {item.item_type.value})", errno.EINVAL)
        videos.append(item.uuid)
    storage = storage_of(fs)
    process = await storage.reencode_videos(videos, str(args.get("title") or "encordfs reencode"),
                                            force_full_reencoding=bool(args.get("force_full")))
    await emit({"process": str(process)})
    return await _settled(storage, process, emit, bool(args.get("wait")))


@operation("reencode-status")
async def reencode_status(fs: Filesystem, args: Json, emit: Emit) -> Json:
    try:
        process = UUID(str(args.get("process")))
    except ValueError as exc:
        raise ControlError(f"{args.get('process')!r} is not a re-encoding process ID", errno.EINVAL) from exc
    return await _settled(storage_of(fs), process, emit, bool(args.get("wait")))
