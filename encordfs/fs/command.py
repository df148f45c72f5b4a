"""The ``mount``, ``unmount`` and ``status`` subcommands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from encordfs.fs.options import OptionError, add_mount_arguments, options_from_args

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mount = subparsers.add_parser("mount", help="mount Encord storage on a directory")
    add_mount_arguments(mount)
    mount.set_defaults(func=_mount)

    unmount = subparsers.add_parser("unmount", help="unmount (after the uploads in flight finish)")
    unmount.add_argument("mountpoint", type=Path)
    unmount.add_argument("--lazy", "-z", action="store_true", help="detach now even if busy")
    unmount.add_argument(
        "--wait", type=float, default=0.0, metavar="S", help="while busy (uploads in flight, files open), retry for S seconds"
    )
    unmount.set_defaults(func=_unmount)

    status = subparsers.add_parser("status", help="list encordfs mounts and pending uploads")
    status.add_argument("--cache-dir", type=Path, help="also count the uploads pending in this cache dir")
    status.set_defaults(func=_status)


def _mount(args: argparse.Namespace) -> int:
    from encordfs.fs.mount import run_background, run_foreground

    try:
        options = options_from_args(args)
    except OptionError as exc:
        log.error("%s", exc)
        return 2
    if options.debug:
        logging.getLogger().setLevel(logging.DEBUG)
    return run_foreground(options) if options.foreground else run_background(options)


def _unmount(args: argparse.Namespace) -> int:
    """On a terminal, follow the uploads the filesystem finishes after the unmount."""
    from encordfs.control.drain_progress import drain_target, follow_drain
    from encordfs.fs.mount import unmount

    target = drain_target(args.mountpoint)
    code = unmount(args.mountpoint.absolute(), lazy=args.lazy, wait=args.wait)
    if code == 0 and target is not None:
        follow_drain(target)
    return code


MAX_PENDING_SHOWN = 10  # pending files listed per cache dir; the rest is "... and N more"
MAX_REFUSALS_SHOWN = 5


def _status(args: argparse.Namespace) -> int:
    """Each encordfs mount with the uploads pending in its cache dir (and in ``--cache-dir``) and
    its last refusals. A reader that stops reading (``status | head``) ends it quietly."""
    try:
        _print_status(args.cache_dir.absolute() if args.cache_dir is not None else None)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
    return 0


def _print_status(extra_cache_dir: Path | None) -> None:
    from encordfs.fs.mount_registry import active_mounts

    shown: set[Path] = set()
    for entry in active_mounts():
        if entry.cache_dir is None:
            print(f"mounted: {entry.mountpoint} (its cache dir is unknown)")
            continue
        print(f"mounted: {entry.mountpoint} (cache dir {entry.cache_dir})")
        _print_content_cache(entry.control_socket)
        if entry.cache_dir not in shown:
            shown.add(entry.cache_dir)
            _print_cache_dir(entry.cache_dir)
    if extra_cache_dir is not None and extra_cache_dir not in shown:
        _print_cache_dir(extra_cache_dir)


def _print_content_cache(socket: Path | None) -> None:
    """The content cache's size, bound and hit rate, asked of the mount (nothing if it cannot answer)."""
    from encordfs.control.client import call
    from encordfs.control.protocol import ControlError

    if socket is None:
        return
    try:
        cache = call(socket, "content-cache", {})
    except (ControlError, OSError) as exc:
        print(f"  content cache: unknown ({exc})")
        return
    if cache is None:
        print("  content cache: off")
        return
    lookups = cache["hits"] + cache["misses"]
    rate = f"{100 * cache['hits'] / lookups:.0f}% of {lookups} reads" if lookups else "no reads yet"
    print(
        f"  content cache: {_mib(cache['bytes'])} of {_mib(cache['limit'])} ({cache['entries']} entries), "
        f"hits {cache['hits']}, misses {cache['misses']} ({rate})"
    )


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def _print_cache_dir(cache_dir: Path) -> None:
    from encordfs.fs.refusals import read_refusals
    from encordfs.fs.staging import read_pending

    pending = sorted(read_pending(cache_dir), key=lambda r: r.failure is None)  # failed first: they wait for the user
    failed = sum(1 for r in pending if r.failure)
    print(f"  pending uploads in {cache_dir}: {len(pending)}" + (f", {failed} failed for good" if failed else ""))
    for record in pending[:MAX_PENDING_SHOWN]:
        if record.failure:
            print(f"    FAILED {record.title} ({record.size} bytes, folder {record.folder_uuid}): {record.failure}")
            continue
        retried = f", {record.attempts} failed attempt(s), last error: {record.last_error}" if record.attempts else ""
        print(f"    {record.title} ({record.size} bytes, folder {record.folder_uuid}){retried}")
    if len(pending) > MAX_PENDING_SHOWN:
        print(f"    ... and {len(pending) - MAX_PENDING_SHOWN} more")
    refusals = read_refusals(cache_dir)
    if refusals:
        print(f"  last refusals ({len(refusals)}, newest last):")
        for refusal in refusals[-MAX_REFUSALS_SHOWN:]:
            print(f"    {refusal.line()}")
