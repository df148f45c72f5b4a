"""``encordfs unmount`` on a terminal: a progress line while the unmounted filesystem finishes its
uploads (the mount process keeps its control socket open until its drain is done)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from encordfs.control.client import MountTarget, call, find_mount
from encordfs.control.protocol import ControlError
from encordfs.progress import progress_line


def drain_target(mountpoint: Path) -> MountTarget | None:
    """The mount's control socket, found before unmounting (None: not asked, nothing shown)."""
    if not sys.stderr.isatty():
        return None
    try:
        return find_mount(mountpoint)
    except ControlError:
        return None


def follow_drain(target: MountTarget) -> None:
    """Show the uploads the unmounted filesystem finishes until they are done (or it exited).
    Ctrl-C stops following; the uploads go on in the mount process."""
    try:
        with progress_line(f"unmount {target.mountpoint}: uploading") as line:

            def show(progress: dict[str, Any]) -> None:
                line.update(progress["done_files"], progress["total_files"], progress["done_bytes"], progress["total_bytes"])

            result = call(target.socket, "sync", {"path": ""}, show)
    except ControlError:  # the mount had nothing left to do and is gone already
        return
    except KeyboardInterrupt:
        print(f"encordfs: {target.mountpoint} is unmounted; its uploads go on in the background", file=sys.stderr)
        return
    for failed in result["failed"]:
        print(f"encordfs: upload failed: {target.mount_path(failed['path'])}: {failed['reason']}", file=sys.stderr)
