"""``refresh``: forget the cached listings, attributes and page cache under a path (the kernel's too)."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from encordfs.control.protocol import Json
from encordfs.control.registry import Emit, operation
from encordfs.fs.errors import FsError
from encordfs.fs.refresh import refresh as forget_under

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem


@operation("refresh")
async def refresh(fs: Filesystem, args: Json, emit: Emit) -> Json:
    """An entry made elsewhere may be cached as missing: then its parent is refreshed first."""
    path = str(args.get("path", "")).strip("/")
    parent, _, name = path.rpartition("/")
    count = 0
    try:
        node = await fs.resolve_path(path)
    except FsError as exc:
        if exc.errno != errno.ENOENT or not path:
            raise
        parent_node = await fs.resolve_path(parent)
        count = forget_under(fs, parent_node, parent.rpartition("/")[2] if parent else None, recursive=False)
        node = await fs.resolve_path(path)
    count += forget_under(fs, node, name or None, recursive=bool(args.get("recursive")))
    return {"path": path, "refreshed": count}
