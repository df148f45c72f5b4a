"""``encordfs group create DEST --image-group|--image-sequence|--dicom-series FILE...``."""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import tempfile
from pathlib import Path

from encordfs.control import client
from encordfs.control.commands.output import add_json, command, print_json
from encordfs.control.protocol import ControlError
from encordfs.fs.mount_registry import active_mounts
from encordfs.progress import progress_line

KINDS = {"image-group": "an image group", "image-sequence": "an image sequence (frames of one size)",
         "dicom-series": "a DICOM series (the .dcm files of one series)"}


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("group", help="multi-file items: image groups, image sequences, DICOM series")
    actions = group.add_subparsers(dest="group_command", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", help="create one multi-file item from files",
        description="Upload FILEs (local, or already in a mount) as one image group, image sequence or DICOM "
        "series at DEST, which then shows as a read-only directory of its frames. A DICOM series is "
        "uploaded this way: encordfs group create DEST --dicom-series DIR/*.dcm")
    create.add_argument("dest", metavar="DEST", help="the new item's path inside a folder of an encordfs mount")
    kind = create.add_mutually_exclusive_group(required=True)
    for flag, what in KINDS.items():
        kind.add_argument(f"--{flag}", dest="kind", action="store_const", const=flag, help=f"create {what}")
    create.add_argument("files", nargs="+", metavar="FILE", help="the frames, in order")
    add_json(create)
    create.set_defaults(func=_create)


def _in_a_mount(path: Path) -> bool:
    return any(path == m.mountpoint or path.is_relative_to(m.mountpoint) for m in active_mounts())


def _local_copies(files: list[str], scratch: Path) -> list[str]:
    """Absolute paths the mount process can read: files inside a mount are copied to ``scratch``
    first (the mount must never read through a mount itself), keeping their names."""
    paths = []
    for index, name in enumerate(files):
        path = Path(os.path.realpath(name))
        if not path.is_file():
            raise ControlError(f"{name}: {'not a regular file' if path.exists() else 'no such file'}", errno.ENOENT)
        if _in_a_mount(path):
            copy = scratch / str(index) / path.name
            copy.parent.mkdir()
            shutil.copyfile(path, copy)
            path = copy
        paths.append(str(path))
    return paths


@command("group create")
def _create(args: argparse.Namespace) -> int:
    target = client.find_mount(args.dest)
    with tempfile.TemporaryDirectory(prefix="encordfs-group-") as scratch:
        files = _local_copies(args.files, Path(scratch))
        with progress_line("uploading") as line:
            request = {"path": target.relative, "kind": args.kind, "files": files}
            answer = client.call(target.socket, "group-create", request, lambda p: line.note(f"{p['uploading']} files"))
    answer["path"] = str(target.mount_path(answer["path"]))
    if args.json:
        print_json(answer)
    else:
        print(f"created {answer['type']} {answer['path']} ({answer['frames']} files, uuid {answer['uuid']})")
    return 0
