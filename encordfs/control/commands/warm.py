"""``encordfs warm PATH [--recursive]``: fetch files into the mount's content cache ahead of use."""

from __future__ import annotations

import argparse
from typing import Any

from encordfs.control import client
from encordfs.control.commands.output import add_json, command, print_json
from encordfs.progress import progress_line


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    warm = subparsers.add_parser(
        "warm",
        help="fetch a folder's files into the mount's content cache",
        description="Fetch the files of PATH (a folder, or a file) inside an encordfs mount into its content "
        "cache with many parallel downloads, so later reads need no network (a training job's dataset). "
        "Stops at the cache's bound (--cache-size of the mount): the files beyond it are counted as skipped.",
    )
    warm.add_argument("path", help="a folder or file inside an encordfs mount")
    warm.add_argument("--recursive", "-r", action="store_true", help="the files of its subfolders too")
    add_json(warm)
    warm.set_defaults(func=_warm)


@command("warm")
def _warm(args: argparse.Namespace) -> int:
    with progress_line("warming") as line:

        def progress(update: dict[str, Any]) -> None:
            line.update(update["done_files"], update["total_files"], update["done_bytes"], update["total_bytes"])

        target, answer = client.call_at(args.path, "warm", {"recursive": args.recursive}, progress)
    answer["path"] = str(target.mount_path(answer["path"]))
    if args.json:
        print_json(answer)
        return 0
    print(
        f"warmed {answer['files']} files ({answer['bytes']} bytes, {answer['fetched_bytes']} fetched now) under {answer['path']}; "
        f"cache holds {answer['cache_bytes']} of {answer['cache_limit']} bytes"
    )
    if answer["skipped_files"]:
        print(f"skipped {answer['skipped_files']} files ({answer['skipped_bytes']} bytes): beyond the cache's bound")
    return 0
