"""``encordfs sync [PATH] [--timeout S] [--retry]``: wait until what was written is on Encord.

Background-mode writes return at close() once journaled; this is how a script learns that they
reached the server. Exit status: 0 when every upload pending under PATH (each mount without PATH)
landed, 1 when one failed for good (each is named with its reason) or a mount cannot be asked,
2 when the timeout ran out first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from encordfs.control.client import MountTarget, call, find_mount
from encordfs.control.protocol import ControlError
from encordfs.progress import progress_line


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sync = subparsers.add_parser("sync", help="wait until the uploads pending under PATH are on Encord")
    sync.add_argument("path", nargs="?", type=Path, help="a mount or a directory or file inside one (default: every mount)")
    sync.add_argument("--timeout", type=float, metavar="S", help="give up after S seconds (exit 2)")
    sync.add_argument("--retry", action="store_true", help="first send failed uploads back to be tried again")
    sync.add_argument("--json", action="store_true", help="print the result as JSON")
    sync.set_defaults(func=_sync)


def _targets(path: Path | None) -> list[MountTarget]:
    if path is not None:
        return [find_mount(path)]
    from encordfs.fs.mount_registry import active_mounts

    return [MountTarget(m.mountpoint, m.control_socket, "") for m in active_mounts() if m.control_socket is not None]


def _sync_one(target: MountTarget, deadline: float | None, retry: bool) -> dict[str, Any]:
    timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
    where = target.mount_path(target.relative)
    with progress_line(f"sync {where}") as line:
        def show(progress: dict[str, Any]) -> None:
            line.update(progress["done_files"], progress["total_files"], progress["done_bytes"], progress["total_bytes"])

        result = call(target.socket, "sync", {"path": target.relative, "timeout": timeout, "retry": retry}, show)
    for key in ("failed", "waiting"):
        for entry in result[key]:
            entry["path"] = str(target.mount_path(entry["path"]))
    return {"path": str(where), **result}


def _sync(args: argparse.Namespace) -> int:
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    results = []
    try:
        for target in _targets(args.path):
            results.append(_sync_one(target, deadline, args.retry))
    except ControlError as exc:
        print(f"encordfs sync: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print(results)
    if any(r["failed"] for r in results):
        return 1
    return 2 if any(r["timed_out"] for r in results) else 0


def _print(results: list[dict[str, Any]]) -> None:
    for result in results:
        print(f"{result['path']}: {result['landed']} landed, {len(result['failed'])} failed, {len(result['waiting'])} still pending")
        for failed in result["failed"]:
            print(f"  failed: {failed['path']}: {failed['reason']}")
        for waiting in result["waiting"]:
            error = f" (last error: {waiting['error']})" if waiting["error"] else ""
            print(f"  pending: {waiting['path']}: {waiting['state']}{error}")
