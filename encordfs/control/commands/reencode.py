"""``encordfs reencode VIDEO... [--force-full] [--title T] [--wait]`` and
``encordfs reencode --status ID [--wait] [PATH]``."""

from __future__ import annotations

import argparse
import errno
import sys
from typing import Any

from encordfs.control import client
from encordfs.control.commands.jobs import add_wait, any_mount
from encordfs.control.commands.output import add_json, command, print_json
from encordfs.control.protocol import ControlError
from encordfs.progress import progress_line


def register(subparsers: argparse._SubParsersAction) -> None:
    reencode = subparsers.add_parser(
        "reencode", help="re-encode videos in a mount on Encord, or show a re-encoding's status",
        description="Start Encord's re-encoding of VIDEO files (paths inside one encordfs mount) and print "
        "the process ID; with --wait, wait for it and print each video's result. "
        "--status ID shows a process (ask any mount of yours: PATH, the working directory or the only one).")
    reencode.add_argument("paths", nargs="*", metavar="PATH", help="videos inside an encordfs mount (with --status: which mount to ask)")
    reencode.add_argument("--status", metavar="ID", help="show the re-encoding process ID instead of starting one")
    reencode.add_argument("--force-full", action="store_true", help="re-encode fully even if a compatible version exists")
    reencode.add_argument("--title", default="encordfs reencode", help="the process title Encord shows")
    add_wait(reencode)
    add_json(reencode)
    reencode.set_defaults(func=_reencode)


@command("reencode")
def _reencode(args: argparse.Namespace) -> int:
    with progress_line("re-encoding", unit="video") as line:
        def progress(update: dict[str, Any]) -> None:
            if "status" in update:
                line.note(update["status"])

        if args.status:
            if len(args.paths) > 1:
                raise ControlError("--status takes at most one PATH (the mount to ask)", errno.EINVAL)
            target = any_mount(args.paths[0] if args.paths else None)
            answer = client.call(target.socket, "reencode-status", {"process": args.status, "wait": args.wait}, progress)
        else:
            if not args.paths:
                raise ControlError("name the videos to re-encode (or --status ID)", errno.EINVAL)
            targets = [client.find_mount(p) for p in args.paths]
            if len({t.mountpoint for t in targets}) > 1:
                raise ControlError("the videos must be inside one mount", errno.EXDEV)
            request = {"paths": [t.relative for t in targets], "title": args.title, "force_full": args.force_full,
                       "wait": args.wait}
            answer = client.call(targets[0].socket, "reencode", request, progress)
    return _print(answer, args)


def _print(answer: dict[str, Any], args: argparse.Namespace) -> int:
    if args.json:
        print_json(answer)
    else:
        print(f"process {answer['process']}: {answer['status']}")
        for result in answer["result"] or ():
            error = f" ({result['error']})" if result.get("error") else ""
            print(f"  {result.get('itemUuid')}: {result.get('status')}{error}")
        if answer["status"] == "submitted" and not args.wait:
            print(f"  see: encordfs reencode --status {answer['process']} --wait")
    if answer["status"] == "error":
        failed = [r for r in answer["result"] or () if isinstance(r, dict) and r.get("status") == "error"]
        print(f"encordfs reencode: process {answer['process']} failed for {len(failed)} video(s)", file=sys.stderr)
        return 1
    return 0
