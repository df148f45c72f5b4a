"""Crash replay is exact: kill -9 of a mount during and right after a copy, under injected faults
(5xx, 429, answers lost after the server acted), then a remount of the same cache dir: every file
whose close() returned is on the server exactly once, byte for byte; nothing more.

The suite runs a small copy; ``ENCORDFS_CRASH_FILES=300`` runs the figure docs/semantics.md gives.
"""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from tests.fs.conftest import encordfs
from tests.fs.landing import server_tree

pytestmark = pytest.mark.fuse

FILES = int(os.environ.get("ENCORDFS_CRASH_FILES", "40"))
FAULTS = {"error_rate": 0.10, "rate_429": 0.05, "drop_after_rate": 0.03, "retry_after": 0}


def content(i: int) -> bytes:
    return f"file {i} of the copy\n".encode() * (1 + i % 7)


@pytest.mark.parametrize("kill_after", [FILES // 2, FILES], ids=["during", "right-after"])
def test_kill_9_during_a_copy_under_faults_loses_and_duplicates_nothing(emulator_factory, make_sdk_client, mount_fs, kill_after) -> None:
    server = emulator_factory()
    root = make_sdk_client(server).create_storage_folder("copy")
    mounted = mount_fs(server, root.uuid)
    server.set_faults(**FAULTS)
    closed = {}
    for i in range(kill_after):
        (mounted.path / f"f{i:03}.txt").write_bytes(content(i))  # close() returned: promised
        closed[f"f{i:03}.txt"] = content(i)
    mounted.process.send_signal(signal.SIGKILL)
    mounted.process.wait(timeout=10)
    subprocess.run(["fusermount3", "-uz", str(mounted.path)], capture_output=True)

    again = mount_fs(server, root.uuid, cache_dir=mounted.cache_dir)  # replays under the same faults
    synced = encordfs("sync", str(again.path), "--timeout", "240", timeout=300)
    server.clear_faults()
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert server_tree(make_sdk_client(server).get_storage_folder(root.uuid)) == closed
