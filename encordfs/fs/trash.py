"""Desktop trash folders are refused, so file managers fall back to a real delete.

GIO (nautilus, pcmanfm, ``gio trash``) trashes a file of a mounted filesystem by creating
``.Trash-<uid>/files`` and ``.Trash-<uid>/info`` at the mount's top and moving the file there. On
encordfs that would be a new top-level folder every member of the Encord organisation sees, the
item's dataset links would stay, and emptying the trash would leave folders behind. When the
trash folder cannot be made, GIO reports "trash not supported" and the file managers offer a
permanent delete with their usual confirmation, which is what deleting on a shared store is.
"""

from __future__ import annotations

import re

from encordfs.fs.inodes import ROOT_INO, InodeTable

_TRASH_NAME = re.compile(r"\.Trash(-\d+)?")


def is_trash_name(name: str) -> bool:
    """``.Trash`` (the shared trash) or ``.Trash-<uid>`` (a user's own)."""
    return _TRASH_NAME.fullmatch(name) is not None


def in_trash(inodes: InodeTable, ino: int) -> bool:
    """Whether the directory ``ino`` is a trash folder or inside one (one made before encordfs
    refused them, or by another client): nothing may be created there either."""
    seen = set()
    node = inodes.get(ino)
    while node is not None and node.ino != ROOT_INO and node.ino not in seen:
        if is_trash_name(node.title):
            return True
        seen.add(node.ino)
        node = inodes.get(node.parent)
    return False
