"""Shared by the commands that start server-side jobs: ``--wait``/``--no-wait`` and finding a mount
for a job given by ID only."""

from __future__ import annotations

import argparse
import errno
import os
from pathlib import Path

from encordfs.control import client
from encordfs.control.protocol import ControlError
from encordfs.fs.mount_registry import active_mounts


def add_wait(parser: argparse.ArgumentParser) -> None:
    wait = parser.add_mutually_exclusive_group()
    wait.add_argument("--wait", dest="wait", action="store_true", default=False,
                      help="wait until the job ends (progress on a terminal), then print its result")
    wait.add_argument("--no-wait", dest="wait", action="store_false", help="print the job's ID and return (the default)")


def any_mount(path: str | None) -> client.MountTarget:
    """The mount serving ``path``; without one, the mount serving the working directory, else
    your only encordfs mount (a job ID alone names no mount)."""
    if path is not None:
        return client.find_mount(path)
    try:
        return client.find_mount(os.getcwd())
    except ControlError:
        pass
    mounts = [m for m in active_mounts() if m.control_socket is not None]
    if len(mounts) != 1:
        why = "no encordfs mount is running" if not mounts else f"{len(mounts)} encordfs mounts are running"
        raise ControlError(f"{why}: name a path inside the mount to ask", errno.EINVAL)
    return client.find_mount(Path(mounts[0].mountpoint))
