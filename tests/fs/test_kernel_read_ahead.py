"""The kernel's read-ahead for a mount: raised so sequential reads come in 1 MiB requests."""

from __future__ import annotations

import os
import time

import pytest

from encordfs.fs.mount import kernel_read_ahead_file
from encordfs.fs.options import DEFAULT_READ_AHEAD_KB

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root may set a mount's read-ahead")


def _settled(mounted) -> int:
    deadline = time.monotonic() + 10
    while "mounted on" not in mounted.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    return int(kernel_read_ahead_file(mounted.path).read_text())


def test_a_mount_raises_the_kernels_read_ahead(emulator, fs_root, mount_fs) -> None:
    assert _settled(mount_fs(emulator, fs_root.uuid)) == DEFAULT_READ_AHEAD_KB


def test_read_ahead_kb_zero_keeps_the_kernels_default(emulator, fs_root, mount_fs) -> None:
    assert _settled(mount_fs(emulator, fs_root.uuid, "-o", "read_ahead_kb=0")) < DEFAULT_READ_AHEAD_KB  # 128 here
