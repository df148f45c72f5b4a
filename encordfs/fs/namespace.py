"""Deleting and renaming, for ``core.Filesystem`` (a mixin: the state and helpers live there).

Renames and moves are server-side patches (never copy + delete); nothing is deleted or replaced
that datasets use, unless the mount allows it.
"""

from __future__ import annotations

import errno
import logging
from uuid import UUID

from encordfs.fs.base import FsBase
from encordfs.fs.errors import FsError
from encordfs.fs.inodes import Kind, Node
from encordfs.fs.upload_state import Target
from encordfs.fs.writer import refuse_unstorable_name

log = logging.getLogger(__name__)


class NamespaceOps(FsBase):
    """unlink and rename (and the dataset-link check every delete or replace goes through)."""

    async def _may_drop(self, node: Node, doing: str) -> None:
        """Deleting or replacing an item loses nothing unless datasets use it."""
        if node.kind is Kind.PENDING or self.options.allow_delete_linked:
            return
        await self._loaded(node)
        assert node.item is not None
        links = await self.storage.dataset_link_count(node.item)
        if links:
            log.warning("refusing to %s %r: it is linked to %d dataset(s) (mount with allow_delete_linked to allow)",
                        doing, node.title, links)
            raise FsError(errno.EPERM, f"{node.title!r} is linked to {links} dataset(s)")

    async def _delete_item(self, node: Node) -> None:
        assert node.item is not None
        await self.storage.delete_items(node.item.parent, [node.item.uuid])

    async def unlink(self, parent: int, name: str) -> None:
        node = await self._lookup_node(parent, name)
        if node.kind.is_dir:
            raise FsError(errno.EISDIR)
        self._writable(node)
        await self._delete_file(node)
        self._removed(parent, name, node)

    async def _delete_file(self, node: Node) -> None:
        """Delete what the server has of the file (refused when datasets use it) and what is
        local of it; under the file's lock, so no upload lands in between."""
        file = self._files.get(node.ino)
        if file is None:
            await self._may_drop(node, "delete")
            await self._delete_item(node)
            node.extra["unlinked"] = True  # fds still open read it; fstat says nlink 0
            return
        async with file.lock:
            if node.kind is not Kind.PENDING:  # the server has a version of it: the node's item
                await self._may_drop(node, "delete")
                await self._delete_item(node)
            self._drop_local(file)
        self._settle(file)

    async def rename(self, old_parent: int, old_name: str, new_parent: int, new_name: str, *, noreplace: bool, exchange: bool) -> None:
        if exchange:
            raise FsError(errno.EINVAL, "RENAME_EXCHANGE is not supported")
        node = await self._lookup_node(old_parent, old_name)
        source_dir, target_dir = self._dir(old_parent), self._dir(new_parent)
        self._writable(node)
        self._writable(target_dir)
        self._writable(source_dir)
        title = self._new_title(new_name)
        if not node.kind.is_dir:
            refuse_unstorable_name(new_name)
        target = await self._resolve(target_dir, new_name)
        if target is not None:
            await self._loaded(target)
        if target is node:
            return
        if target is not None:
            if noreplace:
                raise FsError(errno.EEXIST)
            await self._check_replace(node, target)
        later = target is not None and await self._replace_on_landing(node, target)
        await self._move(node, source_dir, target_dir, title)
        if target is not None and not later:
            await self._take_metadata(node, target)
            await self._drop_replaced(new_parent, new_name, target)
        elif target is not None:
            self.notifier.inode_changed(target.ino)
        self._removed(old_parent, old_name, node)
        self.caches.negative.pop((new_parent, new_name), None)
        node.parent = new_parent
        self._added(new_parent, new_name, node)
        self.notifier.inode_changed(node.ino)

    async def _take_metadata(self, node: Node, target: Node) -> None:
        """A saved file renamed onto the old one (GLib's and gio's save: write a temp file, fsync,
        rename) takes the old item's client metadata when it has none of its own: to the user it
        is the same file, edited."""
        if node.kind is not Kind.FILE or target.kind is not Kind.FILE or node.item is None or target.item is None:
            return
        if node.item.metadata or not target.item.metadata:
            return
        node.item = await self.storage.update_item(node.item, client_metadata=target.item.metadata)
        file = self._files.get(node.ino)
        if file is not None:
            file.followed(node.item)

    async def _check_replace(self, node: Node, target: Node) -> None:
        if target.kind.is_dir != node.kind.is_dir:
            raise FsError(errno.EISDIR if target.kind.is_dir else errno.ENOTDIR)
        if target.kind.is_dir:
            if await self._has_children(target):
                raise FsError(errno.ENOTEMPTY)
        elif target.kind is not Kind.PENDING:
            await self._may_drop(target, "replace")

    async def _drop_replaced(self, parent: int, name: str, target: Node) -> None:
        if target.kind.is_dir:
            await self.storage.delete_folder(target.folder.uuid)  # type: ignore[union-attr]
        else:
            await self._delete_file(target)
        self.caches.note_removed(parent, name)
        self.notifier.inode_changed(target.ino)

    async def _move(self, node: Node, source_dir: Node, target_dir: Node, title: str) -> None:
        """Server-side rename and/or move (never copy + delete). A file whose newest version is
        local follows in the journal, or (upload in flight) when its upload lands."""
        target_folder = self._folder_uuid(target_dir)
        file = self._files.get(node.ino)
        if node.folder is not None:
            if source_dir.ino != target_dir.ino:
                await self.storage.move_folders([node.folder.uuid], target_folder)
            if title != node.folder.name:
                await self.storage.update_folder(node.folder.uuid, name=title)
            node.folder = await self.storage.get_folder(node.folder.uuid)
            return
        if target_folder is None:
            raise FsError(errno.EPERM, "files must live in a folder")
        if file is None:
            await self._move_item(node, source_dir, target_dir, target_folder, title)
            return
        async with file.lock:  # decided under the lock: an upload may land while we wait for it
            if file.listed:
                await self._rename_local(file, Target(target_folder, title))
            else:  # the server has its newest version; a later commit goes to the new place
                await self._move_item(node, source_dir, target_dir, target_folder, title)
                file.renamed(Target(target_folder, title))
        await self._after_rename(file)

    async def _move_item(self, node: Node, source_dir: Node, target_dir: Node, target_folder: UUID, title: str) -> None:
        assert node.item is not None
        item = node.item
        if item.client_metadata and item.client_metadata != "{}":  # a new file of the old name may take it over
            self._renamed_away[(item.parent, item.name)] = item.client_metadata
        if source_dir.ino != target_dir.ino:
            await self.storage.move_items(item.parent, [item.uuid], target_folder)
            item = await self.storage.get_item(item.uuid)
        if title != item.name:
            item = await self.storage.update_item(item, name=title)
        node.item = item
