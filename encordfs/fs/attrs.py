"""File attributes for nodes, in plain Python (the FUSE adapter turns them into EntryAttributes)."""

from __future__ import annotations

import functools
import stat
import time
from dataclasses import dataclass
from typing import NamedTuple

from encordfs.fs.inodes import Kind, Node
from encordfs.wire.models import datetime_ns

BLOCK_SIZE = 4096
_new_tuple = tuple.__new__


@dataclass(frozen=True)
class Ownership:
    uid: int
    gid: int
    umask: int
    read_only: bool

    @functools.cached_property
    def modes(self) -> dict[tuple[bool, bool], int]:
        """st_mode by (is a directory, writable), worked out once per mount."""
        modes = {}
        for is_dir in (False, True):
            for writable in (False, True):
                kind, perm = (stat.S_IFDIR, 0o777 if writable else 0o555) if is_dir else (stat.S_IFREG, 0o666 if writable else 0o444)
                modes[is_dir, writable] = kind | (perm & ~self.umask)
        return modes


class Attrs(NamedTuple):
    """Made afresh for every entry a listing returns (a tuple: cheap to build, nothing to keep)."""

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


def _times(node: Node, mount_time_ns: int) -> tuple[int, int]:
    """(mtime, ctime) in ns: the item record holds them as ints; folders are few, converted here."""
    record = node.record
    if record is not None:
        return record.edited_ns, record.created_ns
    folder = node.folder
    if folder is None:
        return mount_time_ns, mount_time_ns
    return datetime_ns(folder.last_edited_at), datetime_ns(folder.created_at)


def attrs_for(node: Node, size: int, own: Ownership, mount_time_ns: int) -> Attrs:
    """``size`` is the content size for files (the caller resolves unknown sizes)."""
    kind = node.kind
    is_dir = kind.is_dir
    mode = own.modes[is_dir, not (own.read_only or kind.read_only)]
    if is_dir:
        size = BLOCK_SIZE
    if kind is Kind.PENDING:
        mtime = ctime = time.time_ns()
    else:
        mtime, ctime = _times(node, mount_time_ns)
    # nlink 1 for directories: "subdirectory count unknown", so find never prunes by link count.
    # tuple.__new__ directly: a NamedTuple's own __new__ is a Python function (one per entry listed)
    return _new_tuple(Attrs, (node.ino, mode, size, 1, own.uid, own.gid, mtime, ctime if ctime > mtime else mtime, mtime))
