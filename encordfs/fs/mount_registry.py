"""Which cache dir each running mount uses, so ``encordfs status`` can show its pending uploads.

A mount writes one small JSON file, ``<runtime dir>/mounts/<hash of the mount point>.json``
(mount point, cache dir, pid), once it is mounted, and removes it when it ends. The runtime dir is
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


def runtime_dir() -> Path:
    if os.environ.get("ENCORDFS_RUNTIME_DIR"):
        return Path(os.environ["ENCORDFS_RUNTIME_DIR"])
    if os.environ.get("XDG_RUNTIME_DIR"):
        return Path(os.environ["XDG_RUNTIME_DIR"]) / "encordfs"
    return Path("/run/encordfs") if os.getuid() == 0 else Path(f"/tmp/encordfs-{os.getuid()}")


def _entry_path(mountpoint: Path) -> Path:
    key = hashlib.sha256(str(mountpoint).encode()).hexdigest()[:16]
    return runtime_dir() / "mounts" / f"{key}.json"


def register_mount(mountpoint: Path, cache_dir: Path) -> None:
    """Record the mount's cache dir (atomically: a reader never sees half a file). Failing to is
    logged, never fatal: only ``encordfs status`` needs it."""
    path = _entry_path(mountpoint)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps({"mountpoint": str(mountpoint), "cache_dir": str(cache_dir), "pid": os.getpid()}))
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


def _cache_dir_of(mountpoint: Path) -> Path | None:
    try:
        entry = json.loads(_entry_path(mountpoint).read_text())
        return Path(entry["cache_dir"]) if entry.get("mountpoint") == str(mountpoint) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _unoctal(field: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as \\ooo octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def active_mounts(proc_mounts: Path = Path("/proc/mounts")) -> list[MountEntry]:
    """Every encordfs mount in the mount table, with its cache dir where it recorded one."""
    entries = []
    for line in proc_mounts.read_text().splitlines():
        source, target, fstype, *_ = line.split()
        if fstype == "fuse.encordfs" or source == "encordfs":
            mountpoint = Path(_unoctal(target))
            entries.append(MountEntry(mountpoint, _cache_dir_of(mountpoint)))
    return entries
