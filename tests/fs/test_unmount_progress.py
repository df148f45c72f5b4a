"""`encordfs unmount` on a terminal shows the uploads the filesystem finishes after the unmount,
and returns once they are on the server; off a terminal it prints nothing and returns at once."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time

import pytest

from .conftest import _env, encordfs

pytestmark = pytest.mark.fuse


def on_a_terminal(*args: str) -> tuple[int, str]:
    """Run encordfs on a pseudo-terminal of 100 columns (of width 0, tqdm draws nothing)."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "encordfs.cli", *args], stdin=child, stdout=child, stderr=child, env=_env())
    os.close(child)
    output = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    return process.wait(timeout=60), output.decode(errors="replace")


def test_unmount_follows_the_drain_with_a_progress_line(emulator, fs_root, mount_fs, tmp_path) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    with emulator.faults(latency_ms=700):  # the upload takes a few seconds after the unmount
        (mounted.path / "a.txt").write_text("a")
        (mounted.path / "b.txt").write_text("b")
        code, output = on_a_terminal("unmount", str(mounted.path))
        names = sorted(i.name for i in fs_root.list_items())
    assert code == 0, output
    assert f"unmount {mounted.path}: uploading" in output, output
    assert re.search(r"0/([12])\b", output) and re.search(r"100%.*\b([12])/\1\b", output), output  # from none to all
    assert names == ["a.txt", "b.txt"], "it returned once the uploads were on the server"


def test_unmount_off_a_terminal_prints_nothing(emulator, fs_root, mount_fs) -> None:
    mounted = mount_fs(emulator, fs_root.uuid)
    (mounted.path / "a.txt").write_text("a")
    result = encordfs("unmount", str(mounted.path))
    assert result.returncode == 0 and result.stdout == result.stderr == ""
    deadline = time.monotonic() + 15
    while [i.name for i in fs_root.list_items()] != ["a.txt"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [i.name for i in fs_root.list_items()] == ["a.txt"]
