"""``encordfs import FOLDER --integration NAME_OR_UUID --manifest FILE.json [--wait]`` and
``encordfs import FOLDER --status JOB [--wait]``."""

from __future__ import annotations

import argparse
import errno
import json
import sys
from pathlib import Path
from typing import Any

from encordfs.control import client
from encordfs.control.commands.jobs import add_wait
from encordfs.control.commands.output import add_json, command, print_json
from encordfs.control.protocol import ControlError
from encordfs.progress import progress_line


def register(subparsers: argparse._SubParsersAction) -> None:
    importing = subparsers.add_parser(
        "import", help="import private (cloud) data into a folder of a mount",
        description="Register the objects a manifest lists (Encord's JSON import format: videos, images, "
        "image_groups, dicom_series, audio, text, pdf, nifti...) from a cloud integration as items of FOLDER. "
        "Objects that fail are reported and the others kept, unless --all-or-nothing.")
    importing.add_argument("path", metavar="FOLDER", help="a folder inside an encordfs mount")
    importing.add_argument("--integration", metavar="NAME_OR_UUID", help="the cloud integration the objects are in")
    importing.add_argument("--manifest", type=Path, metavar="FILE.json", help="the objects to import (Encord's JSON format)")
    importing.add_argument("--all-or-nothing", action="store_true", help="import nothing if any object fails")
    importing.add_argument("--status", metavar="JOB", help="show the import job JOB (started into FOLDER) instead")
    add_wait(importing)
    add_json(importing)
    importing.set_defaults(func=_import)


def _manifest(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ControlError(f"cannot read the manifest {path}: {exc.strerror or exc}", exc.errno or errno.EIO) from exc
    except ValueError as exc:
        raise ControlError(f"the manifest {path} is not JSON: {exc}", errno.EINVAL) from exc


@command("import")
def _import(args: argparse.Namespace) -> int:
    target = client.find_mount(args.path)
    with progress_line("importing") as line:
        def progress(update: dict[str, Any]) -> None:
            if "pending" in update:
                done = update["done"] + update["failed"]
                line.update(done, done + update["pending"])

        if args.status:
            request = {"path": target.relative, "job": args.status, "wait": args.wait}
            answer = client.call(target.socket, "import-status", request, progress)
        else:
            if args.integration is None or args.manifest is None:
                raise ControlError("--integration and --manifest are required (or --status JOB)", errno.EINVAL)
            request = {"path": target.relative, "integration": args.integration, "manifest": _manifest(args.manifest),
                       "file_name": args.manifest.name, "ignore_errors": not args.all_or_nothing, "wait": args.wait}
            answer = client.call(target.socket, "import", request, progress)
    for added in answer["added"]:
        added["path"] = None if added["path"] is None else str(target.mount_path(added["path"]))
    return _print(answer, args)


def _print(answer: dict[str, Any], args: argparse.Namespace) -> int:
    failed = answer["status"] in ("ERROR", "CANCELLED") or answer["failures"]
    if args.json:
        print_json(answer)
    else:
        print(f"import job {answer['job']}: {answer['status']}")
        if answer["status"] == "PENDING":
            print(f"  {answer['done']} done, {answer['failed']} failed, {answer['pending']} pending; see: "
                  f"encordfs import {args.path} --status {answer['job']} --wait")
            return 0
        print(f"added {len(answer['added'])}:")
        for added in answer["added"]:
            print(f"  {added['path'] or added['name']}")
        print(f"failed {len(answer['failures'])}:")
        for failure in answer["failures"]:
            print(f"  {', '.join(failure['objects'])}: {failure['error']}")
    if failed:
        print(f"encordfs import: {len(answer['failures'])} object(s) failed to import"
              + (f" and the job ended {answer['status']}" if answer["status"] != "DONE" else ""), file=sys.stderr)
        return 1
    return 0
