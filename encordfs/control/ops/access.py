"""``access``: the user groups a folder is shared with, and adding or removing them."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING
from uuid import UUID

from encordfs.control.ops.common import folder_at, folder_uuid, storage_of
from encordfs.control.protocol import ControlError, Json
from encordfs.control.registry import Emit, operation
from encordfs.storage.models import OrgGroup
from encordfs.wire.enums import StorageUserRole

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem


def _pick(groups: list[OrgGroup], wanted: str) -> OrgGroup:
    """The group named ``wanted`` (or with that hash); ControlError when none or several are."""
    try:
        by_hash = [g for g in groups if g.group_hash == UUID(wanted)]
    except ValueError:
        by_hash = []
    matches = by_hash or [g for g in groups if g.name == wanted]
    if not matches:
        raise ControlError(f"no group {wanted!r} in your organisation", errno.ENOENT)
    if len(matches) > 1:
        hashes = ", ".join(str(g.group_hash) for g in matches)
        raise ControlError(f"{len(matches)} groups are named {wanted!r}: give one of their hashes ({hashes})", errno.EINVAL)
    return matches[0]


@operation("access")
async def access(fs: Filesystem, args: Json, emit: Emit) -> Json:
    """``args``: ``add`` and ``remove`` (group names or hashes), ``role`` (user|admin) for
    ``add``. The result: the folder's groups after the change."""
    path = str(args.get("path", ""))
    folder = folder_uuid(await folder_at(fs, path), path)
    storage = storage_of(fs)
    add, remove = list(args.get("add") or ()), list(args.get("remove") or ())
    if add or remove:
        org = await storage.list_org_groups()
        try:
            role = StorageUserRole(args.get("role") or "user")
        except ValueError as exc:
            raise ControlError(f"unknown role {args.get('role')!r} (user or admin)", errno.EINVAL) from exc
        to_add = [_pick(org, g).group_hash for g in add]
        to_remove = [_pick(org, g).group_hash for g in remove]
        if to_add:
            await storage.add_groups(folder, to_add, role)
        if to_remove:
            await storage.remove_groups(folder, to_remove)
    groups = await storage.list_groups(folder)
    return {
        "path": path,
        "groups": [{"hash": str(g.group_hash), "name": g.name, "role": g.user_role.value} for g in groups],
    }
