"""Which cache dir each running mount uses, so ``encordfs status`` can show its pending uploads.

A mount writes one small JSON file, ``<runtime dir>/mounts/<hash of the mount point>.json``
(mount point, cache dir, control socket, pid), once it is mounted, and removes it when it ends. The runtime dir is
``$ENCORDFS_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/encordfs``, else ``/run/encordfs`` for root and
``/tmp/encordfs-<uid>`` for others. Only mount points in /proc/mounts are reported, so a file a
crashed mount left behind is never shown (and the next mount there overwrites it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MountEntry:
    mountpoint: Path
    cache_dir: Path | None  # None: a mount that wrote no entry (another user's, or an older version)
    control_socket: Path | None = None  # where ``encordfs.control`` reaches the mount process


def runtime_dir() -> Path:
    if os.environ.get("ENCORDFS_RUNTIME_DIR"):
        return Path(os.environ["ENCORDFS_RUNTIME_DIR"])
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "encordfs"
    return Path("/run/encordfs") if os.getuid() == 0 else Path(f"/tmp/encordfs-{os.getuid()}")


def _entry_path(mountpoint: Path) -> Path:
    key = hashlib.sha256(str(mountpoint).encode()).hexdigest()[:16]
    return runtime_dir() / "mounts" / f"{key}.json"


def control_socket_path(mountpoint: Path) -> Path:
    """The mount's control socket: next to its entry, in the 0700 ``mounts`` dir."""
    return _entry_path(mountpoint).with_suffix(".sock")


def register_mount(mountpoint: Path, cache_dir: Path, control_socket: Path | None = None) -> None:
    """Record the mount's cache dir (atomically: a reader never sees half a file). Failing to is
    logged, never fatal: only ``encordfs status`` needs it."""
    path = _entry_path(mountpoint)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        entry = {"mountpoint": str(mountpoint), "cache_dir": str(cache_dir), "pid": os.getpid()}
        if control_socket is not None:
            entry["control_socket"] = str(control_socket)
        temp.write_text(json.dumps(entry))
        os.replace(temp, path)
    except OSError as exc:
        log.warning("cannot record the mount in %s (encordfs status will not show its uploads): %s", path, exc)


def forget_mount(mountpoint: Path) -> None:
    """Remove the mount's entry, unless a newer mount on the same point has replaced it."""
    path = _entry_path(mountpoint)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def _entry_of(mountpoint: Path) -> MountEntry:
    try:
        entry = json.loads(_entry_path(mountpoint).read_text())
        if entry.get("mountpoint") != str(mountpoint):
            return MountEntry(mountpoint, None)
        socket = entry.get("control_socket")
        return MountEntry(mountpoint, Path(entry["cache_dir"]), Path(socket) if socket else None)
    except (OSError, ValueError, KeyError, TypeError):
        return MountEntry(mountpoint, None)


def _unoctal(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as \\ooo octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def active_mounts(proc_mounts: Path = Path("/proc/mounts")) -> list[MountEntry]:
    """Every encordfs mount in the mount table, with its cache dir where it recorded one."""
    entries = []
    for line in proc_mounts.read_text().splitlines():
        source, target, fstype, *_ = line.split()
        if fstype == "fuse.encordfs" or source == "encordfs":
            entries.append(_entry_of(Path(_unoctal(target))))
    return entries
