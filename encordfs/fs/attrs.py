"""File attributes for nodes, in plain Python (the FUSE adapter turns them into EntryAttributes)."""

from __future__ import annotations

import stat
import time
from dataclasses import dataclass
from datetime import datetime

from encordfs.fs.inodes import Kind, Node

BLOCK_SIZE = 4096


@dataclass(frozen=True)
class Ownership:
    uid: int
    gid: int
    umask: int
    read_only: bool


@dataclass(frozen=True, slots=True)  # one is kept per listed node (see Filesystem._attrs)
class Attrs:
    ino: int
    mode: int
    size: int
    nlink: int
    uid: int
    gid: int
    mtime_ns: int
    ctime_ns: int
    atime_ns: int

    @property
    def blocks(self) -> int:
        """512-byte blocks, as du counts them."""
        return (self.size + 511) // 512

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)


def _ns(value: datetime | None, default: int) -> int:
    return default if value is None else int(value.timestamp() * 1e9)


def _times(node: Node, mount_time_ns: int) -> tuple[int, int]:
    model = node.item or node.folder
    if model is None:
        return mount_time_ns, mount_time_ns
    return _ns(model.last_edited_at, mount_time_ns), _ns(model.created_at, mount_time_ns)


def attrs_for(node: Node, size: int, own: Ownership, mount_time_ns: int) -> Attrs:
    """``size`` is the content size for files (the caller resolves unknown sizes)."""
    writable = not (own.read_only or node.kind.read_only)
    if node.kind.is_dir:
        perm = 0o777 if writable else 0o555
        mode = stat.S_IFDIR | (perm & ~own.umask)
        size = BLOCK_SIZE
    else:
        perm = 0o666 if writable else 0o444
        mode = stat.S_IFREG | (perm & ~own.umask)
    mtime, ctime = _times(node, mount_time_ns)
    if node.kind is Kind.PENDING:
        mtime = ctime = time.time_ns()
    return Attrs(
        ino=node.ino,
        mode=mode,
        size=size,
        nlink=1,  # for directories: "subdirectory count unknown", so find never prunes by link count
        uid=own.uid,
        gid=own.gid,
        mtime_ns=mtime,
        ctime_ns=max(ctime, mtime),
        atime_ns=mtime,
    )
