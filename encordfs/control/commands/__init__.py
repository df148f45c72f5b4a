"""The commands that take paths inside a mount; each asks the mount serving the path (``client``)."""

from __future__ import annotations

import argparse

from encordfs.control.commands import access, groups, imports, inspect, reencode, search, warm


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for module in (inspect, search, access, reencode, imports, groups, warm):
        module.register(subparsers)
