"""``encordfs refresh``: forget what the mount (and the kernel) cached under a path, now.

For someone who changed a folder elsewhere and does not want to wait for the TTLs: the path and
its entries (with ``recursive``, everything below it) lose their fresh attributes and HEAD sizes,
the path's directory listing and known-missing names go (with ``recursive``, those of every
directory below too), and the kernel is told to drop its attributes, page cache and directory
entries for them. Nothing is fetched here; the next ``ls`` or ``stat`` asks the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from encordfs.fs.inodes import ROOT_INO, Node

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem


def _under(fs: Filesystem, top: Node, recursive: bool) -> list[Node]:
    """``top``, its entries, and (``recursive``) everything below them the mount knows of."""
    children: dict[int, list[Node]] = {}
    for node in fs.inodes.nodes():
        if node.ino != ROOT_INO:
            children.setdefault(node.parent, []).append(node)
    found, frontier = [top], [top]
    while frontier:
        level = [child for node in frontier for child in children.get(node.ino, ())]
        found.extend(level)
        frontier = level if recursive else []
    return found


def refresh(fs: Filesystem, top: Node, name_in_parent: str | None, *, recursive: bool) -> int:
    """Forget the cached state of ``top`` (named ``name_in_parent`` in its parent; None for the
    root) and of what is under it; how many nodes were refreshed."""
    nodes = _under(fs, top, recursive)
    for node in nodes:
        fs.caches.stale(node.ino)
        if node._extra is not None:
            node._extra.pop("size", None)
        if node.kind.is_dir and (recursive or node is top):  # a subfolder's own listing only with recursive
            for name in fs.caches.forget_dir(node.ino):
                fs.notifier.entry_changed(node.ino, name)
        fs.notifier.inode_changed(node.ino)
    if name_in_parent is not None:
        fs.notifier.entry_changed(top.parent, name_in_parent)
    if top.ino == ROOT_INO:
        fs.forget_usage()
    return len(nodes)
