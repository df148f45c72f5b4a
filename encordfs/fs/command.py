"""The ``mount``, ``unmount`` and ``status`` subcommands."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from encordfs.fs.options import OptionError, add_mount_arguments, options_from_args

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    mount = subparsers.add_parser("mount", help="mount Encord storage on a directory")
    add_mount_arguments(mount)
    mount.set_defaults(func=_mount)

    unmount = subparsers.add_parser("unmount", help="unmount (after the uploads in flight finish)")
    unmount.add_argument("mountpoint", type=Path)
    unmount.add_argument("--lazy", "-z", action="store_true", help="detach now even if busy")
    unmount.add_argument("--wait", type=float, default=0.0, metavar="S",
                         help="while busy (uploads in flight, files open), retry for S seconds")
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
    from encordfs.fs.mount import unmount

    return unmount(args.mountpoint.absolute(), lazy=args.lazy, wait=args.wait)


def _status(args: argparse.Namespace) -> int:
    """Each encordfs mount with the uploads pending in its cache dir (and in ``--cache-dir``)."""
    from encordfs.fs.mount_registry import active_mounts

    for entry in active_mounts():
        if entry.cache_dir is None:
            print(f"mounted: {entry.mountpoint} (its cache dir is unknown)")
        else:
            print(f"mounted: {entry.mountpoint} (cache dir {entry.cache_dir})")
            _print_pending(entry.cache_dir)
    if args.cache_dir is not None:
        _print_pending(args.cache_dir.absolute())
    return 0


def _print_pending(cache_dir: Path) -> None:
    """Failed uploads first (with why: they wait for the user), then those still to upload."""
    from encordfs.fs.staging import read_pending

    pending = sorted(read_pending(cache_dir), key=lambda r: r.failure is None)
    failed = sum(1 for r in pending if r.failure)
    print(f"  pending uploads in {cache_dir}: {len(pending)}" + (f", {failed} failed for good" if failed else ""))
    for record in pending:
        if record.failure:
            print(f"    FAILED {record.title} ({record.size} bytes, folder {record.folder_uuid}): {record.failure}")
            continue
        retried = f", {record.attempts} failed attempt(s), last error: {record.last_error}" if record.attempts else ""
        print(f"    {record.title} ({record.size} bytes, folder {record.folder_uuid}){retried}")
