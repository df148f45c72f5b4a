"""``sync``: wait until the uploads pending under a path are on the server (``encordfs sync``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from encordfs.control.protocol import Json
from encordfs.control.registry import Emit, operation
from encordfs.fs.upload_state import Failed, Gone, Landed, PendingFile

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem

PROGRESS_EVERY = 0.25  # seconds between progress lines


@operation("sync")
async def sync(fs: Filesystem, args: Json, emit: Emit) -> Any:
    """Wait (up to ``args["timeout"]`` seconds, if given) for the files pending under
    ``args["path"]`` when the call began; ``args["retry"]``: failed ones are tried again first.
    The result counts what landed and names each failed file with its reason."""
    node = await fs.resolve_path(str(args.get("path", "")))
    files = fs.uploads_under(node)
    if args.get("retry"):
        await fs.retry_uploads(files)
    timeout = args.get("timeout")
    total_bytes = sum(fs.pending_size(f) for f in files)
    timed_out = True
    with trio.move_on_after(float(timeout) if timeout is not None else float("inf")):
        while True:
            waiting = [f for f in files if not _ended(f)]
            await emit(_progress(fs, files, waiting, total_bytes))
            if not waiting:
                timed_out = False
                break
            await trio.sleep(PROGRESS_EVERY)
    failed = [f for f in files if isinstance(f.state, Failed)]
    return {
        "landed": sum(1 for f in files if isinstance(f.state, (Landed, Gone))),
        "failed": [{"path": fs.mount_path(f), "reason": f.upload_error} for f in failed],
        "waiting": [{"path": fs.mount_path(f), "state": f.phase.value, "error": f.upload_error} for f in files if not _ended(f)],
        "timed_out": timed_out,
    }


def _ended(file: PendingFile) -> bool:
    return isinstance(file.state, (Landed, Gone, Failed))


def _progress(fs: Filesystem, files: list[PendingFile], waiting: list[PendingFile], total_bytes: int) -> Json:
    left = sum(fs.pending_size(f) for f in waiting)
    return {"done_files": len(files) - len(waiting), "total_files": len(files),
            "done_bytes": max(0, total_bytes - left), "total_bytes": total_bytes}
