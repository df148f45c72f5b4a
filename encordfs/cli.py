"""The ``encordfs`` command: ``mount``, ``unmount``, ``status``, the commands that take paths
inside a mount (``info``, ``search``, ``refresh``, ...) and ``emulator ...``.

Each area registers its own subcommands, so this module only wires them together.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from encordfs import __version__
    from encordfs.control.commands import register as register_path_commands
    from encordfs.control.sync_command import register as register_sync
    from encordfs.emulator.command import register as register_emulator
    from encordfs.fs.command import register as register_fs

    parser = argparse.ArgumentParser(prog="encordfs", description="Mount Encord storage as a drive.")
    parser.add_argument("--version", action="version", version=f"encordfs {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_fs(sub)
    register_sync(sub)
    register_path_commands(sub)
    register_emulator(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
