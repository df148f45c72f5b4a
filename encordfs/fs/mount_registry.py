"""Which cache dir each running mount uses, so ``encordfs status`` can show its pending uploads.

A mount writes one small JSON file, ``<runtime dir>/mounts/<hash of the mount point>.json``, once
it is mounted, and removes it when it ends. The runtime dir does not depend on the shell's
``$XDG_RUNTIME_DIR`` (a mount started from cron, sudo or another session must be found from any
shell): it is ``$ENCORDFS_RUNTIME_DIR`` if set, else ``/run/user/<uid>/encordfs`` when
``/run/user/<uid>`` is ours, else ``/run/encordfs`` for root and ``/tmp/encordfs-<uid>`` (0700, ours,
or not used) for other users. Readers also look in ``$XDG_RUNTIME_DIR/encordfs``, where older
versions wrote.

The entry is a JSON object: ``version`` (1), ``mountpoint``, ``cache_dir``, ``pid``, plus any
fields a feature adds (``register_mount(..., fields=...)``); readers keep what they do not know
in ``MountEntry.fields``. Only mount points in /proc/mounts whose entry's process is alive are
reported with their cache dir, so a file a crashed mount left behind is never believed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass(frozen=True)
class MountEntry:
    mountpoint: Path
    cache_dir: Path | None  # None: a mount that wrote no entry (another user's, or an older version)
    pid: int | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)  # the whole entry, extensions included

    @property
    def control_socket(self) -> Path | None:
        """Where ``encordfs.control`` reaches the mount process (None: a mount without one)."""
        socket = self.fields.get("control_socket")
        return Path(socket) if isinstance(socket, str) else None


def runtime_dir() -> Path:
    """Where this user's mounts write their entries."""
    if os.environ.get("ENCORDFS_RUNTIME_DIR"):
        return Path(os.environ["ENCORDFS_RUNTIME_DIR"])
    uid = os.getuid()
    user_run = Path(f"/run/user/{uid}")
    if _ours(user_run):
        return user_run / "encordfs"
    return Path("/run/encordfs") if uid == 0 else Path(f"/tmp/encordfs-{uid}")


def _search_dirs() -> list[Path]:
    """Where entries may be: ours first, then where older versions (or another environment) wrote."""
    if os.environ.get("ENCORDFS_RUNTIME_DIR"):
        return [runtime_dir()]
    dirs = [runtime_dir()]
    if os.environ.get("XDG_RUNTIME_DIR"):
        dirs.append(Path(os.environ["XDG_RUNTIME_DIR"]) / "encordfs")
    dirs.append(Path(f"/tmp/encordfs-{os.getuid()}"))
    return list(dict.fromkeys(dirs))


def _ours(path: Path) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()


def _entry_name(mountpoint: Path) -> str:
    return hashlib.sha256(str(mountpoint).encode()).hexdigest()[:16] + ".json"


def control_socket_path(mountpoint: Path) -> Path:
    """The mount's control socket: next to its entry, in the 0700 ``mounts`` dir."""
    return runtime_dir() / "mounts" / _entry_name(mountpoint).replace(".json", ".sock")


def _private_dir(path: Path) -> None:
    """``path`` made (0700) if missing; refused if someone else owns it or may write to it (a
    shared /tmp)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PermissionError(f"{path} is not a private directory of this user")


def register_mount(mountpoint: Path, cache_dir: Path, fields: Mapping[str, Any] | None = None) -> None:
    """Record the mount (atomically: a reader never sees half a file), with extra ``fields``.
    Failing to is logged, never fatal: only ``encordfs status`` needs it."""
    directory = runtime_dir()
    path = directory / "mounts" / _entry_name(mountpoint)
    entry = {**(fields or {}), "version": FORMAT_VERSION, "mountpoint": str(mountpoint), "cache_dir": str(cache_dir),
             "pid": os.getpid()}
    try:
        _private_dir(directory)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps(entry))
        os.replace(temp, path)
    except OSError as exc:
        log.warning("cannot record the mount in %s (encordfs status will not show its uploads): %s", path, exc)


def forget_mount(mountpoint: Path) -> None:
    """Remove the mount's entry, unless a newer mount on the same point has replaced it."""
    path = runtime_dir() / "mounts" / _entry_name(mountpoint)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def read_entry(mountpoint: Path) -> MountEntry:
    """The entry a live mount on ``mountpoint`` wrote, from the first directory that has one."""
    for directory in _search_dirs():
        try:
            data = json.loads((directory / "mounts" / _entry_name(mountpoint)).read_text())
            if not isinstance(data, dict) or data.get("mountpoint") != str(mountpoint) or not _alive(data.get("pid")):
                continue
            return MountEntry(mountpoint, Path(data["cache_dir"]), data["pid"], data)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return MountEntry(mountpoint, None)


def _unoctal(text: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as \\ooo octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def active_mounts(proc_mounts: Path = Path("/proc/mounts")) -> list[MountEntry]:
    """Every encordfs mount point in the mount table (once, even if mounts are stacked on it),
    with its cache dir where its live mount recorded one."""
    mountpoints: dict[Path, None] = {}
    for line in proc_mounts.read_text().splitlines():
        source, target, fstype, *_ = line.split()
        if fstype == "fuse.encordfs" or source == "encordfs":
            mountpoints[Path(_unoctal(target))] = None
    return [read_entry(mountpoint) for mountpoint in mountpoints]
