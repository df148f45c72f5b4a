"""``ping``: which mount answers, and that it does."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from encordfs import __version__
from encordfs.control.protocol import Json
from encordfs.control.registry import Emit, operation
from encordfs.fs.inodes import ROOT_INO

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem


@operation("ping")
async def ping(fs: Filesystem, args: Json, emit: Emit) -> Any:
    """The mount's version, pid and root folder; ``args["path"]`` (if given) must resolve."""
    node = await fs.resolve_path(str(args.get("path", "")))
    root = fs.inodes[ROOT_INO].uuid
    return {"version": __version__, "pid": os.getpid(), "root": None if root is None else str(root), "ino": node.ino}
