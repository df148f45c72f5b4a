"""``group-create``: one multi-file item (image group, image sequence, DICOM series) from local
files, which the mount then shows as a read-only directory.

The files are read by the mount process, so the command passes absolute paths outside any mount
(it copies files that are inside a mount to a temporary directory first: the mount process must
never read through its own mount)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING

from encordfs.control.ops.common import folder_at, folder_uuid, shown, storage_of
from encordfs.control.protocol import ControlError, Json
from encordfs.control.registry import Emit, operation
from encordfs.fs import names
from encordfs.fs.errors import FsError
from encordfs.fs.refresh import refresh

if TYPE_CHECKING:
    from encordfs.fs.core import Filesystem

KINDS = ("image-group", "image-sequence", "dicom-series")


def _files(args: Json, mountpoint: Path) -> list[Path]:
    files = [Path(str(f)) for f in args.get("files") or ()]
    if not files:
        raise ControlError("name the files of the group", errno.EINVAL)
    for file in files:
        if not file.is_absolute():
            raise ControlError(f"{file}: the mount needs absolute paths", errno.EINVAL)
        if file.is_relative_to(mountpoint):  # reading it here would wait on ourselves
            raise ControlError(f"{file}: inside this mount (copy it out first, as encordfs group create does)", errno.EINVAL)
        if not file.is_file():
            raise ControlError(f"{file}: not a regular file", errno.ENOENT if not file.exists() else errno.EINVAL)
        if not os.access(file, os.R_OK):
            raise ControlError(f"{file}: not readable", errno.EACCES)
    return files


@operation("group-create")
async def group_create(fs: Filesystem, args: Json, emit: Emit) -> Json:
    """``args``: ``path`` (the new directory, mount-relative), ``kind`` (one of ``KINDS``),
    ``files`` (absolute local paths, in frame order)."""
    path = str(args.get("path", "")).strip("/")
    kind = args.get("kind")
    if kind not in KINDS:
        raise ControlError(f"unknown kind {kind!r} ({', '.join(KINDS)})", errno.EINVAL)
    parent_path, _, name = path.rpartition("/")
    if not name:
        raise ControlError("name the new item (a path inside a folder of the mount)", errno.EINVAL)
    if fs.options.read_only:
        raise ControlError("the mount is read-only", errno.EROFS)
    parent = await folder_at(fs, parent_path)
    folder = folder_uuid(parent, parent_path)
    try:
        title = names.title_for_new_name(name)
    except names.InvalidName as exc:
        raise ControlError(f"{name!r} cannot be an Encord title here", errno.EINVAL) from exc
    try:
        await fs.resolve_path(path)
    except FsError as exc:
        if exc.errno != errno.ENOENT:
            raise
    else:
        raise ControlError(f"{shown(path)}: already exists", errno.EEXIST)
    files = _files(args, fs.options.mountpoint)
    await emit({"uploading": len(files)})
    storage = storage_of(fs)
    if kind == "dicom-series":
        item = await storage.upload_dicom_series(folder, files, title)
    else:
        item = await storage.upload_image_group(folder, files, title, sequence=kind == "image-sequence")
    refresh(fs, parent, parent_path.rpartition("/")[2] or None, recursive=False)  # ls shows it at once
    return {"path": path, "uuid": str(item.uuid), "type": item.item_type.value, "frames": len(files)}
