"""The CLI's side of the control channel: find the mount serving a path, ask it, read the answer.

The mount is the encordfs entry of /proc/mounts with the longest mount point containing the path;
its control socket comes from the mount registry (``encordfs/fs/mount_registry.py``).
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from encordfs.control import protocol
from encordfs.control.protocol import ControlError, Json
from encordfs.fs.mount_registry import active_mounts

Progress = Callable[[Json], None]


@dataclass(frozen=True)
class MountTarget:
    """A path inside a mount: the mount point, its control socket and the path relative to it."""

    mountpoint: Path
    socket: Path
    relative: str  # "" for the mount point itself, else "a/b/c" (names as ls shows them)

    def mount_path(self, relative: str) -> Path:
        """The absolute path of a mount-relative path the mount answered with."""
        return self.mountpoint / relative if relative else self.mountpoint


def find_mount(path: str | Path, proc_mounts: Path = Path("/proc/mounts")) -> MountTarget:
    """The mount serving ``path`` (which need not exist yet); ControlError if none does."""
    absolute = Path(os.path.realpath(os.path.abspath(path)))
    best = None
    for entry in active_mounts(proc_mounts):
        if absolute == entry.mountpoint or absolute.is_relative_to(entry.mountpoint):
            if best is None or len(entry.mountpoint.parts) > len(best.mountpoint.parts):
                best = entry
    if best is None:
        raise ControlError(f"{path}: not inside an encordfs mount", errno.EINVAL)
    if best.control_socket is None:
        raise ControlError(
            f"{path}: the encordfs mount on {best.mountpoint} has no control socket for you "
            "(another user's mount, or started by an older encordfs)", errno.ENOTCONN)
    relative = absolute.relative_to(best.mountpoint).as_posix()
    return MountTarget(best.mountpoint, best.control_socket, "" if relative == "." else relative)


def _connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError as exc:
        sock.close()
        raise ControlError(f"cannot reach the mount's control socket {path}: {exc.strerror or exc}", exc.errno or errno.EIO) from exc
    return sock


def call(socket_path: Path, op: str, args: Json, on_progress: Progress | None = None) -> Any:
    """Send one request and return its result; each progress line goes to ``on_progress`` as it
    arrives (so a search prints its first page at once). Raises ControlError on an error line."""
    with _connect(socket_path) as sock:
        try:
            sock.sendall(protocol.request(op, args))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the mount refused us and hung up: its error line is still there to read
        with sock.makefile("rb") as replies:
            while True:
                line = replies.readline(protocol.MAX_LINE + 1)
                if not line:
                    raise ControlError("the mount closed the control connection without an answer (did it stop?)", errno.EPIPE)
                message = protocol.decode(line)
                if "progress" in message:
                    if on_progress is not None:
                        on_progress(message["progress"])
                elif "result" in message:
                    return message["result"]
                elif "error" in message:
                    error = message["error"] or {}
                    raise ControlError(str(error.get("message", "unknown error")), int(error.get("errno") or errno.EIO))
                else:
                    raise ControlError(f"unexpected control message {sorted(message)}", errno.EPROTO)


def call_at(path: str | Path, op: str, args: Json | None = None, on_progress: Progress | None = None) -> tuple[MountTarget, Any]:
    """``call`` on the mount serving ``path``, with ``args["path"]`` set to the mount-relative path."""
    target = find_mount(path)
    return target, call(target.socket, op, {"path": target.relative, **(args or {})}, on_progress)
